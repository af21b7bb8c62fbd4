package remote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/runway-ci/runway/internal/store"
)

// Concurrent writers of one blob collide inside the registry: distribution
// answers a blob commit whose upload another writer's commit overtook with
// DIGEST_INVALID, and a manifest PUT that races the upload of a blob it
// names with MANIFEST_BLOB_UNKNOWN. Both are transient. The store checks
// with HEAD and retries, at most raceRetries times, with a jittered
// exponential wait starting at raceWaitMin.
const (
	raceRetries = 6
	raceWaitMin = 50 * time.Millisecond
	raceWaitMax = 2 * time.Second
)

// isRace reports whether err is one of the registry answers that mean
// another writer of the same content got in the way.
func isRace(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.DigestInvalidErrorCode, transport.ManifestBlobUnknownErrorCode,
			transport.BlobUploadUnknownErrorCode, transport.BlobUploadInvalidErrorCode:
			return true
		}
	}
	return false
}

// raceWait sleeps before retry number try (1-based) of a racing write.
func raceWait(ctx context.Context, try int) error {
	d := raceWaitMin << (try - 1)
	if d > raceWaitMax {
		d = raceWaitMax
	}
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryRace runs write until it succeeds, fails with something that is
// not a race, or raceRetries are spent. settled is asked after every raced
// attempt whether the content is in place anyway (another writer's upload
// finished): then the write counts as done.
func retryRace(ctx context.Context, write func() error, settled func() (bool, error)) error {
	var err error
	for try := 0; ; try++ {
		err = write()
		if err == nil || !isRace(err) {
			return err
		}
		if settled != nil {
			ok, herr := settled()
			if herr == nil && ok {
				return nil
			}
		}
		if try == raceRetries {
			return fmt.Errorf("still racing another writer after %d attempts: %w", try+1, err)
		}
		if werr := raceWait(ctx, try+1); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

// blobsPresent reports whether every blob of a manifest exists in repo.
func (s *Store) blobsPresent(ctx context.Context, c *client, repo name.Repository, blobs []v1.Hash) (bool, error) {
	for _, d := range blobs {
		ok, err := s.headBlob(ctx, c, repo, d)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// blobDigests lists the blobs a manifest names (config and layers).
func blobDigests(m store.ManifestFields) []v1.Hash {
	var out []v1.Hash
	if m.Config != nil {
		out = append(out, m.Config.Digest)
	}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}
