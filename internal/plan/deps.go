package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/runway-ci/runway/internal/gitdiff"
	"github.com/runway-ci/runway/internal/pathmatch"
	"github.com/runway-ci/runway/internal/spec"
)

// depHashInput is what the dependency hash covers, serialised as JSON (a
// fixed field order, sorted lists) so that the hash is stable across
// versions of runway. Bump V if the covered fields ever change.
type depHashInput struct {
	V       int         `json:"v"`
	Base    string      `json:"base"`
	Install []string    `json:"install"`
	Env     [][2]string `json:"env"`
	Files   [][2]string `json:"files"`
}

// DependencyHash is the hex sha256 that names the dependency image
// (store.ImageTag): over image.base as written, image.install, image.env
// (sorted by name) and each dependency file's path and git blob SHA at head
// (sorted by path). See doc.go for why the base is hashed as written.
// Packager tags the image it builds with this hash; it never recomputes it.
func DependencyHash(img spec.Image, files []gitdiff.File) string {
	in := depHashInput{V: 1, Base: img.Base, Install: nonNil(img.Install), Env: sortedEnv(img.Env), Files: [][2]string{}}
	for _, f := range files {
		in.Files = append(in.Files, [2]string{f.Path, f.Hash.String()})
	}
	sort.Slice(in.Files, func(i, j int) bool { return in.Files[i][0] < in.Files[j][0] })
	b, _ := json.Marshal(in) // strings and slices of strings always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedEnv(env map[string]string) [][2]string {
	out := make([][2]string, 0, len(env))
	for k, v := range env {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// dependencyFiles lists the files of tree matching any of globs, sorted by
// path. A glob without wildcards ("requirements.txt", "deps/uv.lock") is a
// direct lookup; the others walk only the directories they can reach
// ("deps/**" walks deps/, only a glob starting with "**" walks everything).
func dependencyFiles(ctx context.Context, r *gitdiff.Repo, tree plumbing.Hash, globs []string) ([]gitdiff.File, error) {
	var out []gitdiff.File
	var walk [][]segPattern
	var walkGlobs []string
	seen := make(map[string]bool)
	for _, g := range globs {
		if !hasMeta(g) {
			f, err := r.Lookup(tree, g)
			if errors.Is(err, gitdiff.ErrPathNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if f.Mode != filemode.Dir && !seen[f.Path] {
				seen[f.Path] = true
				out = append(out, f)
			}
			continue
		}
		var segs []segPattern
		for _, s := range strings.Split(g, "/") {
			if s == "**" {
				segs = append(segs, segPattern{})
			} else {
				segs = append(segs, newSegPattern(s))
			}
		}
		walk = append(walk, segs)
		walkGlobs = append(walkGlobs, g)
	}
	if len(walk) > 0 {
		descend := func(dir string) bool {
			for _, g := range walk {
				if mayMatchBelow(g, dir) {
					return true
				}
			}
			return false
		}
		err := r.Walk(ctx, tree, descend, func(f gitdiff.File) error {
			if seen[f.Path] {
				return nil
			}
			for _, g := range walkGlobs {
				if pathmatch.Match(g, f.Path) {
					seen[f.Path] = true
					out = append(out, f)
					break
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func hasMeta(glob string) bool { return strings.ContainsAny(glob, "*?[\\") }

// mayMatchBelow reports whether the glob segments g can match some path
// strictly below the directory dir ("**" is the zero segPattern).
func mayMatchBelow(g []segPattern, dir string) bool {
	for rest, more := dir, true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		if len(g) == 0 {
			return false
		}
		if g[0].any() {
			return true
		}
		if !g[0].match(seg) {
			return false
		}
		g = g[1:]
	}
	return len(g) > 0
}
