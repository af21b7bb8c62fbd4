package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
)

// getOutput is `runway get output EXECUTION NODE NAME [--to PATH]`: a node's
// output value. A file or dir value is fetched by its digest and verified;
// a file goes to stdout without --to, a dir needs --to. PATH must not exist
// (a dir may be an empty directory); nothing is left at PATH on failure.
func (g *Global) getOutput(ctx context.Context, args []string, to string) error {
	if len(args) != 3 {
		return Usagef("get output takes EXECUTION NODE NAME (runway get output 01m8... fit model --to model.json)")
	}
	id, node, name := args[0], args[1], args[2]
	st, project, err := g.projectStore()
	if err != nil {
		return err
	}
	ex, err := executor.Get(ctx, st, project, g.Domain, id)
	if err != nil {
		return err
	}
	n := ex.Node(node)
	if n == nil {
		var ids []string
		for _, x := range ex.Nodes {
			ids = append(ids, x.ID)
		}
		return Usagef("execution %s has no node %q (its nodes: %s)", id, node, strings.Join(ids, ", "))
	}
	v, ok := n.Outputs[name]
	if !ok {
		var names []string
		for k := range n.Outputs {
			names = append(names, k)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return fmt.Errorf("node %s of execution %s has no outputs (it is %s)", node, id, n.Status)
		}
		return Usagef("node %s of execution %s has no output %q (its outputs: %s)", node, id, name, strings.Join(names, ", "))
	}
	repo := store.ExecutionRepo(project, g.Domain)
	switch {
	case !v.Type.IsBlob():
		if to != "" {
			return writeNew(to, []byte(v.Text()+"\n"))
		}
		if g.JSON() {
			return g.PrintJSON(map[string]any{"name": name, "type": v.Type, "value": v.Plain()})
		}
		fmt.Fprintln(g.IO.Out, v.Text())
		return nil
	case v.Type == executor.TypeDir:
		if to == "" {
			return Usagef("output %q is a dir: name where to put it with --to PATH", name)
		}
		if err := executor.FetchDir(ctx, st, repo, v, to); err != nil {
			return err
		}
	default:
		if to == "" {
			return g.fileToStdout(ctx, st, repo, v)
		}
		if _, err := os.Lstat(to); err == nil {
			return fmt.Errorf("%s exists; runway get output does not overwrite: name a new path", to)
		}
		tmp := filepath.Join(filepath.Dir(to), "."+filepath.Base(to)+".runway-tmp")
		if err := executor.FetchFile(ctx, st, repo, v, tmp); err != nil {
			return err
		}
		if err := os.Rename(tmp, to); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("writing %s: %w", to, err)
		}
	}
	if g.JSON() {
		return g.PrintJSON(map[string]any{"name": name, "type": v.Type, "digest": v.Digest, "size": v.Size, "to": to})
	}
	fmt.Fprintf(g.IO.Err, "%s %s (%s, %d bytes) -> %s\n", v.Type, name, v.Digest, v.Size, to)
	return nil
}

func (g *Global) fileToStdout(ctx context.Context, st store.Store, repo string, v executor.Value) error {
	dir, err := os.MkdirTemp("", "runway-output-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "value")
	if err := executor.FetchFile(ctx, st, repo, v, p); err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(g.IO.Out, f)
	return err
}

// writeNew writes b to a path that must not exist.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; runway get output does not overwrite: name a new path", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
