package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/runway-ci/runway/executor"
)

// Label and annotation keys runway puts on the Jobs (and their pods) it
// creates. Every value is a valid label value; the annotations keep the
// full values when a label had to be shortened.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedByValue = "runway"
	LabelProject   = "runway.dev/project"
	LabelDomain    = "runway.dev/domain"
	LabelKind      = "runway.dev/kind"
	LabelEntity    = "runway.dev/entity"
	LabelVersion   = "runway.dev/version"
	LabelExecution = "runway.dev/execution"
	LabelNode      = "runway.dev/node"
	LabelAttempt   = "runway.dev/attempt"

	// AnnotationSpec holds the exec-task spec (JSON) on the pod template;
	// a downward API volume turns it into the file exec-task reads.
	AnnotationSpec = "runway.dev/spec"
	// AnnotationTask names the task entity in full (project/name@version).
	AnnotationTask = "runway.dev/task"
)

// maxJobName keeps a Job name usable as the value of the job-name label
// the Job controller puts on its pods (63) with room to spare.
const maxJobName = 52

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// JobName is the deterministic name of the Job that runs one attempt:
// "<execution>-<node>-<attempt>". A restarted runway computes the same
// name, so creating it again fails with AlreadyExists and the runner
// adopts the running Job. Long or unusual node IDs are shortened and
// suffixed with a hash of the full ID, so two nodes never share a name.
func JobName(executionID, nodeID string, attempt int) string {
	node := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(nodeID), "-"), "-")
	tail := "-" + strconv.Itoa(attempt)
	room := maxJobName - len(executionID) - 1 - len(tail)
	if node != nodeID || len(node) > room {
		sum := sha256.Sum256([]byte(nodeID))
		h := hex.EncodeToString(sum[:])[:8]
		if keep := room - len(h) - 1; len(node) > keep {
			node = strings.TrimRight(node[:max(keep, 0)], "-")
		}
		if node == "" {
			node = h
		} else {
			node += "-" + h
		}
	}
	return executionID + "-" + node + tail
}

// NamespaceFor expands a namespace template: "{project}" and "{domain}"
// are replaced. The result must be a DNS-1123 label.
func NamespaceFor(template, project, domain string) (string, error) {
	ns := strings.NewReplacer("{project}", project, "{domain}", domain).Replace(template)
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", fmt.Errorf("namespace %q from template %q: %s", ns, template, strings.Join(errs, "; "))
	}
	return ns, nil
}

// labelValue returns v when it is a valid label value, else a shortened
// form ending in a hash of v.
func labelValue(v string) string {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	h := hex.EncodeToString(sum[:])[:10]
	clean := strings.Trim(regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(v, "-"), "-._")
	if len(clean) > 63-len(h)-1 {
		clean = strings.TrimRight(clean[:63-len(h)-1], "-._")
	}
	if clean == "" {
		return h
	}
	return clean + "-" + h
}

// attemptLabels are the labels of an attempt's Job and pod.
func attemptLabels(a executor.Attempt) map[string]string {
	return map[string]string{
		LabelManagedBy: ManagedByValue,
		LabelProject:   labelValue(a.Project),
		LabelDomain:    labelValue(a.Domain),
		LabelKind:      "task",
		LabelEntity:    labelValue(a.TaskRef.Name),
		LabelVersion:   labelValue(a.TaskRef.Version),
		LabelExecution: labelValue(a.ExecutionID),
		LabelNode:      labelValue(a.NodeID),
		LabelAttempt:   strconv.Itoa(a.Number),
	}
}
