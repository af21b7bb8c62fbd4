package ui

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
)

// pageNames are the pages; each is templates/NAME.html plus the layout.
var pageNames = []string{"executions", "execution", "node", "entities", "entity", "versions", "trail", "error", "login"}

// pageData is what the layout gets.
type pageData struct {
	Title    string
	Prefix   string
	Viewer   string
	AuthMode string
	JSON     string // the page's JSON twin, "" if none
	Data     any
}

func parsePages(prefix string) (map[string]*template.Template, error) {
	fm := template.FuncMap{
		"link": func(segs ...any) string {
			ss := make([]string, len(segs))
			for i, s := range segs {
				ss[i] = fmt.Sprint(s)
			}
			return link(prefix, ss...)
		},
		"short":    store.ShortDigest,
		"shortver": shortVersion,
		"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"whenp": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"firstline": func(s string) string { l, _, _ := strings.Cut(s, "\n"); return l },
		"add":       func(a, b int) int { return a + b },
		"half":      func(a int) int { return a / 2 },
		"join":      strings.Join,
		"usage":     formatUsage,
		// taskref shortens the version of "project/name@version".
		"taskref": func(ref string) string {
			name, v, ok := strings.Cut(ref, "@")
			if !ok {
				return ref
			}
			return name + "@" + shortVersion(v)
		},
		"statuses": func() []executor.Status {
			return append(allStatuses[:len(allStatuses):len(allStatuses)], executor.StatusSkipped)
		},
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(fm).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: parsing page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// render executes a page into a buffer first, so a template error never
// leaves half a page behind a 200.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, page, title, jsonTwin string, data any) {
	var buf bytes.Buffer
	pd := pageData{Title: title, Prefix: h.prefix, Viewer: viewer(r.Context()), JSON: jsonTwin, Data: data}
	if h.auth != nil {
		pd.AuthMode = h.auth.mode()
	}
	if err := h.pages[page].Execute(&buf, pd); err != nil {
		h.log.Error("ui: rendering page", "page", page, "err", err)
		http.Error(w, "rendering the page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func withViewer(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, viewerKey{}, who)
}

func viewer(ctx context.Context) string {
	s, _ := ctx.Value(viewerKey{}).(string)
	return s
}

// valueRow is one input or output as shown: blobs link to their download.
type valueRow struct {
	Name string
	Type executor.Type
	Text string
	Blob bool
	Size int64
	URL  string
}

func (h *Handler) valueRows(project, domain string, vs executor.Values) []valueRow {
	names := make([]string, 0, len(vs))
	for k := range vs {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]valueRow, 0, len(names))
	for _, k := range names {
		v := vs[k]
		row := valueRow{Name: k, Type: v.Type, Text: v.Text(), Blob: v.Type.IsBlob(), Size: v.Size}
		if row.Blob {
			file := k
			if v.Type == executor.TypeDir {
				file += ".tar"
			}
			row.URL = link(h.prefix, "blobs", project, domain, v.Digest) + "?name=" + url.QueryEscape(file)
		}
		out = append(out, row)
	}
	return out
}

func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}

func itoa(n int) string { return fmt.Sprint(n) }

// formatUsage says what an attempt used: "peak 152 MiB, CPU 0.41s".
func formatUsage(u *executor.Usage) string {
	if u == nil {
		return ""
	}
	mem := fmt.Sprintf("%d KiB", u.MaxRSSBytes>>10)
	if u.MaxRSSBytes >= 10<<20 {
		mem = fmt.Sprintf("%d MiB", u.MaxRSSBytes>>20)
	}
	return fmt.Sprintf("peak memory %s, CPU %.2fs", mem, u.CPUSeconds)
}
