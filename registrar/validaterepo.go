package registrar

import (
	"context"
	"errors"
	"strings"

	"github.com/runway-ci/runway/internal/spec"
)

// ValidateRepo loads dir/runway.yaml and runs every check in one pass: the
// strict-decoding problems (unknown fields, values of the wrong shape) and
// the semantic ones (references, cycles, bindings, resources, schedules)
// are reported together, so a typo in one task does not hide a cycle in a
// workflow. A semantic error about a field that already failed to decode is
// dropped: the decode error says what is wrong there.
//
// It returns the spec when it is valid, and the spec as far as it decoded
// together with a spec.Errors value otherwise (nil when the file could not
// be read or parsed at all).
func ValidateRepo(ctx context.Context, dir string, opts CompileOptions) (*spec.Spec, error) {
	s, decodeErrs, err := spec.LoadPartial(dir)
	if err != nil {
		return nil, err
	}
	if _, err := CompilePartial(ctx, s, decodeErrs, Build{Version: strings.Repeat("0", 40)}, opts); err != nil {
		return s, err
	}
	return s, nil
}

// CompilePartial is Compile for a spec that spec.ParsePartial decoded: the
// decode errors and the semantic ones come back together, in one
// spec.Errors value, so `runway register` and the Action report every
// problem at once, as `runway validate` does.
func CompilePartial(ctx context.Context, s *spec.Spec, decodeErrs spec.Errors, b Build, opts CompileOptions) ([]*Entity, error) {
	ents, err := Compile(ctx, s, b, opts)
	var semantic spec.Errors
	if err != nil && !errors.As(err, &semantic) {
		return nil, err // not about the spec (an unknown domain, the store)
	}
	all := append(spec.Errors{}, decodeErrs...)
	for _, e := range semantic {
		if !coveredBy(e, decodeErrs) {
			all = append(all, e)
		}
	}
	if err := all.Err(); err != nil {
		return nil, err
	}
	return ents, nil
}

// coveredBy reports whether a decode error already speaks for the field of
// e: the same line, or the same entity and a field above or below it.
func coveredBy(e *spec.FieldError, decodeErrs spec.Errors) bool {
	for _, d := range decodeErrs {
		if d.Line > 0 && d.Line == e.Line && d.Field == e.Field {
			return true
		}
		if d.Entity != e.Entity || d.Field == "" {
			continue
		}
		if e.Field == d.Field || strings.HasPrefix(e.Field, d.Field+".") || strings.HasPrefix(e.Field, d.Field+"[") {
			return true
		}
	}
	return false
}
