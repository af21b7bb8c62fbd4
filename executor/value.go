package executor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Type is the type of a task or workflow input or output.
type Type string

// The interface types of DESIGN.md.
const (
	TypeString Type = "string"
	TypeInt    Type = "int"
	TypeFloat  Type = "float"
	TypeBool   Type = "bool"
	TypeFile   Type = "file"
	TypeDir    Type = "dir"
)

// ParseType checks that s names an interface type.
func ParseType(s string) (Type, error) {
	switch t := Type(s); t {
	case TypeString, TypeInt, TypeFloat, TypeBool, TypeFile, TypeDir:
		return t, nil
	}
	return "", fmt.Errorf("unknown type %q (want string, int, float, bool, file or dir)", s)
}

// IsBlob reports whether values of t are stored as blobs (file, dir).
func (t Type) IsBlob() bool { return t == TypeFile || t == TypeDir }

// ErrType is wrapped by every error about a value that does not fit its type.
var ErrType = errors.New("wrong type")

// Value is one typed input or output value. Scalars are held in Scalar as
// string, int64, float64 or bool; file and dir values are blobs named by
// Digest (a dir is a reproducible tar, see PutDir).
type Value struct {
	Type   Type   `json:"type"`
	Scalar any    `json:"value,omitempty"`
	Digest string `json:"digest,omitempty"`
	Size   int64  `json:"size,omitempty"`
}

// Values maps names to values.
type Values map[string]Value

// Text is the value as it is substituted into a command and written to a
// value file: the canonical text of a scalar, the digest of a blob.
func (v Value) Text() string {
	switch s := v.Scalar.(type) {
	case string:
		return s
	case int64:
		return strconv.FormatInt(s, 10)
	case float64:
		return strconv.FormatFloat(s, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(s)
	}
	return v.Digest
}

// Plain is the value as shown to people and in JSON output: the scalar
// itself, or the digest of a file or dir.
func (v Value) Plain() any {
	if v.Type.IsBlob() {
		return v.Digest
	}
	return v.Scalar
}

// UnmarshalJSON decodes a value and normalises its scalar to the Go type of
// its declared type, so that round-tripped values compare equal.
func (v *Value) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type   Type            `json:"type"`
		Value  json.RawMessage `json:"value"`
		Digest string          `json:"digest"`
		Size   int64           `json:"size"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if _, err := ParseType(string(raw.Type)); err != nil {
		return err
	}
	*v = Value{Type: raw.Type, Digest: raw.Digest, Size: raw.Size}
	if raw.Type.IsBlob() {
		if !isDigest(raw.Digest) {
			return fmt.Errorf("%s value: digest %q is not a sha256 digest", raw.Type, raw.Digest)
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw.Value))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return fmt.Errorf("%s value: %w", raw.Type, err)
	}
	c, err := Coerce(raw.Type, x)
	if err != nil {
		return err
	}
	*v = c
	return nil
}

// Coerce turns a decoded scalar (from JSON, YAML or a literal in an entity)
// into a value of type t. Text is parsed for every scalar type, so that
// command-line values ("3", "true") work; a number or bool is accepted for
// string only as a string, never reformatted. File and dir values cannot be
// coerced from a scalar: see Inputs for how they are staged.
func Coerce(t Type, x any) (Value, error) {
	v := Value{Type: t}
	switch t {
	case TypeString:
		s, ok := x.(string)
		if !ok {
			return v, fmt.Errorf("want a string, got %s (quote it): %w", describe(x), ErrType)
		}
		v.Scalar = s
	case TypeInt:
		n, err := toInt(x)
		if err != nil {
			return v, err
		}
		v.Scalar = n
	case TypeFloat:
		f, err := toFloat(x)
		if err != nil {
			return v, err
		}
		v.Scalar = f
	case TypeBool:
		switch b := x.(type) {
		case bool:
			v.Scalar = b
		case string:
			p, err := strconv.ParseBool(strings.TrimSpace(b))
			if err != nil {
				return v, fmt.Errorf("want a bool, got %q: %w", b, ErrType)
			}
			v.Scalar = p
		default:
			return v, fmt.Errorf("want a bool, got %s: %w", describe(x), ErrType)
		}
	case TypeFile, TypeDir:
		s, ok := x.(string)
		if !ok || !isDigest(s) {
			return v, fmt.Errorf("want a %s (a path, or a sha256 digest of a stored %s), got %s: %w", t, t, describe(x), ErrType)
		}
		v.Digest = s
	default:
		return v, fmt.Errorf("unknown type %q", t)
	}
	return v, nil
}

func toInt(x any) (int64, error) {
	var s string
	switch n := x.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, fmt.Errorf("want an int, got %v: %w", n, ErrType)
		}
		return int64(n), nil
	case json.Number:
		s = n.String()
	case string:
		s = strings.TrimSpace(n)
	default:
		return 0, fmt.Errorf("want an int, got %s: %w", describe(x), ErrType)
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an int, got %q: %w", s, ErrType)
	}
	return i, nil
}

func toFloat(x any) (float64, error) {
	var s string
	switch n := x.(type) {
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case float64:
		s = strconv.FormatFloat(n, 'g', -1, 64)
	case json.Number:
		s = n.String()
	case string:
		s = strings.TrimSpace(n)
	default:
		return 0, fmt.Errorf("want a float, got %s: %w", describe(x), ErrType)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("want a finite float, got %q: %w", s, ErrType)
	}
	return f, nil
}

func describe(x any) string {
	switch v := x.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(v)
	case bool:
		return "bool " + strconv.FormatBool(v)
	case json.Number:
		return "number " + v.String()
	case int, int64, float64:
		return fmt.Sprintf("number %v", v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", x)
}

func isDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Interface is a typed name -> type mapping (a task's or workflow's inputs
// or outputs).
type Interface map[string]Type

// ParseInterface checks the types of an entity's name -> type map.
func ParseInterface(m map[string]string) (Interface, error) {
	out := Interface{}
	var errs []error
	for _, n := range sortedKeys(m) {
		t, err := ParseType(m[n])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
			continue
		}
		out[n] = t
	}
	return out, errors.Join(errs...)
}

// Signature renders the interface as "name:type,..." sorted by name.
func (i Interface) Signature() string {
	var parts []string
	for _, n := range sortedKeys(i) {
		parts = append(parts, n+":"+string(i[n]))
	}
	return strings.Join(parts, ",")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
