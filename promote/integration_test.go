//go:build integration

package promote_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// blobData sums the sizes of the blob data files distribution stored that
// are not manifests (manifests are stored as blobs too; records are
// manifests). These are the bytes clients uploaded as blobs.
func blobData(t *testing.T, root string) (int64, int) {
	t.Helper()
	var total int64
	n := 0
	err := filepath.WalkDir(filepath.Join(root, "docker", "registry", "v2", "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || d.Name() != "data" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var m struct {
			SchemaVersion int    `json:"schemaVersion"`
			MediaType     string `json:"mediaType"`
		}
		if json.Unmarshal(b, &m) == nil && m.SchemaVersion == 2 && (strings.Contains(m.MediaType, "manifest") || strings.Contains(m.MediaType, "index")) {
			return nil
		}
		total += int64(len(b))
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total, n
}

// TestPromoteOnDockerRegistry promotes the sample development -> staging ->
// production on Debian's docker-registry (distribution 2.8: no referrers
// API, so records use the tag schema fallback): no blob data is added to
// the registry's storage, production digests equal development's, and the
// history shows the chain.
func TestPromoteOnDockerRegistry(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartDockerRegistry(t)
	up := &uploadCounter{base: http.DefaultTransport}
	s, err := remote.New(reg.Host+"/runway", remote.WithTransport(up))
	if err != nil {
		t.Fatal(err)
	}
	publishOpenPolicy(t, s)
	dir, sha := sampleRepo(t)
	reg0 := register(t, s, dir, "development")
	if n, _ := up.get(); n == 0 {
		t.Fatal("the upload counter saw no bytes while registering (the bundle is uploaded): it does not count")
	}
	before, nBefore := blobData(t, reg.Root)
	up.reset()
	dataReqs := func() int {
		return reg.Requests(t, "PATCH", "/blobs/uploads/") + reg.Requests(t, "PUT", "/blobs/uploads/")
	}
	regReqs := dataReqs()
	if regReqs == 0 {
		t.Fatal("the registry's access log shows no blob data requests while registering: it does not count")
	}
	p := newPromoter(t, s, nil)
	for _, step := range [][2]string{{"development", "staging"}, {"staging", "production"}} {
		if _, err := p.Promote(ctx, promote.Request{Project: project, From: step[0], To: step[1], Version: sha, Actor: promote.Actor{Login: "alice"}}); err != nil {
			t.Fatalf("%s -> %s: %v", step[0], step[1], err)
		}
	}
	if n, reqs := up.get(); n != 0 {
		t.Fatalf("promoting sent %d bytes in %d blob upload requests", n, reqs)
	}
	// Counted at the registry: its access log shows no request that could
	// carry blob data while promoting, only mounts.
	if d := dataReqs() - regReqs; d != 0 {
		t.Fatalf("the registry received %d blob data requests (PATCH/PUT under /blobs/uploads/) while promoting", d)
	}
	t.Logf("registry access log: %d blob data requests while registering, 0 while promoting; %d mount requests", regReqs, reg.Requests(t, "POST", "mount="))
	after, nAfter := blobData(t, reg.Root)
	if after != before || nAfter != nBefore {
		t.Fatalf("registry blob data grew from %d bytes in %d blobs to %d in %d", before, nBefore, after, nAfter)
	}
	t.Logf("registry blob data: %d bytes in %d blobs before and after promoting twice", before, nBefore)
	for _, r := range reg0.Entities {
		r.ID.Domain = "production"
		prod, err := registrar.Get(ctx, s, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if prod.Digest != r.Digest {
			t.Errorf("%s: production %s, development %s", r.ID.Name, prod.Digest, r.Digest)
		}
	}
	h, err := p.History(ctx, project, registrar.KindLaunchPlan, "nightly", promote.HistoryOptions{Version: sha, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range h.Events {
		types = append(types, e.Type+"@"+e.Domain)
	}
	if got, want := strings.Join(types, " "), "registration@development promotion@staging activation@staging promotion@production activation@production"; got != want {
		t.Errorf("history: %s, want %s", got, want)
	}
	if !h.Verify.OK() {
		t.Errorf("verify: %+v", h.Verify)
	}
}

// uploadCounter counts the body bytes of blob upload requests (POST, PATCH
// and PUT under /blobs/uploads/) that reach docker-registry. distribution
// 2.8 keeps no request counters, so this wraps the client's real transport;
// a cross-repository mount is a bodiless POST and counts nothing.
type uploadCounter struct {
	base  http.RoundTripper
	mu    sync.Mutex
	bytes int64
	reqs  int
}

func (u *uploadCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		u.mu.Lock()
		u.bytes += int64(len(b))
		if len(b) > 0 {
			u.reqs++
		}
		u.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	return u.base.RoundTrip(r)
}

func (u *uploadCounter) reset() { u.mu.Lock(); u.bytes, u.reqs = 0, 0; u.mu.Unlock() }

func (u *uploadCounter) get() (int64, int) { u.mu.Lock(); defer u.mu.Unlock(); return u.bytes, u.reqs }
