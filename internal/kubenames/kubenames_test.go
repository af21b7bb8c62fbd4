package kubenames

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("v", 70)
	for _, v := range []string{"", "ok", "0123456789abcdef0123456789abcdef01234567", "a@b/c", long, long + "x", "-._", "1234567890-dirty-aaaaaaaaaaaa"} {
		got := LabelValue(v)
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("LabelValue(%q) = %q: %v", v, got, errs)
		}
		if len(validation.IsValidLabelValue(v)) == 0 && got != v {
			t.Errorf("LabelValue(%q) = %q, want it unchanged", v, got)
		}
	}
	if LabelValue(long) == LabelValue(long+"x") {
		t.Error("two long values share a label value")
	}
}

func TestNamespace(t *testing.T) {
	tests := []struct {
		tmpl, project, domain, want, err string
	}{
		{"{project}-{domain}", "fraud-detection", "development", "fraud-detection-development", ""},
		{"", "fraud-detection", "staging", "fraud-detection-staging", ""},
		{"ml-{domain}", "x", "staging", "ml-staging", ""},
		{"{project}-{domain}", "Fraud", "dev", "", "must consist of lower case"},
		{"{project}-{domain}", strings.Repeat("p", 60), "production", "", "must be no more than 63"},
	}
	for _, tt := range tests {
		got, err := Namespace(tt.tmpl, tt.project, tt.domain)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Namespace(%q, %q, %q) = %q, %v; want error containing %q", tt.tmpl, tt.project, tt.domain, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Namespace(%q, %q, %q) = %q, %v; want %q", tt.tmpl, tt.project, tt.domain, got, err, tt.want)
		}
	}
}
