//go:build integration

package main

// Cross-process safety (issue 16): eight runway-core processes at once,
// each with nothing in common but the registry (and the cluster, for the
// Lease), as eight CI jobs would have. Run against Debian's docker-registry
// with the registry claim protocol, and again with a coordination.k8s.io
// Lease on a real kube-apiserver.
//
// Rounds: RUNWAY_CROSSPROCESS_ROUNDS (default 3 in CI; the 50 is run
// by hand and reported). RUNWAY_CROSSPROCESS_BINARY runs a prebuilt
// runway-core instead of building this tree's (to show the tests fail on
// an older runway). RUNWAY_CROSSPROCESS_LOCK overrides the lock kind (for
// example "process", to show what an in-process lock lets through).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	runway "github.com/runway-ci/runway"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/kubetest"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

const (
	writers     = 8
	project     = "house-prices"
	lockTTL     = 10 * time.Second // renewals must get through on a loaded CI machine
	storePrefix = "xp"
)

// xp is one cross-process test setup.
type xp struct {
	t        *testing.T
	bin      string
	reg      *testenv.DockerRegistry
	st       store.Store // the test's own view, for checks
	platform string
	repoA    string // the sample, committed
	repoB    string // the sample with other content for task prepare
	sha      string // repoA's commit
	env      []string
}

func TestCrossProcessRegistryClaims(t *testing.T) {
	x := newXP(t, "registry")
	x.run()
}

func TestCrossProcessKubernetesLease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cp, err := kubetest.Start(ctx, filepath.Join(t.TempDir(), "cluster"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	x := newXP(t, "kubernetes", "RUNWAY_LOCK_KUBECONFIG="+cp.Kubeconfig, "RUNWAY_LOCK_NAMESPACE=default")
	x.run()
	// Every Lease was released.
	client, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	// A context of its own: the one above only bounded the start.
	leases, err := client.CoordinationV1().Leases("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, l := range leases.Items {
		if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
			held = append(held, l.Name)
		}
	}
	if len(held) > 0 && os.Getenv("RUNWAY_CROSSPROCESS_LOCK") == "" {
		t.Errorf("Leases still held after every process ended: %v", held)
	}
}

func rounds(t *testing.T) int {
	n := 3
	if v := os.Getenv("RUNWAY_CROSSPROCESS_ROUNDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("RUNWAY_CROSSPROCESS_ROUNDS=%q", v)
		}
	}
	return n
}

func newXP(t *testing.T, lockKind string, env ...string) *xp {
	t.Helper()
	x := &xp{t: t}
	if b := os.Getenv("RUNWAY_CROSSPROCESS_BINARY"); b != "" {
		x.bin = b
	} else {
		x.bin = testenv.BuildStatic(t, "../..", "./cmd/runway-core")
	}
	x.reg = testenv.StartDockerRegistry(t)
	st, err := remote.New(x.reg.Host+"/"+storePrefix, remote.WithRetryMax(2))
	if err != nil {
		t.Fatal(err)
	}
	x.st = st

	x.repoA = filepath.Join(t.TempDir(), "a")
	if err := runway.WriteSample(x.repoA); err != nil {
		t.Fatal(err)
	}
	x.sha = testenv.GitCommitAll(t, x.repoA)
	x.repoB = filepath.Join(t.TempDir(), "b")
	if err := runway.WriteSample(x.repoB); err != nil {
		t.Fatal(err)
	}
	y := filepath.Join(x.repoB, "runway.yaml")
	b, err := os.ReadFile(y)
	if err != nil {
		t.Fatal(err)
	}
	// Other content for task prepare only: its retries.
	b = bytes.Replace(b, []byte("    retries: 1\n"), []byte("    retries: 3\n"), 1)
	if err := os.WriteFile(y, b, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.GitCommitAll(t, x.repoB)

	// Two domains per round: registrations into a, promotions a -> b.
	var doms strings.Builder
	for r := 0; r < rounds(t); r++ {
		fmt.Fprintf(&doms, "  - {name: r%da}\n  - {name: r%db}\n", r, r)
	}
	doms.WriteString("  - {name: kill}\n")
	x.platform = filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(x.platform, []byte("domains:\n"+doms.String()+"registry: {retryMax: 3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kind := lockKind
	if k := os.Getenv("RUNWAY_CROSSPROCESS_LOCK"); k != "" {
		kind = k
	}
	x.env = append(append(os.Environ(), "RUNWAY_HOME="+t.TempDir(), "RUNWAY_LOCK="+kind,
		"RUNWAY_LOCK_TTL="+lockTTL.String(), "CGO_ENABLED=0"), env...)
	return x
}

// proc is one finished runway-core process.
type proc struct {
	args           []string
	code           int
	stdout, stderr string
	took           time.Duration
}

func (p proc) String() string {
	return fmt.Sprintf("runway %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(p.args, " "), p.code, p.stdout, p.stderr)
}

func (x *xp) start(ctx context.Context, store string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	full := append([]string{"--store", store, "--platform", x.platform, "--project", project, "-o", "json"}, args...)
	cmd := exec.CommandContext(ctx, x.bin, full...)
	cmd.Env = x.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		x.t.Fatal(err)
	}
	return cmd, &out, &errb
}

// parallel runs one process per argument list, all at once.
func (x *xp) parallel(argss [][]string) []proc {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	procs := make([]proc, len(argss))
	var wg sync.WaitGroup
	for i, args := range argss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			cmd, out, errb := x.start(ctx, x.reg.Host+"/"+storePrefix, args...)
			err := cmd.Wait()
			code := 0
			if err != nil {
				code = -1
				if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
					code = ee.ExitCode()
				}
			}
			procs[i] = proc{args: args, code: code, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
		}()
	}
	wg.Wait()
	return procs
}

type regEntity struct {
	Kind, Name, Domain, Version, Digest, Status, Error string
}

func entities(t *testing.T, p proc) []regEntity {
	var out struct{ Entities []regEntity }
	if err := json.Unmarshal([]byte(p.stdout), &out); err != nil {
		t.Fatalf("%v\nparsing its -o json: %v", p, err)
	}
	return out.Entities
}

func (x *xp) run() {
	t := x.t
	n := rounds(t)
	var golden map[string][]byte // entity -> manifest bytes, from round 0
	start := time.Now()
	for r := 0; r < n; r++ {
		da, db := fmt.Sprintf("r%da", r), fmt.Sprintf("r%db", r)
		t.Logf("round %d", r)
		golden = x.identical(da, golden)
		x.conflicting(da, "c"+strconv.Itoa(r))
		x.promotions(da, db)
		// A second version of the launch plan to activate against the first.
		second := "v" + strconv.Itoa(r)
		if p := x.parallel([][]string{{"register", "--repo", x.repoA, "--domain", da, "--version", second}})[0]; p.code != 0 {
			t.Fatalf("registering %s: %v", second, p)
		}
		x.activations(da, []string{x.sha, second})
		if t.Failed() {
			t.Fatalf("failed in round %d", r)
		}
	}
	t.Logf("%d rounds of %d processes x 4 scenarios in %s", n, writers, time.Since(start).Round(time.Millisecond))
	x.killed()
}

// identical: eight processes register one commit. All exit 0, exactly one
// creates each entity, and every manifest is byte-identical to round 0's,
// registered at another time.
func (x *xp) identical(domain string, golden map[string][]byte) map[string][]byte {
	t := x.t
	var argss [][]string
	for range writers {
		argss = append(argss, []string{"register", "--repo", x.repoA, "--domain", domain})
	}
	created := map[string]int{}
	for _, p := range x.parallel(argss) {
		if p.code != 0 {
			t.Errorf("identical content: %v", p)
			continue
		}
		for _, e := range entities(t, p) {
			if e.Status == "created" {
				created[e.Kind+"/"+e.Name]++
			}
		}
	}
	ctx := context.Background()
	if golden == nil {
		golden = map[string][]byte{}
	}
	ents, err := registrar.List(ctx, x.st, project, domain, "")
	if err != nil || len(ents) != 6 {
		t.Fatalf("entities in %s: %d, %v", domain, len(ents), err)
	}
	for _, st := range ents {
		key := string(st.ID.Kind) + "/" + st.ID.Name
		if created[key] != 1 {
			t.Errorf("%s was reported created by %d processes, want exactly 1", key, created[key])
		}
		raw, _, err := x.st.GetManifest(ctx, st.ID.Repo(), x.sha)
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := golden[key]; !ok {
			golden[key] = raw
		} else if !bytes.Equal(g, raw) {
			t.Errorf("%s: identical content registered at another time gave other manifest bytes:\n%s\n%s", key, g, raw)
		}
	}
	return golden
}

// conflicting: four processes register content A and four content B under
// one version. One content wins the whole version (registration holds a
// version lock): the processes of that content exit 0 and registered
// exactly what is stored; every other exits 4 with the conflict and a field
// diff. Never half A's and half B's.
func (x *xp) conflicting(domain, version string) {
	t := x.t
	var argss [][]string
	for i := range writers {
		repo := x.repoA
		if i%2 == 1 {
			repo = x.repoB
		}
		argss = append(argss, []string{"register", "--repo", repo, "--domain", domain, "--version", version})
	}
	procs := x.parallel(argss)
	ctx := context.Background()
	stored := map[string]string{}
	ents, err := registrar.List(ctx, x.st, project, domain, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range ents {
		if st.ID.Version == version {
			stored[string(st.ID.Kind)+"/"+st.ID.Name] = st.Digest.String()
		}
	}
	if _, ok := stored["task/prepare"]; !ok {
		t.Fatalf("no content stored for task/prepare@%s", version)
	}
	contents := map[string]map[string]bool{} // entity -> digests the processes computed
	for _, p := range procs {
		if p.code == 0 || p.code == 4 {
			for _, e := range entities(t, p) {
				k := e.Kind + "/" + e.Name
				if contents[k] == nil {
					contents[k] = map[string]bool{}
				}
				contents[k][e.Digest] = true
			}
		}
	}
	for k, d := range stored {
		if !contents[k][d] {
			t.Errorf("%s@%s holds %s, which no writer computed", k, version, d)
		}
	}
	winners := 0
	for _, p := range procs {
		if p.code == 0 {
			winners++
		}
	}
	if winners == 0 {
		t.Errorf("no writer's whole content won %s: the version holds a mix of A's and B's entities: %v", version, stored)
	}
	for _, p := range procs {
		switch p.code {
		case 0:
			for _, e := range entities(t, p) {
				if stored[e.Kind+"/"+e.Name] != e.Digest {
					t.Errorf("told %s for %s/%s@%s with digest %s, but the store holds %s:\n%v", e.Status, e.Kind, e.Name, version, e.Digest, stored[e.Kind+"/"+e.Name], p)
				}
			}
		case 4:
			all := p.stdout + p.stderr
			if !strings.Contains(all, "is already registered with digest") || !strings.Contains(all, "differing fields") {
				t.Errorf("a conflict without the conflict and its diff: %v", p)
			}
		default:
			t.Errorf("want exit 0 or 4: %v", p)
		}
	}
}

// promotions: eight processes promote one version a -> b. Every entity in
// b has exactly one promotion record.
func (x *xp) promotions(from, to string) {
	t := x.t
	var argss [][]string
	for i := range writers {
		argss = append(argss, []string{"promote", "--domain", from, "--from", from, "--to", to, "--version", x.sha, "--actor", fmt.Sprintf("p%d", i)})
	}
	for _, p := range x.parallel(argss) {
		if p.code != 0 {
			t.Errorf("promotion: %v", p)
		}
	}
	ctx := context.Background()
	ents, err := registrar.List(ctx, x.st, project, to, "")
	if err != nil || len(ents) != 6 {
		t.Fatalf("entities promoted into %s: %d, %v", to, len(ents), err)
	}
	for _, st := range ents {
		recs, err := promote.ReadRecords(ctx, x.st, st.ID.Repo(), st.Manifest.Digest)
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
			t.Errorf("%s has %d promotion records, want 1", st.ID, n)
		}
	}
}

// activations: eight processes activate two versions of the launch plan
// at once. Exactly one is active, and the activation records form one
// chain: each names the version it replaced, the last is the active one.
func (x *xp) activations(domain string, versions []string) {
	t := x.t
	var argss [][]string
	for i := range writers {
		argss = append(argss, []string{"activate", "launchplan/nightly", "--domain", domain, "--version", versions[i%len(versions)], "--actor", fmt.Sprintf("p%d", i)})
	}
	for _, p := range x.parallel(argss) {
		if p.code != 0 {
			t.Errorf("activation: %v", p)
		}
	}
	ctx := context.Background()
	active, _, err := promote.ActiveVersion(ctx, x.st, project, domain, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	var acts []*promote.Record
	for _, v := range versions {
		id := registrar.ID{Project: project, Domain: domain, Kind: registrar.KindLaunchPlan, Name: "nightly", Version: v}
		st, err := registrar.Get(ctx, x.st, id)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := promote.ReadRecords(ctx, x.st, id.Repo(), st.Manifest.Digest)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Type == promote.RecordActivation {
				acts = append(acts, r)
			}
		}
	}
	sort.SliceStable(acts, func(i, j int) bool { return acts[i].Time.Before(acts[j].Time) })
	if len(acts) == 0 {
		t.Fatal("no activation records")
	}
	prev := ""
	for i, r := range acts {
		if r.Previous != prev {
			t.Errorf("activation %d (%s at %s) says it replaced %q; the chain says %q", i, r.Version, r.Time.Format(time.RFC3339Nano), r.Previous, prev)
		}
		prev = r.Version
	}
	if prev != active {
		t.Errorf("the last activation record is %s, the active tag says %s", prev, active)
	}
}

// stallingProxy forwards to the registry, except that a PUT of a manifest
// tagged tag in the project's repositories hangs until the client goes
// away: a writer caught mid-write, holding its locks.
func stallingProxy(t *testing.T, target, tag string) (host string, stalled *atomic.Int32) {
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	stalled = &atomic.Int32{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/"+project+"/") && strings.HasSuffix(r.URL.Path, "/manifests/"+tag) {
			stalled.Add(1)
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	})}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), stalled
}

// killed: a writer holding entity locks is killed with -9 while its version
// tags are being written. Seven writers of the same content then finish
// within about one lease, and nothing is half-written: every entity is
// complete, with one registration record, and history --verify passes.
func (x *xp) killed() {
	t := x.t
	const version, domain = "killed", "kill"
	proxy, stalled := stallingProxy(t, x.reg.Host, version)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	victim, _, verr := x.start(ctx, proxy+"/"+storePrefix, "register", "--repo", x.repoA, "--domain", domain, "--version", version)
	for stalled.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatalf("the victim never reached a version tag write; stderr: %s", verr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let it block on every task it holds
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.Wait()
	killedAt := time.Now()

	var argss [][]string
	for range writers - 1 {
		argss = append(argss, []string{"register", "--repo", x.repoA, "--domain", domain, "--version", version})
	}
	procs := x.parallel(argss)
	took := time.Since(killedAt)
	for _, p := range procs {
		if p.code != 0 {
			t.Errorf("after the kill: %v", p)
		}
	}
	t.Logf("the victim stalled on %d tag writes; the 7 writers after its kill -9 finished in %s (lease %s)", stalled.Load(), took.Round(time.Millisecond), lockTTL)
	if limit := lockTTL + 45*time.Second; took > limit {
		t.Errorf("writers after a killed holder took %s, more than the lease plus %s", took, limit-lockTTL)
	}
	ents, err := registrar.List(context.Background(), x.st, project, domain, "")
	if err != nil || len(ents) != 6 {
		t.Fatalf("entities after the kill: %d, %v", len(ents), err)
	}
	for _, st := range ents {
		descs, err := x.st.Referrers(context.Background(), st.ID.Repo(), st.Manifest.Digest, registrar.ArtifactTypeRegistration)
		if err != nil || len(descs) != 1 {
			t.Errorf("%s: %d registration records (%v), want 1", st.ID, len(descs), err)
		}
		p := x.parallel([][]string{{"history", string(st.ID.Kind) + "/" + st.ID.Name, "--verify", "--domain", domain}})[0]
		if p.code != 0 {
			t.Errorf("history --verify after the kill: %v", p)
		}
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
