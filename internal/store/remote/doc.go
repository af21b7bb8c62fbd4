// Package remote is the Store for any OCI registry, through
// go-containerregistry.
//
// A store spec is "HOST[:PORT][/PREFIX]" (an http:// or https:// scheme may
// lead); repository r of the store is PREFIX/r in the registry. Credentials
// come from authn.DefaultKeychain (docker config, credential helpers) unless
// WithKeychain says otherwise. Plain HTTP is used for localhost, 127.0.0.1,
// ::1 and for WithInsecure(true).
//
// Decisions:
//
//   - Retries live in one place, retryTransport (go-retryablehttp), under
//     go-containerregistry's authentication transport: 429, 5xx except 501
//     and connection errors are retried, at most RetryMax times, waiting
//     Retry-After (capped by WithMaxRetryAfter) or an exponential backoff
//     with jitter. go-containerregistry's own retries are switched off (one
//     backoff step, no retryable predicate or status), so they cannot
//     multiply with ours. Request bodies are replayed with req.GetBody, which
//     go-containerregistry sets on manifest PUTs and on blob PATCHes (from
//     the layer's Compressed); retryablehttp.RoundTripper would instead read
//     every body into memory. PutBlob can replay its reader only if it is an
//     io.Seeker; otherwise a failed PATCH fails with an error that says so.
//     When every attempt failed, the last response goes back to
//     go-containerregistry unchanged, so errors carry the registry's status
//     and message, and the store adds what it was writing and how many
//     attempts it made.
//   - Authentication happens once per registry when the registry needs no
//     token (anonymous or basic auth), once per repository otherwise (a
//     token is scoped to repositories). The authenticated transport is a
//     *transport.Wrapper, which go-containerregistry uses as is, so no call
//     pings the registry again.
//   - PutManifest sends the PUT itself (not remote.Put) to read the
//     response's OCI-Subject header. A manifest with a subject that the
//     registry did not acknowledge with OCI-Subject is added to the
//     referrers tag schema index (tag sha256-<hex> on the subject's
//     repository), as the OCI distribution spec asks of clients; distribution
//     2.8 and go-containerregistry's in-process registry need it. Referrers
//     asks the referrers API first and reads that index when the registry has
//     no API. Tags hides those index tags (a sha256-<hex> tag that points at
//     an OCI index); a code bundle's sha256-<hex> tag points at a manifest
//     and is listed.
//   - The referrers index update is a read-modify-write serialised within
//     this process only. Store.Lock is an in-process KeyedLocker: a registry
//     has no compare-and-swap, so nothing here can exclude another process.
//     Callers that need that take a lock from package lock (a Lease or the
//     registry claim protocol); runway writes every record of an entity
//     repository under lock.EntityKey, which covers its referrers index.
//   - Concurrent writers of one blob collide inside the registry
//     (distribution answers DIGEST_INVALID to a commit another writer's
//     commit overtook, MANIFEST_BLOB_UNKNOWN to a manifest that raced the
//     upload of a blob it names). Both are transient: PutBlob checks with
//     HEAD and uploads again, PutManifest waits until HEAD finds the blobs
//     and puts again, WriteImage repeats the write; at most 6 retries with
//     a jittered backoff from 50ms (race.go), then an error that says the
//     write kept racing.
//   - A registry's referrers API may report the artifactType of an OCI 1.1
//     artifact as its config media type (go-containerregistry's in-process
//     registry does); such descriptors are corrected from the manifest
//     before the artifactType filter applies.
//   - DeleteTag uses DELETE /v2/<repo>/manifests/<tag>, which removes only
//     the tag. Registries that delete by digest only refuse it with an
//     error; the store never deletes by digest.
//   - Repositories reads the catalog, page by page (go-containerregistry
//     follows Link headers). Registries that disable the catalog make it
//     fail. go-containerregistry's in-process registry returns at most
//     10,000 repositories and no Link header.
//   - WriteImage (store.ImageWriter) is remote.Write: concurrent layer
//     uploads bounded by WithParallelism, blobs the registry has skipped,
//     progress to the WithProgress callback.
//   - PutManifest does not check that the blobs a manifest names exist;
//     registries differ (go-containerregistry's in-process registry accepts
//     dangling manifests), and a check would cost a request per blob.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package remote
