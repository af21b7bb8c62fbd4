package executor

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// Status of an execution or a node.
type Status string

// Statuses. Skipped is only for nodes (not run because an upstream node
// failed or the execution stopped early).
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusAborted   Status = "aborted"
	StatusSkipped   Status = "skipped"
)

// Done reports whether s is final.
func (s Status) Done() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusAborted || s == StatusSkipped
}

// CacheStatus of a node.
type CacheStatus string

// Cache statuses.
const (
	CacheHit      CacheStatus = "hit"
	CacheMiss     CacheStatus = "miss"
	CacheDisabled CacheStatus = "disabled"
)

// Execution is the record of one run of a task, workflow or launch plan,
// stored at store.ExecutionRepo(project, domain):<id>.
type Execution struct {
	ID      string `json:"id"`
	Project string `json:"project"`
	Domain  string `json:"domain"`
	// Target is what was launched, with its version resolved.
	Target registrar.ID `json:"target"`
	// Workflow is the workflow that ran (the launch plan's workflow, or
	// the target itself); empty for a single task.
	Workflow       *registrar.Ref `json:"workflow,omitempty"`
	Status         Status         `json:"status"`
	Inputs         Values         `json:"inputs"`
	Outputs        Values         `json:"outputs,omitempty"`
	Nodes          []*NodeRecord  `json:"nodes"`
	Error          string         `json:"error,omitempty"`
	OverwriteCache bool           `json:"overwriteCache,omitempty"`
	Parallelism    int            `json:"parallelism"`
	RecoveredFrom  string         `json:"recoveredFrom,omitempty"`
	Created        time.Time      `json:"created"`
	Started        *time.Time     `json:"started,omitempty"`
	Finished       *time.Time     `json:"finished,omitempty"`
	Owner          Owner          `json:"owner"`

	// plan is the resolved target when this value came from Launch, so
	// that Execute does not read the entities again.
	plan *plan
}

// Owner is the process that runs an execution; recover uses it to tell a
// crashed execution from a live one.
type Owner struct {
	Host string `json:"host"`
	PID  int    `json:"pid"`
}

// Alive reports whether the owner process still runs. An owner on another
// host is assumed alive.
func (o Owner) Alive() bool {
	host, _ := os.Hostname()
	if o.Host != host || o.PID <= 0 {
		return o.Host != host
	}
	err := syscall.Kill(o.PID, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Duration of the execution so far (or in total once finished).
func (e *Execution) Duration(now time.Time) time.Duration {
	return span(e.Started, e.Finished, now)
}

// Node returns the record of a node.
func (e *Execution) Node(id string) *NodeRecord {
	for _, n := range e.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// NodeRecord is the lineage of one node in an execution.
type NodeRecord struct {
	ID       string        `json:"id"`
	Task     registrar.Ref `json:"task"`
	Upstream []string      `json:"upstream,omitempty"`
	Status   Status        `json:"status"`
	Cache    CacheStatus   `json:"cache"`
	CacheKey string        `json:"cacheKey,omitempty"`
	Attempts int           `json:"attempts"`
	Inputs   Values        `json:"inputs,omitempty"`
	Outputs  Values        `json:"outputs,omitempty"`
	Started  *time.Time    `json:"started,omitempty"`
	Finished *time.Time    `json:"finished,omitempty"`
	// Failure is the last failed attempt's classified error.
	Failure *TaskError `json:"failure,omitempty"`
	// RecoveredFrom names the execution whose outputs this node reused.
	RecoveredFrom string `json:"recoveredFrom,omitempty"`
	// Checkpoint is the checkpoint every attempt of the node continues
	// ($RUNWAY_CHECKPOINT): "<execution>/<node>" of the execution that first
	// ran it, so a recovery hands the failed attempt's last checkpoint to
	// the new attempt. Empty means this execution's own.
	Checkpoint string `json:"checkpoint,omitempty"`
	// AttemptLog is every attempt of the node, in order: when it ran and
	// why it failed (records written before it existed have none). A cache
	// hit has no attempt.
	AttemptLog []AttemptRecord `json:"attemptLog,omitempty"`
}

// AttemptRecord is one attempt of a node.
type AttemptRecord struct {
	Number   int        `json:"number"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	// Failure is the attempt's classified error; nil if it succeeded or
	// still runs.
	Failure *TaskError `json:"failure,omitempty"`
	// Usage is what the task command used, when the runner measured it.
	Usage *Usage `json:"usage,omitempty"`
}

// endAttempt returns log with its last attempt, if still open, ended at
// end with failure te and usage u (a failure's own usage when u is nil).
// The slice is copied: snapshots share node records' slices, which are
// replaced, never changed in place.
func endAttempt(log []AttemptRecord, end time.Time, te *TaskError, u *Usage) []AttemptRecord {
	if len(log) == 0 || log[len(log)-1].Finished != nil {
		return log
	}
	out := slices.Clone(log)
	last := &out[len(out)-1]
	last.Finished, last.Failure, last.Usage = &end, te, u
	if u == nil && te != nil {
		last.Usage = te.Usage
	}
	return out
}

// Duration of the node so far (or in total once finished).
func (n *NodeRecord) Duration(now time.Time) time.Duration {
	return span(n.Started, n.Finished, now)
}

func span(start, end *time.Time, now time.Time) time.Duration {
	if start == nil {
		return 0
	}
	if end != nil {
		return end.Sub(*start)
	}
	return now.Sub(*start)
}

// MediaTypeExecution is the media type of an execution record layer and the
// artifactType of its manifest.
const MediaTypeExecution = "application/vnd.runway.execution.v1+json"

// maxRecordSize bounds what Get reads for one record.
const maxRecordSize = 16 << 20

// ErrInvalidID is returned for a malformed execution ID.
var ErrInvalidID = errors.New("invalid execution id")

// saveExecution writes the record as an artifact tagged with its ID. The
// blobs of every file and dir value it names are listed as layers, so that
// the record keeps them alive in a registry that garbage-collects.
func saveExecution(ctx context.Context, s store.Store, e *Execution) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding execution %s: %w", e.ID, err)
	}
	repo := store.ExecutionRepo(e.Project, e.Domain)
	refs := blobRefs(e.Inputs, e.Outputs)
	for _, n := range e.Nodes {
		refs = append(refs, blobRefs(n.Inputs, n.Outputs)...)
	}
	return putManifestWithRefs(ctx, s, repo, e.ID, MediaTypeExecution, b, refs, nil)
}

// putManifestWithRefs writes data as the first layer and refs (blobs that
// already exist in repo) as further layers, manifest last.
func putManifestWithRefs(ctx context.Context, s store.Store, repo, tag, mediaType string, data []byte, refs []v1.Descriptor, ann map[string]string) error {
	if err := store.PutBlobBytes(ctx, s, repo, store.EmptyJSON); err != nil {
		return err
	}
	if err := store.PutBlobBytes(ctx, s, repo, data); err != nil {
		return err
	}
	m := store.Manifest{
		SchemaVersion: 2,
		MediaType:     store.MediaTypeOCIManifest,
		ArtifactType:  mediaType,
		Config: v1.Descriptor{
			MediaType: types.MediaType(store.MediaTypeEmptyJSON),
			Size:      int64(len(store.EmptyJSON)),
			Digest:    store.Digest(store.EmptyJSON),
		},
		Layers:      []v1.Descriptor{{MediaType: types.MediaType(mediaType), Size: int64(len(data)), Digest: store.Digest(data)}},
		Annotations: ann,
	}
	m.Layers = append(m.Layers, refs...)
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("rendering manifest for %s:%s: %w", repo, tag, err)
	}
	if _, err := s.PutManifest(ctx, repo, tag, store.MediaTypeOCIManifest, raw); err != nil {
		return fmt.Errorf("writing %s:%s: %w", repo, tag, err)
	}
	return nil
}

// MediaTypeValueBlob is the layer media type under which file and dir
// value blobs are referenced from records and cache entries.
const MediaTypeValueBlob = "application/vnd.runway.value.v1"

func blobRefs(vs ...Values) []v1.Descriptor {
	seen := map[string]bool{}
	var out []v1.Descriptor
	for _, m := range vs {
		for _, k := range sortedKeys(m) {
			v := m[k]
			if !v.Type.IsBlob() || seen[v.Digest] {
				continue
			}
			seen[v.Digest] = true
			h, err := v1.NewHash(v.Digest)
			if err != nil {
				continue
			}
			out = append(out, v1.Descriptor{MediaType: MediaTypeValueBlob, Size: v.Size, Digest: h})
		}
	}
	return out
}

// readLayer reads the first layer of an artifact of the given type.
func readLayer(ctx context.Context, s store.Store, repo, ref, artifactType string, max int64) ([]byte, error) {
	m, desc, err := store.GetArtifact(ctx, s, repo, ref)
	if err != nil {
		return nil, err
	}
	if m.ArtifactType != artifactType || len(m.Layers) == 0 {
		return nil, fmt.Errorf("manifest %s of %s:%s is not a %s", desc.Digest, repo, ref, artifactType)
	}
	return store.ReadBlob(ctx, s, repo, m.Layers[0].Digest, max)
}

// Get reads an execution record.
func Get(ctx context.Context, s store.Store, project, domain, id string) (*Execution, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	b, err := readLayer(ctx, s, store.ExecutionRepo(project, domain), id, MediaTypeExecution, maxRecordSize)
	if err != nil {
		return nil, fmt.Errorf("reading execution %s in %s/%s: %w", id, project, domain, err)
	}
	e := &Execution{}
	if err := json.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("decoding execution %s: %w", id, err)
	}
	return e, nil
}

// ListOptions narrow List.
type ListOptions struct {
	// Limit keeps the newest Limit executions (0: all).
	Limit int
}

// List returns the executions of a project's domain, newest first.
func List(ctx context.Context, s store.Store, project, domain string, o ListOptions) ([]*Execution, error) {
	tags, err := s.Tags(ctx, store.ExecutionRepo(project, domain))
	if err != nil {
		return nil, fmt.Errorf("listing executions of %s/%s: %w", project, domain, err)
	}
	var ids []string
	for _, t := range tags {
		if ValidateID(t) == nil {
			ids = append(ids, t)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	if o.Limit > 0 && len(ids) > o.Limit {
		ids = ids[:o.Limit]
	}
	out := make([]*Execution, 0, len(ids))
	for _, id := range ids {
		e, err := Get(ctx, s, project, domain, id)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// idAlphabet is in ascending ASCII order, so IDs sort like their times.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns a short execution ID that sorts by creation time: ten
// base-32 digits of the Unix time in milliseconds followed by four random
// ones (20 bits), for example "01jdk3m9x2q7fz".
func NewID(now time.Time) string {
	var b [14]byte
	ms := uint64(now.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = idAlphabet[ms&31]
		ms >>= 5
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	for i := range 4 {
		b[10+i] = idAlphabet[r[i]&31]
	}
	return string(b[:])
}

// ValidateID checks the shape of an execution ID.
func ValidateID(id string) error {
	if len(id) != 14 || strings.Trim(id, idAlphabet) != "" {
		return fmt.Errorf("%q: want 14 characters of %s: %w", id, idAlphabet, ErrInvalidID)
	}
	return nil
}
