package testenv

import (
	"os"
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// EnvPythonRootfs names a Debian root filesystem holding python3, as a tar
// or a gzip tar, built offline from Debian's packages by .ci/node.sh
// (mmdebstrap, cached by version under /var/cache/runway).
const EnvPythonRootfs = "RUNWAY_PYTHON_ROOTFS"

// PythonBaseImage is a real Python base image: the root filesystem of
// $RUNWAY_PYTHON_ROOTFS as one OCI layer, for linux/GOARCH, with PATH set
// and Cmd ["python3"]. The test tier's stand-in for python:3-slim, which
// cannot be pulled here. It fails the test, saying how to build the
// rootfs, when the variable is unset or names no file.
func PythonBaseImage(tb testing.TB) v1.Image {
	tb.Helper()
	path := os.Getenv(EnvPythonRootfs)
	if path == "" {
		tb.Fatalf("%s is not set: build the Python rootfs with `eval \"$(bash .ci/node.sh)\"; export %s` (mmdebstrap from Debian's packages, cached)", EnvPythonRootfs, EnvPythonRootfs)
	}
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("%s=%s: %v (run .ci/node.sh)", EnvPythonRootfs, path, err)
	}
	// LayerFromFile keeps a gzip file as it is and compresses a plain tar
	// once, caching the result, so the digest is computed once.
	layer, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		tb.Fatalf("reading the Python rootfs %s as a layer: %v", path, err)
	}
	epoch := time.Unix(0, 0)
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "testenv: mmdebstrap python3-minimal " + path},
		MediaType: types.OCILayer,
	})
	if err != nil {
		tb.Fatalf("making the Python image: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		tb.Fatalf("reading the Python image config: %v", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	cfg.Config.Cmd = []string{"python3"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		tb.Fatalf("setting the Python image config: %v", err)
	}
	return img
}

// PushPythonBase pushes PythonBaseImage to "<host>/base/python:3" and
// returns that reference, ready for runway.yaml's image.base, and the
// pushed digest.
func PushPythonBase(tb testing.TB, host string) (ref string, digest v1.Hash) {
	tb.Helper()
	ref = host + "/base/python:3"
	d := PushImage(tb, ref, PythonBaseImage(tb))
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		tb.Fatalf("parsing digest %s: %v", d.DigestStr(), err)
	}
	return ref, h
}
