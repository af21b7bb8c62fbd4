package provenance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/runway-ci/runway/internal/store"
)

// ErrUnverified is wrapped by every refusal: a subject whose provenance
// does not verify, or is required and missing.
var ErrUnverified = errors.New("provenance does not verify")

// Policy is what a verifier trusts and requires.
type Policy struct {
	// Trusted are the public keys whose signatures count, by key ID.
	Trusted map[string]*verifier
	// Require lists key IDs of which at least one must have signed a
	// valid attestation (a domain's requireSignedBy). Empty: an
	// attestation is checked when present, and its absence is allowed.
	Require []string
	// Domain names where the requirement comes from, for messages.
	Domain string
}

// NewPolicy builds a policy from PEM public keys (each one "PUBLIC KEY")
// and the key IDs that must have signed. Every required key must be among
// the trusted ones.
func NewPolicy(trustedPEM []string, require []string, domain string) (*Policy, error) {
	p := &Policy{Trusted: map[string]*verifier{}, Require: require, Domain: domain}
	for i, k := range trustedPEM {
		pub, err := ParsePublicKey(fmt.Sprintf("trusted key %d", i+1), []byte(k))
		if err != nil {
			return nil, err
		}
		id, err := KeyID(pub)
		if err != nil {
			return nil, err
		}
		p.Trusted[id] = &verifier{pub: pub, id: id}
	}
	for _, id := range require {
		if _, ok := p.Trusted[id]; !ok {
			return nil, fmt.Errorf("requireSignedBy names %s, which is not among the trusted keys (%s)", id, strings.Join(p.KeyIDs(), ", "))
		}
	}
	return p, nil
}

// KeyIDs lists the trusted key IDs, sorted.
func (p *Policy) KeyIDs() []string {
	ids := make([]string, 0, len(p.Trusted))
	for id := range p.Trusted {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Active reports whether the policy can check anything: it trusts a key.
func (p *Policy) Active() bool { return p != nil && len(p.Trusted) > 0 }

// Required reports whether a valid attestation is mandatory.
func (p *Policy) Required() bool { return p != nil && len(p.Require) > 0 }

// Check is the verdict on one subject.
type Check struct {
	What   string  `json:"what"` // "bundle", "image", "task prepare@v1", ...
	Repo   string  `json:"repo"`
	Digest v1.Hash `json:"digest"`
	// Verified: an attestation signed by a trusted key names the digest.
	Verified bool `json:"verified"`
	// SignedBy are the trusted keys whose valid signatures were found.
	SignedBy []string `json:"signedBy,omitempty"`
	// Attestation is the digest of the attestation manifest that verified.
	Attestation string  `json:"attestation,omitempty"`
	Statement   *Parsed `json:"statement,omitempty"`
	// Attestations counts the attestations found; Problems says why any
	// of them was refused.
	Attestations int      `json:"attestations"`
	Problems     []string `json:"problems,omitempty"`
	// Error is set when the policy refuses the subject.
	Error string `json:"error,omitempty"`

	// verified are the statements of every attestation that verified.
	verified []*Parsed
}

// Names reports whether a verified statement (by a trusted key) names d.
func (c *Check) Names(d v1.Hash) bool {
	for _, st := range c.verified {
		if st.Names(d) {
			return true
		}
	}
	return false
}

// Error is a refusal: it names the subject and why.
type Error struct {
	Check *Check
	msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("provenance of %s %s@%s: %s", e.Check.What, e.Check.Repo, e.Check.Digest, e.msg)
}

func (e *Error) Unwrap() error { return ErrUnverified }

// Verify checks the attestations of the manifest digest in repo (what
// names the subject in messages: "bundle", "task prepare@v1"). It returns
// the Check, and an *Error (wrapping ErrUnverified) when the policy
// refuses the subject:
//   - an attestation claiming a trusted key whose signature does not
//     verify, whose payload is not an in-toto statement, or whose
//     statement does not name digest (tampering, or an attestation moved
//     onto another subject);
//   - the policy requires a signer, and no valid attestation by one of
//     the required keys names digest.
//
// Attestations by keys the policy does not trust are listed, not counted.
func (p *Policy) Verify(ctx context.Context, s store.Store, what, repo string, digest v1.Hash) (*Check, error) {
	c := &Check{What: what, Repo: repo, Digest: digest}
	atts, err := Read(ctx, s, repo, digest)
	if err != nil {
		return c, err
	}
	c.Attestations = len(atts)
	var tamper []string
	for _, a := range atts {
		v := p.check(a)
		switch {
		case v.err != nil && v.claimsTrusted:
			tamper = append(tamper, fmt.Sprintf("attestation %s: %v", a.Manifest, v.err))
			c.Problems = append(c.Problems, fmt.Sprintf("attestation %s: %v", a.Manifest, v.err))
		case v.err != nil:
			c.Problems = append(c.Problems, fmt.Sprintf("attestation %s: %v", a.Manifest, v.err))
		default:
			for id := range v.signedBy {
				if !slices.Contains(c.SignedBy, id) {
					c.SignedBy = append(c.SignedBy, id)
				}
			}
			c.verified = append(c.verified, v.statement)
			if !c.Verified {
				c.Verified, c.Attestation, c.Statement = true, a.Manifest.String(), v.statement
			}
		}
	}
	sort.Strings(c.SignedBy)
	refuse := func(format string, args ...any) (*Check, error) {
		e := &Error{Check: c, msg: fmt.Sprintf(format, args...)}
		c.Error = e.Error()
		return c, e
	}
	if len(tamper) > 0 {
		return refuse("refused: %s", strings.Join(tamper, "; "))
	}
	if !p.Required() {
		return c, nil
	}
	for _, id := range p.Require {
		if slices.Contains(c.SignedBy, id) {
			return c, nil
		}
	}
	need := strings.Join(p.Require, " or ")
	switch {
	case len(atts) == 0:
		return refuse("no attestation; %s requires one signed by %s", p.domain(), need)
	case len(c.SignedBy) > 0:
		return refuse("signed by %s, but %s requires %s", strings.Join(c.SignedBy, ", "), p.domain(), need)
	default:
		return refuse("no attestation signed by a trusted key (%s requires %s): %s", p.domain(), need, strings.Join(c.Problems, "; "))
	}
}

func (p *Policy) domain() string {
	if p.Domain == "" {
		return "the policy"
	}
	return "domain " + p.Domain
}

type verdict struct {
	signedBy      map[string]bool
	statement     *Parsed
	claimsTrusted bool // a signature names (or verifies with) a trusted key
	err           error
}

// check verifies one attestation against the trusted keys.
func (p *Policy) check(a *Attestation) verdict {
	v := verdict{signedBy: map[string]bool{}}
	if a.Envelope == nil {
		// Who wrote a tampered one cannot be told: refuse rather than pass over it.
		v.err, v.claimsTrusted = fmt.Errorf("%w: %s", errMalformed, a.Unreadable), a.Tampered
		return v
	}
	env := a.Envelope
	var unknown []string
	for _, sig := range env.Signatures {
		if sig.KeyID != "" {
			if _, ok := p.Trusted[sig.KeyID]; ok {
				v.claimsTrusted = true
			} else {
				unknown = append(unknown, sig.KeyID)
			}
		}
	}
	if env.PayloadType != PayloadType {
		v.err = fmt.Errorf("payload type %q is not %s", env.PayloadType, PayloadType)
		return v
	}
	for id, ver := range p.Trusted {
		ev, err := dsse.NewEnvelopeVerifier(ver)
		if err != nil {
			continue
		}
		if _, err := ev.Verify(context.Background(), env); err == nil {
			v.signedBy[id] = true
		}
	}
	if len(v.signedBy) == 0 {
		if v.claimsTrusted {
			v.err = errors.New("the signature does not verify with the trusted key it names: the statement or the signature was altered")
		} else if len(unknown) > 0 {
			v.err = fmt.Errorf("signed by %s, which is not a trusted key", strings.Join(unknown, ", "))
		} else {
			v.err = errors.New("signed by no trusted key")
		}
		return v
	}
	v.claimsTrusted = true
	payload, err := env.DecodeB64Payload()
	if err != nil {
		v.err = fmt.Errorf("payload: %w", err)
		return v
	}
	st, err := ParseStatement(payload)
	if err != nil {
		v.err = err
		return v
	}
	if !st.Names(a.Subject) {
		var names []string
		for _, s := range st.Subjects {
			names = append(names, s.Digest.String())
		}
		v.err = fmt.Errorf("the signed statement is about %s, not %s: the attestation was moved onto another manifest", strings.Join(names, ", "), a.Subject)
		v.signedBy = map[string]bool{}
		return v
	}
	v.statement = st
	return v
}
