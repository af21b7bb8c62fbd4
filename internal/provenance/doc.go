// Package provenance makes and checks runway's signed provenance: an
// in-toto statement (v1) whose predicate is SLSA provenance v1, naming the
// digests of an image, a code bundle or an entity version runway produced
// and recording where it came from (source repository and commit, base
// image digest, dependency files' hash, runway's version). The statement
// is signed as a DSSE envelope (go-securesystemslib) with the platform's
// ed25519 or ECDSA P-256 key and stored in the registry as an OCI referrer
// of its subject, also tagged sha256-<hex>.att so cosign's
// verify-attestation finds it.
//
// Verification (Policy.Verify) runs before anything is promoted or
// extracted: an attestation by a trusted key must verify and name the
// subject's digest, and where the domain requires a signer
// (requireSignedBy) one such attestation must exist. Refusals wrap
// ErrUnverified and name the subject, the repository and why.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package provenance
