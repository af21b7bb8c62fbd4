// Package kubenames holds every Kubernetes name runway puts on objects: the
// label and annotation keys (one domain, runway.dev/, on Jobs, pods,
// CronJobs and namespaces alike, so one selector finds all of runway's
// objects), the one function that fits a value into a label, and the one
// that expands a namespace template.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package kubenames

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Label keys. Every value goes through LabelValue; where a label had to
// be shortened an annotation keeps the full value.
const (
	// LabelManagedBy is Kubernetes' recommended key; runway sets it to
	// ManagedByValue on everything it creates and never touches an object
	// without it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedByValue = "runway"

	LabelProject = "runway.dev/project"
	LabelDomain  = "runway.dev/domain"
	// LabelKind is the entity kind the object runs: "task" on a Job,
	// "launchplan" on a CronJob.
	LabelKind = "runway.dev/kind"
	// LabelEntity is the entity's name (a task's on a Job, a launch plan's
	// on a CronJob).
	LabelEntity    = "runway.dev/entity"
	LabelVersion   = "runway.dev/version"
	LabelExecution = "runway.dev/execution"
	LabelNode      = "runway.dev/node"
	LabelAttempt   = "runway.dev/attempt"
	// LabelLock is the lock key (through LabelValue) on each Lease the
	// Kubernetes Locker takes, for kubectl get leases -l.
	LabelLock = "runway.dev/lock"
)

// Annotation keys.
const (
	// AnnotationSpec holds the exec-task spec (JSON) on a Job's pod
	// template; a downward API volume turns it into the file exec-task
	// reads.
	AnnotationSpec = "runway.dev/spec"
	// AnnotationTask names a Job's task entity in full (project/name@version).
	AnnotationTask = "runway.dev/task"
	// AnnotationVersion is the full version, which LabelVersion may shorten.
	AnnotationVersion = "runway.dev/version"
	// AnnotationEntityDigest is the digest of the entity manifest a CronJob
	// runs.
	AnnotationEntityDigest = "runway.dev/entity-digest"
	// AnnotationLockKey is a Lease's lock key in full.
	AnnotationLockKey = "runway.dev/lock-key"
)

var labelUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// LabelValue returns v when it is a valid label value, else a shortened
// form ending in a hash of v, so two values never share a label.
func LabelValue(v string) string {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	h := hex.EncodeToString(sum[:])[:10]
	clean := strings.Trim(labelUnsafe.ReplaceAllString(v, "-"), "-._")
	if len(clean) > validation.LabelValueMaxLength-len(h)-1 {
		clean = strings.TrimRight(clean[:validation.LabelValueMaxLength-len(h)-1], "-._")
	}
	if clean == "" {
		return h
	}
	return clean + "-" + h
}

// DefaultNamespaceTemplate is the namespace of a project's domain when the
// platform names none.
const DefaultNamespaceTemplate = "{project}-{domain}"

// Namespace expands a namespace template: "{project}" and "{domain}" are
// replaced ("" is DefaultNamespaceTemplate). The result must be a DNS-1123
// label.
func Namespace(template, project, domain string) (string, error) {
	if template == "" {
		template = DefaultNamespaceTemplate
	}
	ns := strings.NewReplacer("{project}", project, "{domain}", domain).Replace(template)
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", fmt.Errorf("namespace %q from template %q: %s", ns, template, strings.Join(errs, "; "))
	}
	return ns, nil
}
