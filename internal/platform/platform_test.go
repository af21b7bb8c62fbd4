package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	c := Default()
	if got := strings.Join(c.DomainNames(), ","); got != "development,staging,production" {
		t.Errorf("domains = %s", got)
	}
	if c.Executor.Kind != "local" || c.Bundle.MaxSize != "100Mi" || c.Promote.OnMerge != "staging" {
		t.Errorf("defaults: %+v", c)
	}
	if d, ok := c.Domain("production"); !ok || d.Ceilings["memory"] == "" {
		t.Errorf("production domain: %+v", d)
	}
	if c, err := Load(""); err != nil || len(c.Domains) != 3 {
		t.Errorf("Load(\"\") = %v, %v", c, err)
	}
}

func TestParse(t *testing.T) {
	c, err := Parse("p.yaml", []byte(`
store: localhost:5000/runway
domains:
  - {name: dev, ceilings: {cpu: "2"}}
  - {name: prod}
executor: {kind: kubernetes, namespaceTemplate: "ml-{project}-{domain}"}
promotion:
  rules: [{to: prod, from: [dev], actors: [alice], approvals: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != "localhost:5000/runway" || len(c.Domains) != 2 || c.Executor.NamespaceTemplate != "ml-{project}-{domain}" || c.Promote.Rules[0].Approvals != 1 {
		t.Errorf("parsed: %+v", c)
	}
}

func TestBadPlatformConfig(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown field", "domians: []\n", `unknown field "domians" in the platform config`},
		{"bad yaml", "domains: [\n", "p.yaml"},
		{"duplicate domain", "domains: [{name: a}, {name: a}]\n", `duplicate domain "a"`},
		{"unnamed domain", "domains: [{ceilings: {cpu: '1'}}]\n", "domains[0].name: must not be empty"},
		{"bad executor", "executor: {kind: nomad}\n", `"nomad" is not one of local, kubernetes`},
		{"rule to unknown domain", "promotion: {rules: [{to: prod}]}\n", `unknown domain "prod"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "p.yaml") {
				t.Errorf("got %v, want an error naming p.yaml and containing %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
