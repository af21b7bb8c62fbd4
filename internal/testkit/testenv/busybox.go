package testenv

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BusyboxPath is where Debian's busybox-static installs its one static binary.
const BusyboxPath = "/bin/busybox"

// BusyboxImage builds a one-layer OCI image for linux/GOARCH from Debian's
// busybox-static: /bin/busybox plus a symlink in /bin for every applet it
// lists (sh, ls, cat, env, ...), /tmp (1777), /etc and /root. Its config
// sets PATH and Cmd ["sh"]. The layer is normalised (uid 0, mtime 0), so
// the image digest is the same every time for a given busybox binary.
func BusyboxImage(tb testing.TB) v1.Image {
	tb.Helper()
	RequireProgram(tb, BusyboxPath, "busybox-static")
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		tb.Fatalf("reading %s (apt-get install -y busybox-static): %v", BusyboxPath, err)
	}
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		tb.Fatalf("listing busybox applets: %v", err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	write := func(h *tar.Header, data []byte) {
		h.ModTime = epoch
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatalf("writing busybox layer: %v", err)
		}
		if _, err := tw.Write(data); err != nil {
			tb.Fatalf("writing busybox layer: %v", err)
		}
	}
	write(&tar.Header{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755}, nil)
	write(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		write(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}, nil)
	}
	write(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}, nil)
	write(&tar.Header{Typeflag: tar.TypeDir, Name: "root/", Mode: 0o700}, nil)
	write(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}, nil)
	if err := tw.Close(); err != nil {
		tb.Fatalf("writing busybox layer: %v", err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		tb.Fatalf("making busybox layer: %v", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "testenv: busybox-static " + BusyboxPath},
		MediaType: types.OCILayer,
	})
	if err != nil {
		tb.Fatalf("making busybox image: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		tb.Fatalf("reading busybox image config: %v", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg.Config.Cmd = []string{"sh"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		tb.Fatalf("setting busybox image config: %v", err)
	}
	return img
}

// PushImage writes img to ref (for example "127.0.0.1:5000/base/busybox:1")
// and returns its digest reference. Registries on 127.0.0.1 and localhost
// are reached over plain HTTP.
func PushImage(tb testing.TB, ref string, img v1.Image) name.Digest {
	tb.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		tb.Fatalf("parsing %q: %v", ref, err)
	}
	if err := remote.Write(r, img); err != nil {
		tb.Fatalf("pushing image to %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		tb.Fatalf("digest of image pushed to %s: %v", ref, err)
	}
	return r.Context().Digest(d.String())
}

// PushBusybox builds BusyboxImage and pushes it to
// "<host>/base/busybox:latest", returning the tag reference as a string
// ready for runway.yaml's image.base and the pushed digest.
func PushBusybox(tb testing.TB, host string) (ref string, digest v1.Hash) {
	tb.Helper()
	ref = host + "/base/busybox:latest"
	d := PushImage(tb, ref, BusyboxImage(tb))
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		tb.Fatalf("parsing digest %s: %v", d.DigestStr(), err)
	}
	return ref, h
}
