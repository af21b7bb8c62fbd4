package packager

import (
	"os"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/version"
)

// DefaultPath is the PATH an image gets when its base sets none (Docker's
// default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// imageConfig derives the image config from the base's: runway's env on top
// of the base env, runway as the entrypoint, a fixed creation time. The
// working directory, user, labels and history of the base are kept, and a
// label names the runway version that built the image.
func imageConfig(base *v1.ConfigFile, env map[string]string) *v1.ConfigFile {
	cfg := base.DeepCopy()
	cfg.Created = v1.Time{Time: layerTime}
	cfg.Config.Env = mergeEnv(base.Config.Env, env)
	// The entrypoint is runway, so `podman run IMAGE version` and the
	// executors' `IMAGE exec-task ...` need no path. The base's Cmd (often
	// a shell or an interpreter) would become runway's arguments, so it is
	// cleared.
	cfg.Config.Entrypoint = []string{RunwayPath}
	cfg.Config.Cmd = nil
	// The runway that built the image, next to the base's own labels.
	if cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	cfg.Config.Labels[store.AnnotationRunwayVersion] = version.String()
	return cfg
}

// mergeEnv applies env (from runway.yaml) on top of the base image's env
// list. Keys are applied in sorted order; a key the base sets is replaced in
// place, a new key is appended. Values may refer to the base's variables
// ($VAR or ${VAR}, "$$" for a literal "$"), so PYTHONPATH=/opt/deps:$PYTHONPATH
// extends the base's value; they never see each other, so the result does
// not depend on map order. PATH always contains /usr/local/bin, where the
// runway binary lives.
func mergeEnv(base []string, env map[string]string) []string {
	out := slices.Clone(base)
	baseVals := map[string]string{}
	index := map[string]int{}
	for i, kv := range out {
		k, v, _ := strings.Cut(kv, "=")
		baseVals[k] = v
		index[k] = i
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := expand(env[k], baseVals)
		if i, ok := index[k]; ok {
			out[i] = k + "=" + v
			continue
		}
		index[k] = len(out)
		out = append(out, k+"="+v)
	}
	i, ok := index["PATH"]
	if !ok {
		return append(out, "PATH="+DefaultPath)
	}
	path := strings.TrimPrefix(out[i], "PATH=")
	if !slices.Contains(strings.Split(path, ":"), "/usr/local/bin") {
		if path == "" {
			path = "/usr/local/bin"
		} else {
			path += ":/usr/local/bin"
		}
		out[i] = "PATH=" + path
	}
	return out
}

// expand substitutes $VAR and ${VAR} from vars (unset is empty) and turns
// "$$" into "$".
func expand(s string, vars map[string]string) string {
	return os.Expand(s, func(name string) string {
		if name == "$" {
			return "$"
		}
		return vars[name]
	})
}
