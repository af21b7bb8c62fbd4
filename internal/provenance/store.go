package provenance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/runway-ci/runway/internal/store"
)

// MediaTypeEnvelope is the media type of a DSSE envelope: the attestation
// layer's, and the attestation manifest's artifactType.
const MediaTypeEnvelope = "application/vnd.dsse.envelope.v1+json"

// maxEnvelope bounds the envelope runway reads back (a runway statement is
// a few KiB).
const maxEnvelope = 1 << 20

// Attestation is one attestation manifest read back from the store.
type Attestation struct {
	// Manifest is the attestation manifest's digest.
	Manifest v1.Hash
	// Subject is the digest the manifest is a referrer of.
	Subject  v1.Hash
	Created  time.Time
	Envelope *dsse.Envelope
	// Unreadable says why Envelope is nil; Tampered marks the cases that
	// can only be an altered attestation (bytes that do not match their
	// digest, an envelope layer that is not an envelope), which verifiers
	// refuse, as opposed to a referrer about another subject, which they
	// pass over.
	Unreadable string
	Tampered   bool
	raw        []byte
}

// Attest makes sure the manifest subject in repo has an attestation signed
// by signer: when one already exists (same key, naming subject) nothing is
// written. subjects are what the statement names: subject first, then any
// other digest of the same thing (a bundle's tar identity).
func Attest(ctx context.Context, s store.Store, signer *Signer, repo string, subject v1.Descriptor, subjects []Subject, f Facts) (v1.Hash, bool, error) {
	existing, err := Read(ctx, s, repo, subject.Digest)
	if err != nil {
		return v1.Hash{}, false, err
	}
	pol := &Policy{Trusted: map[string]*verifier{signer.ID(): {pub: signer.Public(), id: signer.ID()}}}
	for _, a := range existing {
		if v := pol.check(a); v.err == nil && v.signedBy[signer.ID()] {
			return a.Manifest, false, nil
		}
	}
	if len(subjects) == 0 || subjects[0].Digest != subject.Digest {
		subjects = append([]Subject{{Name: repo, Digest: subject.Digest}}, subjects...)
	}
	env, err := Sign(ctx, signer, subjects, f)
	if err != nil {
		return v1.Hash{}, false, fmt.Errorf("attesting %s@%s: %w", repo, subject.Digest, err)
	}
	created := f.Finished
	if created.IsZero() {
		created = time.Now()
	}
	d, err := Write(ctx, s, repo, subject, env, created)
	return d, err == nil, err
}

// Sign renders the statement about subjects and signs it as a DSSE
// envelope.
func Sign(ctx context.Context, signer *Signer, subjects []Subject, f Facts) (*dsse.Envelope, error) {
	stmt, err := Statement(subjects, f)
	if err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(signer)
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(ctx, PayloadType, stmt)
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", signer.ID(), err)
	}
	return env, nil
}

// Write stores env as an attestation of subject in repo: an OCI manifest
// whose subject is the attested manifest (so it is one of its referrers)
// and whose one layer is the envelope, tagged AttestationTag(subject) so
// cosign finds it too.
func Write(ctx context.Context, s store.Store, repo string, subject v1.Descriptor, env *dsse.Envelope, created time.Time) (v1.Hash, error) {
	body, err := json.Marshal(env)
	if err != nil {
		return v1.Hash{}, err
	}
	for _, b := range [][]byte{store.EmptyJSON, body} {
		if err := store.PutBlobBytes(ctx, s, repo, b); err != nil {
			return v1.Hash{}, fmt.Errorf("writing the attestation of %s@%s: %w", repo, subject.Digest, err)
		}
	}
	var ids []string
	for _, sig := range env.Signatures {
		ids = append(ids, sig.KeyID)
	}
	sub := v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	m := store.Manifest{
		SchemaVersion: 2,
		MediaType:     store.MediaTypeOCIManifest,
		ArtifactType:  MediaTypeEnvelope,
		Config:        v1.Descriptor{MediaType: types.MediaType(store.MediaTypeEmptyJSON), Size: int64(len(store.EmptyJSON)), Digest: store.Digest(store.EmptyJSON)},
		Layers: []v1.Descriptor{{
			MediaType: MediaTypeEnvelope, Size: int64(len(body)), Digest: store.Digest(body),
			Annotations: map[string]string{store.AnnotationCosignSignature: "", store.AnnotationPredicateType: PredicateType},
		}},
		Subject: &sub,
		Annotations: map[string]string{
			store.AnnotationCreated:  created.UTC().Format(time.RFC3339Nano),
			store.AnnotationSignedBy: strings.Join(ids, ","),
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	desc, err := s.PutManifest(ctx, repo, store.AttestationTag(subject.Digest), store.MediaTypeOCIManifest, raw)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing the attestation of %s@%s: %w", repo, subject.Digest, err)
	}
	return desc.Digest, nil
}

// Read returns the attestations of the manifest digest in repo, newest
// first. A referrer that is not a well-formed attestation of digest is
// returned with a nil Envelope, so verification can say why it was
// refused rather than silently pass over it.
func Read(ctx context.Context, s store.Store, repo string, digest v1.Hash) ([]*Attestation, error) {
	descs, err := s.Referrers(ctx, repo, digest, MediaTypeEnvelope)
	if err != nil {
		return nil, fmt.Errorf("listing the attestations of %s@%s: %w", repo, digest, err)
	}
	var out []*Attestation
	for _, d := range descs {
		a, err := readOne(ctx, s, repo, d.Digest, digest)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].Manifest.String() < out[j].Manifest.String()
	})
	return out, nil
}

var errMalformed = errors.New("malformed attestation")

func readOne(ctx context.Context, s store.Store, repo string, d, subject v1.Hash) (*Attestation, error) {
	raw, desc, err := s.GetManifest(ctx, repo, d.String())
	if err != nil {
		return nil, fmt.Errorf("reading attestation %s in %s: %w", d, repo, err)
	}
	a := &Attestation{Manifest: desc.Digest, raw: raw}
	tampered := func(why string) (*Attestation, error) {
		a.Unreadable, a.Tampered = why, true
		return a, nil
	}
	if store.Digest(raw) != d {
		return tampered("the manifest's bytes do not match its digest")
	}
	m, ok := attestationManifest(raw)
	if !ok {
		return tampered("not a manifest with a subject and one DSSE envelope layer")
	}
	a.Subject = m.Subject.Digest
	if t, err := time.Parse(time.RFC3339Nano, m.Annotations[store.AnnotationCreated]); err == nil {
		a.Created = t
	}
	if a.Subject != subject {
		a.Unreadable = fmt.Sprintf("it is about %s, not this manifest", a.Subject)
		return a, nil
	}
	body, err := store.ReadBlob(ctx, s, repo, m.Layers[0].Digest, maxEnvelope)
	switch {
	case errors.Is(err, store.ErrDigestMismatch):
		return tampered("the envelope's bytes do not match their digest")
	case err != nil:
		return nil, fmt.Errorf("reading attestation %s in %s: %w", d, repo, err)
	}
	env := &dsse.Envelope{}
	if err := json.Unmarshal(body, env); err != nil {
		return tampered("the envelope layer is not a DSSE envelope")
	}
	a.Envelope = env
	return a, nil
}

// Copy makes the attestations of the manifest digest in from available in
// to (promotion copies an entity between domains' repositories): blobs are
// mounted, manifests put byte for byte, and the newest is tagged
// AttestationTag(digest). It returns how many it copied.
func Copy(ctx context.Context, s store.Store, from, to string, digest v1.Hash) (int, error) {
	atts, err := Read(ctx, s, from, digest)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := len(atts) - 1; i >= 0; i-- { // oldest first: the newest ends up tagged
		a := atts[i]
		if a.Envelope == nil {
			continue
		}
		var m store.Manifest
		if err := json.Unmarshal(a.raw, &m); err != nil {
			continue
		}
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if err := s.MountBlob(ctx, from, to, b.Digest); err != nil {
				return n, fmt.Errorf("copying attestation %s of %s into %s: %w", a.Manifest, digest, to, err)
			}
		}
		tag := ""
		if i == 0 {
			tag = store.AttestationTag(digest)
		}
		if _, err := s.PutManifest(ctx, to, tag, store.MediaTypeOCIManifest, a.raw); err != nil {
			return n, fmt.Errorf("copying attestation %s of %s into %s: %w", a.Manifest, digest, to, err)
		}
		n++
	}
	return n, nil
}

// attestationManifest parses raw as an attestation manifest: a subject and
// one DSSE envelope layer.
func attestationManifest(raw []byte) (*store.Manifest, bool) {
	var m store.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false
	}
	return &m, m.Subject != nil && len(m.Layers) == 1 && m.Layers[0].MediaType == MediaTypeEnvelope
}
