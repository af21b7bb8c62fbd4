package promote

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// ScheduleSync is told about launch plan activations, so that an executor
// with its own scheduler (Kubernetes CronJobs, see CronJobs) follows the
// active tag. Sync is called with the launch plan that became active, also
// when it has no schedule (the implementation removes what it had); Remove
// when a launch plan is deactivated. Both must be idempotent.
type ScheduleSync interface {
	Sync(ctx context.Context, domain string, lp *registrar.Stored) error
	Remove(ctx context.Context, project, domain, name string) error
}

// Activation statuses.
const (
	ActivationActivated   = "activated"
	ActivationUnchanged   = "unchanged"
	ActivationDeactivated = "deactivated"
)

// ActivationResult says what an activation or deactivation did.
type ActivationResult struct {
	ID       registrar.ID `json:"id"`
	Status   string       `json:"status"`
	Previous string       `json:"previous,omitempty"`
	Rollback bool         `json:"rollback,omitempty"`
	Schedule string       `json:"schedule,omitempty"`
	Records  []string     `json:"records,omitempty"`
}

type activation struct {
	actor, from, reason string
	pr                  *PR
}

// ActiveVersion returns the active version of a launch plan in a domain and
// the manifest the active tag points at; ErrNotActive when there is none.
func ActiveVersion(ctx context.Context, s store.Store, project, domain, name string) (string, v1.Descriptor, error) {
	repo := store.EntityRepo(project, domain, string(registrar.KindLaunchPlan), name)
	m, desc, err := store.GetArtifact(ctx, s, repo, store.ActiveTag)
	if errors.Is(err, store.ErrNotFound) {
		return "", v1.Descriptor{}, fmt.Errorf("launch plan %s in %s/%s: %w", name, project, domain, ErrNotActive)
	}
	if err != nil {
		return "", v1.Descriptor{}, fmt.Errorf("reading the active version of launch plan %s in %s/%s: %w", name, project, domain, err)
	}
	v := m.Annotations[store.AnnotationVersion]
	if v == "" {
		return "", v1.Descriptor{}, fmt.Errorf("the active tag of launch plan %s in %s/%s points at %s, which is not a runway entity", name, project, domain, desc.Digest)
	}
	return v, desc, nil
}

// Activate makes version id.Version of launch plan id.Name the active one in
// id.Domain (it must be registered or promoted there) and records it; the
// previously active version is recorded as deactivated. Activating an
// older version than the active one is recorded as a rollback.
func (p *Promoter) Activate(ctx context.Context, id registrar.ID, actor, reason string) (*ActivationResult, error) {
	id.Kind = registrar.KindLaunchPlan
	return p.activate(ctx, id, activation{actor: actor, reason: reason})
}

func (p *Promoter) activate(ctx context.Context, id registrar.ID, a activation) (*ActivationResult, error) {
	res := &ActivationResult{ID: id}
	st, err := registrar.Get(ctx, p.store, id)
	if err != nil {
		return nil, fmt.Errorf("activating %s: %w", id, err)
	}
	if st.Entity.LaunchPlan != nil {
		res.Schedule = st.Entity.LaunchPlan.Schedule
	}
	// One lock per launch plan and domain: concurrent activations of
	// different versions queue here, so exactly one ends active and each
	// activation record names the one it replaced.
	held, err := p.entityLock(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("activating %s: %w", id, err)
	}
	defer held.Release(context.WithoutCancel(ctx))
	ctx = held.Context()
	repo := id.Repo()

	cur, curDesc, err := ActiveVersion(ctx, p.store, id.Project, id.Domain, id.Name)
	if err != nil && !errors.Is(err, ErrNotActive) {
		return nil, err
	}
	acts, err := p.activationRecords(ctx, repo, st.Manifest.Digest)
	if err != nil {
		return nil, err
	}
	if cur == id.Version && curDesc.Digest == st.Manifest.Digest {
		res.Status = ActivationUnchanged
		if len(acts) == 0 {
			// The tag moved but the run that moved it wrote no record.
			w, err := writeRecord(ctx, p.store, repo, st.Manifest, p.activationRecord(st, a, "", false))
			if err != nil {
				return res, fmt.Errorf("activating %s: %w", id, err)
			}
			res.Records = append(res.Records, w.Digest)
		}
		return res, p.sync(ctx, id.Domain, st)
	}
	res.Previous = cur
	if cur != "" {
		older, err := p.olderThan(ctx, repo, id.Version, cur)
		if err != nil {
			return nil, err
		}
		res.Rollback = older
	}
	// Records first, then the tag: a run that dies between the two leaves a
	// record whose tag move is pending; the next run reuses that record
	// instead of writing a second one.
	if last := lastRecord(acts); last != nil && last.Previous == cur && !p.activatedSince(ctx, repo, curDesc, cur, last) {
		res.Records = append(res.Records, last.Digest)
	} else {
		w, err := writeRecord(ctx, p.store, repo, st.Manifest, p.activationRecord(st, a, cur, res.Rollback))
		if err != nil {
			return res, fmt.Errorf("activating %s: %w", id, err)
		}
		res.Records = append(res.Records, w.Digest)
	}
	raw, desc, err := p.store.GetManifest(ctx, repo, st.Manifest.Digest.String())
	if err != nil {
		return res, fmt.Errorf("activating %s: %w", id, err)
	}
	if _, err := p.store.PutManifest(ctx, repo, store.ActiveTag, string(desc.MediaType), raw); err != nil {
		return res, fmt.Errorf("activating %s: moving the active tag: %w", id, err)
	}
	back, err := p.store.HeadManifest(ctx, repo, store.ActiveTag)
	if err != nil {
		return res, fmt.Errorf("activating %s: reading back the active tag: %w", id, err)
	}
	if back.Digest != st.Manifest.Digest {
		return res, fmt.Errorf("activating %s: the active tag points at %s after the move, not %s (another process wrote it; Store.Lock of a registry is in-process only)", id, back.Digest, st.Manifest.Digest)
	}
	res.Status = ActivationActivated
	if cur != "" {
		d := &Record{Type: RecordDeactivation, Project: id.Project, Kind: string(id.Kind), Name: id.Name, Version: cur, Domain: id.Domain,
			Actor: a.actor, Time: p.now().UTC(), PR: a.pr, Commit: commitOf(cur), Manifest: curDesc.Digest.String(), Next: id.Version,
			Reason: "replaced by " + id.Version, RunwayVersion: p.version}
		w, err := writeRecord(ctx, p.store, repo, curDesc, d)
		if err != nil {
			return res, fmt.Errorf("activating %s: recording %s as deactivated: %w", id, cur, err)
		}
		res.Records = append(res.Records, w.Digest)
	}
	p.log.Info("activated", "launchplan", id.String(), "previous", cur, "rollback", res.Rollback)
	return res, p.sync(ctx, id.Domain, st)
}

func (p *Promoter) activationRecord(st *registrar.Stored, a activation, previous string, rollback bool) *Record {
	r := &Record{Type: RecordActivation, Project: st.ID.Project, Kind: string(st.ID.Kind), Name: st.ID.Name, Version: st.ID.Version,
		Domain: st.ID.Domain, From: a.from, Actor: a.actor, Time: p.now().UTC(), PR: a.pr, Commit: commitOf(st.ID.Version),
		Manifest: st.Manifest.Digest.String(), Entity: st.Digest.String(), Previous: previous, Reason: a.reason, RunwayVersion: p.version}
	if rollback {
		r.Rollback, r.Replaces = true, previous
	}
	return r
}

func (p *Promoter) sync(ctx context.Context, domain string, st *registrar.Stored) error {
	if p.schedules == nil {
		return nil
	}
	if err := p.schedules.Sync(ctx, domain, st); err != nil {
		return fmt.Errorf("activated %s, but updating its schedule failed (activating again retries it): %w", st.ID, err)
	}
	return nil
}

func (p *Promoter) activationRecords(ctx context.Context, repo string, d v1.Hash) ([]*Record, error) {
	recs, err := ReadRecords(ctx, p.store, repo, d)
	if err != nil {
		return nil, err
	}
	return filterRecords(recs, RecordActivation), nil
}

// activatedSince reports whether cur was activated after the record r (so
// r, which names cur as previous, is stale).
func (p *Promoter) activatedSince(ctx context.Context, repo string, curDesc v1.Descriptor, cur string, r *Record) bool {
	if cur == "" {
		return false
	}
	acts, err := p.activationRecords(ctx, repo, curDesc.Digest)
	if err != nil {
		return true // when in doubt, write a fresh record
	}
	last := lastRecord(acts)
	return last != nil && last.Time.After(r.Time)
}

func lastRecord(rs []*Record) *Record {
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}

// olderThan reports whether version v was registered before version w.
func (p *Promoter) olderThan(ctx context.Context, repo, v, w string) (bool, error) {
	cv, err := p.registrationTime(ctx, repo, v)
	if err != nil {
		return false, err
	}
	cw, err := p.registrationTime(ctx, repo, w)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return cv.Before(cw), nil
}

// Deactivate removes the active tag of a launch plan in a domain and
// records the version that was active as deactivated. A launch plan that is
// not active is left alone (status unchanged).
func (p *Promoter) Deactivate(ctx context.Context, project, domain, name, actor, reason string) (*ActivationResult, error) {
	id := registrar.ID{Project: project, Domain: domain, Kind: registrar.KindLaunchPlan, Name: name}
	res := &ActivationResult{ID: id}
	held, err := p.entityLock(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("deactivating %s: %w", id, err)
	}
	defer held.Release(context.WithoutCancel(ctx))
	ctx = held.Context()
	cur, curDesc, err := ActiveVersion(ctx, p.store, project, domain, name)
	if errors.Is(err, ErrNotActive) {
		res.Status = ActivationUnchanged
		if p.schedules != nil {
			if err := p.schedules.Remove(ctx, project, domain, name); err != nil {
				return res, fmt.Errorf("removing the schedule of %s: %w", id, err)
			}
		}
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	res.ID.Version, res.Previous = cur, cur
	if reason == "" {
		reason = "deactivated by hand"
	}
	d := &Record{Type: RecordDeactivation, Project: project, Kind: string(id.Kind), Name: name, Version: cur, Domain: domain,
		Actor: actor, Time: p.now().UTC(), Commit: commitOf(cur), Manifest: curDesc.Digest.String(), Reason: reason, RunwayVersion: p.version}
	w, err := writeRecord(ctx, p.store, id.Repo(), curDesc, d)
	if err != nil {
		return res, fmt.Errorf("deactivating %s: %w", id, err)
	}
	res.Records = append(res.Records, w.Digest)
	if err := p.store.DeleteTag(ctx, id.Repo(), store.ActiveTag); err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, fmt.Errorf("deactivating %s: removing the active tag: %w", id, err)
	}
	res.Status = ActivationDeactivated
	if p.schedules != nil {
		if err := p.schedules.Remove(ctx, project, domain, name); err != nil {
			return res, fmt.Errorf("deactivated %s, but removing its schedule failed (deactivating again retries it): %w", id, err)
		}
	}
	p.log.Info("deactivated", "launchplan", id.String(), "version", cur)
	return res, nil
}
