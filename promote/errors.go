package promote

import (
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/registrar"
)

// ErrNotAllowed means the platform's promotion policy refused a promotion.
// The error that wraps it is a *PolicyError naming every rule that refused
// and what would satisfy it.
var ErrNotAllowed = errors.New("promotion not allowed by policy")

// ErrConflict means the target domain already holds the version under the
// same tag with a different manifest digest: someone wrote it by another way
// than promotion, or tampered with it. Promotion never overwrites it.
var ErrConflict = errors.New("target already holds a different manifest for this version")

// ErrNotActive means a launch plan has no active version in a domain.
var ErrNotActive = errors.New("launch plan is not active")

// Violation is one policy rule that refused a promotion.
type Violation struct {
	// Rule names the platform config field ("promotion.rules[to=production].actors").
	Rule string `json:"rule"`
	// Reason says what is wrong.
	Reason string `json:"reason"`
	// Satisfy says what would make the rule pass.
	Satisfy string `json:"satisfy"`
}

// PolicyError lists the rules that refused a promotion; errors.Is(err,
// ErrNotAllowed) is true.
type PolicyError struct {
	From, To   string
	Version    string
	Violations []Violation
}

func (e *PolicyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "promoting %s from %s to %s is not allowed by the platform policy:", e.Version, e.From, e.To)
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "\n  %s: %s; to satisfy it: %s", v.Rule, v.Reason, v.Satisfy)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotAllowed) true.
func (e *PolicyError) Is(target error) bool { return target == ErrNotAllowed }

// ConflictError says which target tag holds another manifest.
type ConflictError struct {
	Target   registrar.ID
	Source   v1.Hash // manifest digest in the source domain
	Existing v1.Hash // manifest digest under the version tag in the target
	// SameEntity is true when the entity content (layer digest) is equal and
	// only the manifest differs, as when the version was registered into
	// the target directly instead of promoted.
	SameEntity bool
}

func (e *ConflictError) Error() string {
	why := "its entity content differs: the target was written by something other than runway promotion or was tampered with"
	if e.SameEntity {
		why = "the entity content is equal but the manifest differs: the version was registered into " + e.Target.Domain + " directly instead of promoted"
	}
	return fmt.Sprintf("%s %s already exists with manifest %s, the source has %s; %s. Promotion never overwrites: inspect it with 'runway history %s/%s --version %s --verify'",
		e.Target.Kind, e.Target, e.Existing, e.Source, why, e.Target.Kind, e.Target.Name, e.Target.Version)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
