// Package store is runway's single source of truth: an OCI registry, or the
// same layout on disk. Everything runway keeps (images, code bundles,
// entities, cache entries, execution records, promotion records) is an OCI
// manifest plus content-addressed blobs, named as in DESIGN.md:
//
//	<project>/image:deps-<hash>                     dependency image
//	<project>/bundle:sha256-<hex>                   code bundle
//	<project>/<domain>/<kind>/<name>:<version>      entity
//	<project>/<domain>/cache:<key>                  cached result
//	<project>/<domain>/execution:<id>               execution record
//
// Two backends implement Store behind one contract test suite
// (storetest.Run): Layout (an OCI image layout directory, the embedded
// default) and Remote (any OCI registry through go-containerregistry).
//
// The registry has no compare-and-swap. Store.Lock gives callers mutual
// exclusion for the writes that could race (an entity tag, the active tag of
// a launch plan, a cache key): a file lock for Layout and an in-process lock
// for Remote. Content-addressed writes need no lock.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package store

import (
	"context"
	"errors"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrNotFound is returned (wrapped) when a manifest, tag, blob or repository
// does not exist.
var ErrNotFound = errors.New("not found")

// Common media types used by runway artifacts.
const (
	MediaTypeOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeEmptyJSON   = "application/vnd.oci.empty.v1+json"
)

// EmptyJSON is the OCI 1.1 empty config blob ("{}").
var EmptyJSON = []byte("{}")

// Store is the minimal set of OCI operations runway needs. Repository names
// are relative to the store's prefix (for example "fraud/development/task/prepare").
// A reference is a tag ("v1") or a digest ("sha256:...").
type Store interface {
	// PutBlob uploads content-addressed bytes into repo. size may be -1 if
	// unknown. Writing a blob that already exists uploads nothing.
	PutBlob(ctx context.Context, repo string, digest v1.Hash, size int64, r io.Reader) error
	// HasBlob reports whether repo (or, for Layout, the store) has the blob.
	HasBlob(ctx context.Context, repo string, digest v1.Hash) (bool, error)
	// GetBlob opens a blob. The caller closes it; callers that need integrity
	// verify the digest themselves (see VerifyingReader).
	GetBlob(ctx context.Context, repo string, digest v1.Hash) (io.ReadCloser, error)
	// MountBlob makes a blob that exists in from available in to without
	// uploading its bytes again (cross-repository mount).
	MountBlob(ctx context.Context, from, to string, digest v1.Hash) error

	// PutManifest stores a manifest (all blobs it names must exist) and, if
	// tag is not empty, points tag at it. It returns the manifest descriptor.
	PutManifest(ctx context.Context, repo, tag string, mediaType string, raw []byte) (v1.Descriptor, error)
	// GetManifest returns the raw manifest for a tag or digest reference.
	GetManifest(ctx context.Context, repo, ref string) ([]byte, v1.Descriptor, error)
	// HeadManifest returns the descriptor for a tag or digest reference.
	HeadManifest(ctx context.Context, repo, ref string) (v1.Descriptor, error)
	// DeleteTag removes a tag (not the manifest it points at).
	DeleteTag(ctx context.Context, repo, tag string) error

	// Tags lists the tags of a repository, sorted. A missing repository has no tags.
	Tags(ctx context.Context, repo string) ([]string, error)
	// Repositories lists repositories whose name starts with prefix, sorted.
	Repositories(ctx context.Context, prefix string) ([]string, error)
	// Referrers lists manifests whose subject is digest in repo, optionally
	// filtered by artifactType.
	Referrers(ctx context.Context, repo string, digest v1.Hash, artifactType string) ([]v1.Descriptor, error)

	// Lock takes a named exclusive lock (see the package doc) and returns the
	// function that releases it.
	Lock(ctx context.Context, key string) (unlock func(), err error)

	// String names the store for messages ("file:///home/u/.runway/store",
	// "localhost:5000/runway").
	String() string
}

// ImageWriter is an optional capability: a store that can write a whole
// v1.Image efficiently (concurrent layer uploads, existing blobs skipped).
// Use WriteImage, which falls back to blob-by-blob writes.
type ImageWriter interface {
	WriteImage(ctx context.Context, repo, tag string, img v1.Image) (v1.Descriptor, error)
}
