package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/store"
)

// The plan decision of a version is kept in the store, so that the trail
// of a version (the web view's "how did this SHA get here") can show why
// its image was or was not rebuilt. The record is written once per version,
// by the first registration that planned it, at store.PlanRepo:<version>;
// later registrations of the same version (another base, a retry) keep
// the first. Its JSON is the manifest's store.AnnotationPlanRecord and its
// only layer the empty blob, so writing it uploads no blob bytes (a "none"
// change still uploads nothing but its entities). Nothing else reads it:
// losing it loses only that line of the trail, so failing to write it is
// a warning, not a failed registration.

// ArtifactTypePlanRecord is the artifactType of a plan record.
const ArtifactTypePlanRecord = "application/vnd.runway.plan.v1+json"

// maxPlanReasons bounds the reasons a record keeps; the rest are counted.
const maxPlanReasons = 50

// PlanRecord is what the plan decided for one version.
type PlanRecord struct {
	Project  string        `json:"project"`
	Version  string        `json:"version"`
	Decision plan.Decision `json:"decision"`
	Reasons  []plan.Reason `json:"reasons"`
	// MoreReasons counts the reasons left out after maxPlanReasons.
	MoreReasons   int    `json:"moreReasons,omitempty"`
	Changed       int    `json:"changed"` // paths in the three-dot diff
	Base          string `json:"base"`
	Head          string `json:"head"`
	MergeBase     string `json:"mergeBase"`
	ImageHash     string `json:"imageHash,omitempty"`
	RunwayVersion string `json:"runwayVersion,omitempty"`
}

// newPlanRecord holds no time: the same plan gives the same record bytes,
// whoever registers (the CLI and the Action leave identical stores).
func newPlanRecord(r *plan.Result, version, runwayVersion string) *PlanRecord {
	rec := &PlanRecord{Project: r.Project, Version: version, Decision: r.Decision, Reasons: r.Reasons, Changed: len(r.Changed),
		Base: r.Base, Head: r.Head, MergeBase: r.MergeBase, ImageHash: r.Image.Hash, RunwayVersion: runwayVersion}
	if len(rec.Reasons) > maxPlanReasons {
		rec.MoreReasons = len(rec.Reasons) - maxPlanReasons
		rec.Reasons = rec.Reasons[:maxPlanReasons]
	}
	if rec.Reasons == nil {
		rec.Reasons = []plan.Reason{}
	}
	return rec
}

// writePlanRecord stores rec unless the version has one already.
func writePlanRecord(ctx context.Context, s store.Store, rec *PlanRecord) error {
	repo := store.PlanRepo(rec.Project)
	if _, err := s.HeadManifest(ctx, repo, rec.Version); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("checking the plan record of %s@%s: %w", rec.Project, rec.Version, err)
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = store.PutArtifact(ctx, s, repo, rec.Version, store.Artifact{
		ArtifactType: ArtifactTypePlanRecord,
		Layers:       []store.Blob{{MediaType: store.MediaTypeEmptyJSON, Data: store.EmptyJSON}},
		Annotations:  map[string]string{store.AnnotationPlanRecord: string(body)},
	})
	if err != nil {
		return fmt.Errorf("writing the plan record of %s@%s: %w", rec.Project, rec.Version, err)
	}
	return nil
}

// ReadPlanRecord returns the plan decision recorded for a version; the
// error wraps store.ErrNotFound when none was (a version registered with
// --version outside git, or before records existed).
func ReadPlanRecord(ctx context.Context, s store.Store, project, version string) (*PlanRecord, error) {
	repo := store.PlanRepo(project)
	m, _, err := store.GetArtifact(ctx, s, repo, version)
	if err != nil {
		return nil, fmt.Errorf("reading the plan record of %s@%s: %w", project, version, err)
	}
	body, ok := m.Annotations[store.AnnotationPlanRecord]
	if m.ArtifactType != ArtifactTypePlanRecord || !ok {
		return nil, fmt.Errorf("%s:%s is not a plan record", repo, version)
	}
	rec := &PlanRecord{}
	if err := json.Unmarshal([]byte(body), rec); err != nil {
		return nil, fmt.Errorf("decoding the plan record of %s@%s: %w", project, version, err)
	}
	return rec, nil
}
