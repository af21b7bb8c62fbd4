package platform

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// decodeError turns the YAML decoder's errors into messages about the
// platform config's own fields: "line 12: unknown field "checks" in a
// promotion rule (allowed: to, from, ...)", never a Go type name.
func decodeError(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var msgs []string
	for _, m := range te.Errors {
		msgs = append(msgs, file+": "+rewriteDecodeMsg(m))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

var (
	unknownFieldRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(line \d+): field (\S+) not found in type platform\.(\w+)$`)
	})
	unmarshalRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile("^(line \\d+): cannot unmarshal !!(\\w+) (`.*` )?into (\\S+)$")
	})
)

// sections names each Go type of the config as a reader of the YAML
// knows it.
var sections = map[string]string{
	"Config": "the platform config", "Domain": "a domain", "Resources": "domain defaults",
	"Executor": "executor", "Bundle": "bundle", "Registry": "registry",
	"Promotion": "promotion", "PromotionRule": "a promotion rule", "GitHub": "github", "Lock": "lock",
}

var yamlKinds = map[string]string{
	"str": "a string", "int": "a number", "float": "a number", "bool": "true or false",
	"seq": "a list", "map": "a mapping", "null": "nothing",
}

func rewriteDecodeMsg(m string) string {
	if sm := unknownFieldRE().FindStringSubmatch(m); sm != nil {
		where := sections[sm[3]]
		if where == "" {
			where = strings.ToLower(sm[3])
		}
		return fmt.Sprintf("%s: unknown field %q in %s (allowed: %s)", sm[1], sm[2], where, strings.Join(yamlFields(sm[3]), ", "))
	}
	if sm := unmarshalRE().FindStringSubmatch(m); sm != nil {
		want := strings.TrimPrefix(sm[4], "platform.")
		switch {
		case want == "[]string":
			want = "a list of strings"
		case strings.HasPrefix(want, "map["):
			want = "a mapping"
		case strings.HasPrefix(want, "[]"):
			want = "a list"
		case sections[want] != "":
			want = "a mapping (" + sections[want] + ")"
		case want == "int":
			want = "a whole number"
		case want == "bool":
			want = "true or false"
		default:
			want = "a " + want
		}
		got := yamlKinds[sm[2]]
		if got == "" {
			got = sm[2]
		}
		if v := strings.Trim(strings.TrimSpace(sm[3]), "`"); v != "" {
			got += fmt.Sprintf(" %q", v)
		}
		return fmt.Sprintf("%s: got %s, want %s", sm[1], got, want)
	}
	return m
}

// yamlFields lists the YAML keys of the named config type.
func yamlFields(typeName string) []string {
	t, ok := configTypes()[typeName]
	if !ok {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// configTypes maps the name of every struct type reachable from Config to
// its type.
var configTypes = sync.OnceValue(func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || m[t.Name()] != nil {
			return
		}
		m[t.Name()] = t
		for i := 0; i < t.NumField(); i++ {
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeOf(Config{}))
	return m
})
