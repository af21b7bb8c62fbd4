package promote

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// ArtifactTypeRecord is the artifactType of every record runway attaches to
// an entity (promotion, activation, deactivation).
const ArtifactTypeRecord = "application/vnd.runway.record.v1+json"

// A record's canonical JSON is the manifest annotation
// store.AnnotationRecord: the record lives in the manifest itself (see the
// package doc), so writing one uploads no blob bytes.

// RecordType says what a record records.
type RecordType string

// Record types.
const (
	RecordPromotion    RecordType = "promotion"
	RecordActivation   RecordType = "activation"
	RecordDeactivation RecordType = "deactivation"
)

// PR is the pull request a promotion came from, when known.
type PR struct {
	Number   int    `json:"number,omitempty"`
	URL      string `json:"url,omitempty"`
	Author   string `json:"author,omitempty"`
	HeadSHA  string `json:"headSHA,omitempty"`
	MergeSHA string `json:"mergeSHA,omitempty"`
}

// Check is a named check and its conclusion ("success", "failure", ...).
type Check struct {
	Name       string `json:"name"`
	Conclusion string `json:"conclusion"`
}

// ExecutionEvidence names a succeeded execution that ran an entity.
type ExecutionEvidence struct {
	Entity    string    `json:"entity"` // kind/name@version it vouches for
	Domain    string    `json:"domain"`
	ID        string    `json:"id"`
	Target    string    `json:"target"` // what the execution launched
	Status    string    `json:"status"`
	Finished  time.Time `json:"finished,omitzero"`
	Reference string    `json:"reference"` // store reference of the record
}

// Evidence is what the policy looked at.
type Evidence struct {
	Executions []ExecutionEvidence `json:"executions,omitempty"`
	Checks     []Check             `json:"checks,omitempty"`
	Approvals  []string            `json:"approvals,omitempty"`
	// Rules lists the policy rules that were checked and passed.
	Rules []string `json:"rules,omitempty"`
}

// Record is one entry of an entity's audit trail, stored as an OCI referrer
// of the entity manifest it is about, in the domain it happened in.
type Record struct {
	Type    RecordType `json:"type"`
	Project string     `json:"project"`
	Kind    string     `json:"kind"`
	Name    string     `json:"name"`
	Version string     `json:"version"`
	// Domain is where the record lives (the promotion's target).
	Domain string    `json:"domain"`
	From   string    `json:"from,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	Time   time.Time `json:"time"`
	PR     *PR       `json:"pr,omitempty"`
	Commit string    `json:"commit,omitempty"`
	// Manifest is the digest of the entity manifest the record is about
	// (its subject); Entity is the entity's content digest.
	Manifest string    `json:"manifest"`
	Entity   string    `json:"entity,omitempty"`
	Evidence *Evidence `json:"evidence,omitempty"`
	// Rollback marks a promotion or activation of a version older than the
	// one it replaced (Replaces).
	Rollback bool   `json:"rollback,omitempty"`
	Replaces string `json:"replaces,omitempty"`
	// Previous is, on an activation, the version that was active before.
	Previous string `json:"previous,omitempty"`
	// Next is, on a deactivation, the version activated in its place
	// ("" when deactivated by hand).
	Next   string `json:"next,omitempty"`
	Reason string `json:"reason,omitempty"`
	// RunwayVersion is the version of the runway that wrote the record.
	RunwayVersion string `json:"runwayVersion,omitempty"`

	// Digest is the record manifest's digest (set when read or written).
	Digest string `json:"digest,omitempty"`
}

// writeRecord stores r as a referrer of subject in repo. The record's
// manifest names the empty config and one empty layer, both the OCI empty
// descriptor: the "{}" blob is already in every entity repository (entity
// manifests use it as config), so the write uploads no blob bytes.
func writeRecord(ctx context.Context, s store.Store, repo string, subject v1.Descriptor, r *Record) (*Record, error) {
	r.Digest = ""
	body, err := registrar.Canonical(r)
	if err != nil {
		return nil, fmt.Errorf("rendering %s record: %w", r.Type, err)
	}
	if err := store.PutBlobBytes(ctx, s, repo, store.EmptyJSON); err != nil {
		return nil, fmt.Errorf("writing %s record in %s: %w", r.Type, repo, err)
	}
	empty := v1.Descriptor{MediaType: types.MediaType(store.MediaTypeEmptyJSON), Size: int64(len(store.EmptyJSON)), Digest: store.Digest(store.EmptyJSON)}
	sub := v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	m := store.Manifest{
		SchemaVersion: 2,
		MediaType:     store.MediaTypeOCIManifest,
		ArtifactType:  ArtifactTypeRecord,
		Config:        empty,
		Layers:        []v1.Descriptor{empty},
		Subject:       &sub,
		Annotations: map[string]string{
			store.AnnotationCreated:    r.Time.UTC().Format(time.RFC3339Nano),
			store.AnnotationRecordType: string(r.Type),
			store.AnnotationRecord:     string(body),
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	desc, err := s.PutManifest(ctx, repo, "", store.MediaTypeOCIManifest, raw)
	if err != nil {
		return nil, fmt.Errorf("writing %s record for %s@%s in %s: %w", r.Type, r.Name, r.Version, repo, err)
	}
	out := *r
	out.Digest = desc.Digest.String()
	return &out, nil
}

// ReadRecords returns the records attached to the manifest subject in repo,
// oldest first. Manifests that are not runway records are ignored.
func ReadRecords(ctx context.Context, s store.Store, repo string, subject v1.Hash) ([]*Record, error) {
	descs, err := s.Referrers(ctx, repo, subject, ArtifactTypeRecord)
	if err != nil {
		return nil, fmt.Errorf("listing records of %s@%s: %w", repo, subject, err)
	}
	var out []*Record
	for _, d := range descs {
		m, _, err := store.GetArtifact(ctx, s, repo, d.Digest.String())
		if err != nil {
			return nil, fmt.Errorf("reading record %s in %s: %w", d.Digest, repo, err)
		}
		body, ok := m.Annotations[store.AnnotationRecord]
		if !ok || m.ArtifactType != ArtifactTypeRecord {
			continue
		}
		r := &Record{}
		if err := json.Unmarshal([]byte(body), r); err != nil {
			return nil, fmt.Errorf("parsing record %s in %s: %w", d.Digest, repo, err)
		}
		if m.Subject == nil || m.Subject.Digest != subject {
			continue
		}
		r.Digest = d.Digest.String()
		out = append(out, r)
	}
	sortRecords(out)
	return out, nil
}

func sortRecords(rs []*Record) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].Time.Equal(rs[j].Time) {
			return rs[i].Time.Before(rs[j].Time)
		}
		return rs[i].Digest < rs[j].Digest
	})
}

// filterRecords keeps the records of type t.
func filterRecords(rs []*Record, t RecordType) []*Record {
	var out []*Record
	for _, r := range rs {
		if r.Type == t {
			out = append(out, r)
		}
	}
	return out
}
