package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gopkg.in/yaml.v3"

	"github.com/runway-ci/runway/internal/store"
)

// ErrInvalidInput is wrapped by every error about launch inputs. Such an
// error is returned before anything is written or run.
var ErrInvalidInput = errors.New("invalid input")

// ParseInputArgs reads launch inputs from an optional inputs file (a YAML
// or JSON mapping) and from "name=value" arguments, which override the
// file. Values from arguments are text; Launch parses them by the
// interface's types. A file or dir input is a local path (uploaded at
// launch) or the sha256 digest of a stored blob.
func ParseInputArgs(args []string, file string) (map[string]any, error) {
	out := map[string]any{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading inputs file: %w", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("inputs file %s: want a mapping of input names to values: %w: %w", file, err, ErrInvalidInput)
		}
		for k, v := range m {
			out[k] = v
		}
	}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("input %q: want name=value: %w", a, ErrInvalidInput)
		}
		out[k] = v
	}
	return out, nil
}

// typeInputs checks raw launch inputs against the interface, filling in
// defaults, and returns typed values. Nothing is uploaded until every
// input has been checked; then local file and dir paths are uploaded into
// dataRepo.
func typeInputs(ctx context.Context, s store.Store, dataRepo, scratch string, iface Interface, raw, defaults map[string]any) (Values, error) {
	var errs []error
	bad := func(name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("input %q: "+format+": %w", append([]any{name}, append(a, ErrInvalidInput)...)...))
	}
	for _, n := range sortedKeys(raw) {
		if _, ok := iface[n]; !ok {
			bad(n, "not an input of this target (inputs: %s)", iface.Signature())
		}
	}
	out := Values{}
	uploads := map[string]string{}
	for _, n := range sortedKeys(iface) {
		t := iface[n]
		x, ok := raw[n]
		if !ok {
			x, ok = defaults[n]
		}
		if !ok {
			bad(n, "missing (a %s)", t)
			continue
		}
		if t.IsBlob() {
			p, isStr := x.(string)
			if !isStr || p == "" {
				bad(n, "want a path to a %s or a sha256 digest, got %s", t, describe(x))
				continue
			}
			if isDigest(p) {
				h, _ := v1.NewHash(p)
				has, err := s.HasBlob(ctx, dataRepo, h)
				if err != nil {
					return nil, fmt.Errorf("input %q: checking %s: %w", n, p, err)
				}
				if !has {
					bad(n, "no blob %s in %s", p, dataRepo)
				}
				out[n] = Value{Type: t, Digest: p}
				continue
			}
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				bad(n, "%v", err)
			case t == TypeFile && !fi.Mode().IsRegular():
				bad(n, "%s is not a regular file", p)
			case t == TypeDir && !fi.IsDir():
				bad(n, "%s is not a directory", p)
			default:
				uploads[n] = p
			}
			continue
		}
		v, err := Coerce(t, x)
		if err != nil {
			bad(n, "%v", err)
			continue
		}
		out[n] = v
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, n := range sortedKeys(uploads) {
		var v Value
		var err error
		if iface[n] == TypeFile {
			v, err = PutFile(ctx, s, dataRepo, uploads[n])
		} else {
			v, err = PutDir(ctx, s, dataRepo, uploads[n], scratch)
		}
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", n, err)
		}
		out[n] = v
	}
	return out, nil
}
