package registrar

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runway-ci/runway/internal/platform"
)

// Bounds a task's resources are checked against.
const (
	BoundCeiling = "ceiling"
	BoundQuota   = "quota"
)

// Excess is one resource amount of a task above a domain's bound.
type Excess struct {
	// Field is "requests.cpu", "limits.memory", ...
	Field string `json:"field"`
	// Amount is the task's amount, Max the bound's.
	Amount string `json:"amount"`
	Max    string `json:"max"`
	// Bound is BoundCeiling or BoundQuota; Key is the ceiling's or the
	// quota's key ("cpu", "requests.cpu").
	Bound string `json:"bound"`
	Key   string `json:"key"`
}

// Exceeds lists the amounts in requests and limits above dom's
// ceilings (which bound both) and above its namespace quota (which one task
// alone must fit: "requests.cpu" and "cpu" bound requests, "limits.cpu"
// limits), sorted by field. Amounts or bounds that do not parse are left to
// the validation of the spec and the platform config.
func Exceeds(d *platform.Domain, requests, limits map[string]string) []Excess {
	var out []Excess
	check := func(section string, amounts map[string]string) {
		for name, a := range amounts {
			q, err := resource.ParseQuantity(a)
			if err != nil {
				continue
			}
			over := func(bound, key, max string) {
				m, err := resource.ParseQuantity(max)
				if err == nil && q.Cmp(m) > 0 {
					out = append(out, Excess{Field: section + "." + name, Amount: q.String(), Max: m.String(), Bound: bound, Key: key})
				}
			}
			if c, ok := d.Ceilings[name]; ok {
				over(BoundCeiling, name, c)
			}
			keys := []string{section + "." + name}
			if section == "requests" {
				keys = append(keys, name)
			}
			for _, k := range keys {
				if m, ok := d.Quota[k]; ok {
					over(BoundQuota, k, m)
				}
			}
		}
	}
	check("requests", requests)
	check("limits", limits)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Field != out[j].Field {
			return out[i].Field < out[j].Field
		}
		return out[i].Bound+out[i].Key < out[j].Bound+out[j].Key
	})
	return out
}

// Resource is the resource an Excess is about ("cpu").
func (e Excess) Resource() string {
	_, name, _ := strings.Cut(e.Field, ".")
	return name
}
