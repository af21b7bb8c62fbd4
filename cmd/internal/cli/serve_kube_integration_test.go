//go:build integration

package cli

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/lock/kubelease"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/internal/testkit/kubetest"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// TestServeTwoReplicasOnOneAPIServer runs two `runway serve` processes,
// each with its own journal, sharing the store, GitHub and a real
// kube-apiserver for their Leases (--lock kubernetes). Conflicting
// commands for one pull request go to both at once: the two replicas work
// on that pull request one at a time, and the head is promoted once.
func TestServeTwoReplicasOnOneAPIServer(t *testing.T) {
	ctx := context.Background()
	sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	cp, err := kubetest.Start(sctx, filepath.Join(t.TempDir(), "cluster"))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	admin, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "runway-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	w := newServeWorld(t)
	w.gh.SetPullRequest(serveRepo, githubfake.PullRequest{Number: 2, Title: "pr", User: "Codertocat", HeadSHA: w.head, HeadRef: "changes", BaseSHA: w.base, BaseRef: "master"})
	w.gh.SetRole(serveRepo, "Codertocat", "admin")
	w.env = []string{"RUNWAY_LOCK=kubernetes", "RUNWAY_LOCK_KUBECONFIG=" + cp.Kubeconfig, "RUNWAY_LOCK_NAMESPACE=runway-system", "RUNWAY_LOCK_TTL=5s"}
	stateA, stateB := t.TempDir(), t.TempDir()
	w.state = stateA
	a := w.start("--workers", "2")
	w.state = stateB
	b := w.start("--workers", "2")

	// The pull request is registered into development first (replica A).
	var prExample map[string]any
	for _, e := range octokitExamples(t) {
		for _, ex := range e.Examples {
			if e.Name == "pull_request" && ex["action"] == "opened" && prExample == nil {
				prExample = ex
			}
		}
	}
	if code, body := a.post(t, w.secret, "pull_request", "ha-pr", w.adapt("pull_request", prExample)); code != http.StatusAccepted {
		t.Fatalf("%d %s", code, body)
	}
	a.waitIdle(t, 3*time.Minute)

	// Watch the pull request's Lease: each replica takes it on the cluster.
	leaseName := kubelease.LeaseName(lock.PRKey(serveRepo, 2))
	watch, err := admin.CoordinationV1().Leases("runway-system").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + leaseName})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	holders := map[string]bool{}
	var mu sync.Mutex
	go func() {
		for ev := range watch.ResultChan() {
			if le, ok := ev.Object.(*coordv1.Lease); ok && le.Spec.HolderIdentity != nil {
				mu.Lock()
				holders[*le.Spec.HolderIdentity] = true
				mu.Unlock()
			}
		}
	}()

	// Conflicting commands, at once, to both replicas: two people ask to
	// promote the head, twice each.
	type sent struct {
		p  *serveProc
		id string
	}
	var all []sent
	for i := 0; i < 2; i++ {
		for j, p := range []*serveProc{a, b} {
			id := fmt.Sprintf("ha-promote-%d-%d", i, j)
			if code, body := p.post(t, w.secret, "issue_comment", id, w.commentOn(t, 2, "/runway promote staging")); code != http.StatusAccepted {
				t.Fatalf("%s: %d %s", id, code, body)
			}
			all = append(all, sent{p, id})
		}
	}
	a.waitIdle(t, 3*time.Minute)
	b.waitIdle(t, 3*time.Minute)

	// Serialized: the handlings of the pull request's deliveries, across
	// both replicas, do not overlap in time.
	type span struct {
		id         string
		start, end time.Time
	}
	var spans []span
	for _, p := range []*serveProc{a, b} {
		for _, l := range p.logLines(t, "delivery handled") {
			id := fmt.Sprint(l["delivery"])
			if !strings.HasPrefix(id, "ha-promote-") {
				continue
			}
			end, err := time.Parse(time.RFC3339Nano, fmt.Sprint(l["time"]))
			if err != nil {
				t.Fatal(err)
			}
			took, _ := l["took"].(float64) // slog writes a Duration as nanoseconds
			spans = append(spans, span{id, end.Add(-time.Duration(took)), end})
		}
	}
	if len(spans) != len(all) {
		t.Fatalf("%d promote commands handled, want %d", len(spans), len(all))
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start.Before(spans[i-1].end) {
			t.Errorf("%s started at %v, before %s ended at %v: the replicas overlapped on one pull request",
				spans[i].id, spans[i].start, spans[i-1].id, spans[i-1].end)
		}
	}
	// No double promotion: one promotion record per entity in staging.
	s, err := storeopen.Open("file://" + w.store)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := registrar.List(ctx, s, "house-prices", "staging", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		t.Fatal("nothing was promoted to staging")
	}
	for _, st := range ents {
		recs, err := promote.ReadRecords(ctx, s, st.ID.Repo(), st.Manifest.Digest)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Type == promote.RecordPromotion {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s/%s@%s has %d promotion records, want 1", st.ID.Kind, st.ID.Name, st.ID.Version, n)
		}
	}
	// And at GitHub: one reply promoted the entities, the three others found
	// them promoted already.
	promotedReplies, unchangedReplies := 0, 0
	for _, c := range w.gh.Comments(serveRepo, 2) {
		if !strings.Contains(c.Body, "runway promoted") {
			continue
		}
		if regexp.MustCompile(`(?m)^0 promoted, [1-9]`).MatchString(c.Body) {
			unchangedReplies++
		} else {
			promotedReplies++
		}
	}
	if promotedReplies != 1 || unchangedReplies != 3 {
		t.Errorf("%d replies promoted and %d found it done; want 1 and 3", promotedReplies, unchangedReplies)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d promote commands on two replicas, one after another; %d entities promoted once each; the PR's Lease held by %d replicas", len(spans), len(ents), len(holders))
	if len(holders) < 2 {
		t.Errorf("the pull request's Lease %s was held by %v; want both replicas, each in turn", leaseName, holders)
	}
}
