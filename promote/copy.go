package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// CopyResult says what CopyManifest did.
type CopyResult struct {
	Descriptor v1.Descriptor
	// Copied is false when the target already had the manifest.
	Copied bool
}

// CopyManifest copies the manifest tagged tag in from to the same tag in
// to, by digest: every blob it names is mounted across repositories (never
// uploaded again), the manifest's raw bytes are put unchanged (never
// re-serialised), and the target digest is read back and compared with the
// source's. A target tag that already names the same digest is left alone;
// one that names another digest is a *ConflictError. Callers serialise
// copies to one target tag with Store.Lock.
func CopyManifest(ctx context.Context, s store.Store, from, to, tag string) (*CopyResult, error) {
	raw, desc, err := s.GetManifest(ctx, from, tag)
	if err != nil {
		return nil, fmt.Errorf("reading %s:%s: %w", from, tag, err)
	}
	if got := store.Digest(raw); got != desc.Digest {
		return nil, fmt.Errorf("reading %s:%s: bytes hash to %s, the store says %s: %w", from, tag, got, desc.Digest, store.ErrDigestMismatch)
	}
	existing, err := s.HeadManifest(ctx, to, tag)
	switch {
	case err == nil:
		if existing.Digest == desc.Digest {
			return &CopyResult{Descriptor: desc}, nil
		}
		return nil, &ConflictError{Source: desc.Digest, Existing: existing.Digest}
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("looking up %s:%s: %w", to, tag, err)
	}
	m, err := parseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("reading %s:%s: %w", from, tag, err)
	}
	blobs := append([]v1.Descriptor{m.Config}, m.Layers...)
	for _, b := range blobs {
		if err := s.MountBlob(ctx, from, to, b.Digest); err != nil {
			return nil, fmt.Errorf("mounting %s from %s into %s: %w", b.Digest, from, to, err)
		}
	}
	put, err := s.PutManifest(ctx, to, tag, string(desc.MediaType), raw)
	if err != nil {
		return nil, fmt.Errorf("writing %s:%s: %w", to, tag, err)
	}
	back, err := s.HeadManifest(ctx, to, tag)
	if err != nil {
		return nil, fmt.Errorf("reading back %s:%s: %w", to, tag, err)
	}
	if put.Digest != desc.Digest || back.Digest != desc.Digest {
		// Another writer moved the tag between our put and our read.
		return nil, &ConflictError{Source: desc.Digest, Existing: back.Digest}
	}
	return &CopyResult{Descriptor: desc, Copied: true}, nil
}

func parseManifest(raw []byte) (*store.Manifest, error) {
	var m store.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	if m.Config.Digest.Hex == "" {
		return nil, errors.New("manifest has no config")
	}
	return &m, nil
}

// promoteOne copies one entity and makes sure it has a promotion record
// from req.From, under the lock of its target identity.
func (p *Promoter) promoteOne(ctx context.Context, req *Request, ev *Evidence, st *registrar.Stored) (Result, error) {
	target := withDomain(st.ID, req.To)
	res := Result{ID: target, Manifest: st.Manifest.Digest, Entity: st.Digest}
	held, err := p.entityLock(ctx, target)
	if err != nil {
		return res, err
	}
	defer held.Release(context.WithoutCancel(ctx))
	ctx = held.Context()

	res, err = p.promoteLocked(ctx, req, ev, st, res)
	return res, lock.LostOr(ctx, err)
}

// promoteLocked is promoteOne under the entity lock.
func (p *Promoter) promoteLocked(ctx context.Context, req *Request, ev *Evidence, st *registrar.Stored, res Result) (Result, error) {
	target := res.ID
	cp, err := CopyManifest(ctx, p.store, st.ID.Repo(), target.Repo(), st.ID.Version)
	if err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) {
			ce.Target = target
			if got, gerr := registrar.Get(ctx, p.store, target); gerr == nil && got.Digest == st.Digest {
				ce.SameEntity = true
			}
		}
		return res, fmt.Errorf("promoting %s: %w", target, err)
	}
	if cp.Descriptor.Digest != st.Manifest.Digest {
		return res, fmt.Errorf("promoting %s: the source manifest changed while promoting (%s, then %s)", target, st.Manifest.Digest, cp.Descriptor.Digest)
	}
	res.Status = StatusPromoted
	// The signed provenance travels with the entity, so the target
	// domain's verifiers (exec-task, the next promotion, cosign) find it.
	if _, err := provenance.Copy(ctx, p.store, st.ID.Repo(), target.Repo(), cp.Descriptor.Digest); err != nil {
		return res, fmt.Errorf("promoting %s: %w", target, err)
	}
	recs, err := ReadRecords(ctx, p.store, target.Repo(), cp.Descriptor.Digest)
	if err != nil {
		return res, err
	}
	for _, r := range filterRecords(recs, RecordPromotion) {
		if r.From == req.From && r.Version == req.Version {
			if !cp.Copied {
				res.Status = StatusUnchanged
				res.Record = r.Digest
				return res, nil
			}
		}
	}
	if !cp.Copied {
		res.Status = StatusCompleted
	}
	rec := &Record{
		Type: RecordPromotion, Project: req.Project, Kind: string(st.ID.Kind), Name: st.ID.Name, Version: req.Version,
		Domain: req.To, From: req.From, Actor: req.Actor.Login, Time: p.now().UTC(), PR: req.PR, Commit: commitOf(req.Version),
		Manifest: cp.Descriptor.Digest.String(), Entity: st.Digest.String(), Evidence: evidenceFor(ev, st.ID),
		Reason: req.Reason, RunwayVersion: p.version,
	}
	if newer, err := p.newerVersion(ctx, target, st); err != nil {
		return res, err
	} else if newer != "" {
		rec.Rollback, rec.Replaces = true, newer
		res.Rollback = true
	}
	w, err := writeRecord(ctx, p.store, target.Repo(), cp.Descriptor, rec)
	if err != nil {
		return res, fmt.Errorf("promoting %s: copied and verified, but %w", target, err)
	}
	res.Record = w.Digest
	p.log.Info("promoted", "entity", target.String(), "manifest", cp.Descriptor.Digest.String(), "status", string(res.Status))
	return res, nil
}

// evidenceFor narrows the promotion's evidence to what concerns one entity.
func evidenceFor(ev *Evidence, id registrar.ID) *Evidence {
	if ev == nil {
		return nil
	}
	out := *ev
	out.Executions = nil
	label := fmt.Sprintf("%s/%s@%s", id.Kind, id.Name, id.Version)
	for _, e := range ev.Executions {
		if e.Entity == label {
			out.Executions = append(out.Executions, e)
		}
	}
	return &out
}

// commitOf returns the git commit a version names ("" for other versions).
func commitOf(version string) string {
	c := version
	if len(c) > 40 {
		c = c[:40]
	}
	if len(c) != 40 {
		return ""
	}
	for _, r := range c {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return ""
		}
	}
	return c
}

// newerVersion returns the newest version of the entity already in the
// target domain when it was registered after st (this promotion is then a
// rollback), else "".
func (p *Promoter) newerVersion(ctx context.Context, target registrar.ID, st *registrar.Stored) (string, error) {
	vs, err := registrar.Versions(ctx, p.store, target)
	if err != nil {
		return "", fmt.Errorf("listing versions of %s/%s in %s: %w", target.Kind, target.Name, target.Domain, err)
	}
	mine, err := p.registrationTime(ctx, target.Repo(), st.ID.Version)
	if err != nil {
		return "", err
	}
	newest, newestAt := "", mine
	for _, v := range vs {
		if v == st.ID.Version {
			continue
		}
		c, err := p.registrationTime(ctx, target.Repo(), v)
		if err != nil {
			return "", err
		}
		if c.After(newestAt) {
			newest, newestAt = v, c
		}
	}
	return newest, nil
}

// registrationTime is when version ref of the entity in repo was
// registered: the registration record in whichever domain it was registered
// into (promotion copies the manifest by digest, so the record's subject is
// the same manifest), else the manifest's created time (entities registered
// before registration records existed carried the registration time there).
func (p *Promoter) registrationTime(ctx context.Context, repo, ref string) (time.Time, error) {
	m, desc, err := store.GetArtifact(ctx, p.store, repo, ref)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading %s:%s: %w", repo, ref, err)
	}
	if parts := strings.Split(repo, "/"); len(parts) == 4 {
		for _, d := range p.plat.DomainNames() {
			t, ok, err := registrar.RegisteredAt(ctx, p.store, store.EntityRepo(parts[0], d, parts[2], parts[3]), desc.Digest)
			if err != nil {
				return time.Time{}, err
			}
			if ok {
				return t, nil
			}
		}
	}
	t, _ := time.Parse(time.RFC3339Nano, m.Annotations[store.AnnotationCreated])
	return t, nil
}
