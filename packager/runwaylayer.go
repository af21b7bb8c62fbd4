package packager

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// RunwayPath is where every dependency image holds the runway binary.
const RunwayPath = "/usr/local/bin/runway"

// EnvRunwayBinary names the runway binary to embed when a Request names
// none, for a runway that cannot run in a Linux image itself: one linked
// dynamically (built with cgo on, or a test binary) or built for another
// OS. Unset, the running executable is embedded.
const EnvRunwayBinary = "RUNWAY_BINARY"

// ErrBadBinary means the runway binary to embed cannot run on the image's
// platform.
var ErrBadBinary = errors.New("runway binary cannot run in the image")

// elfMachine maps a GOARCH value to its ELF machine type.
func elfMachine(goarch string) (elf.Machine, bool) {
	switch goarch {
	case "amd64":
		return elf.EM_X86_64, true
	case "arm64":
		return elf.EM_AARCH64, true
	case "386":
		return elf.EM_386, true
	case "arm":
		return elf.EM_ARM, true
	case "ppc64le":
		return elf.EM_PPC64, true
	case "s390x":
		return elf.EM_S390, true
	case "riscv64":
		return elf.EM_RISCV, true
	}
	return 0, false
}

// checkBinary refuses a binary that is not a Linux ELF executable for arch,
// and a dynamically linked one: it starts only where its ELF interpreter and
// C library are, which a scratch base never has and another distribution's
// base may not (issue 17: `go build` with cgo on gives one). The image
// must start whatever its base, so runway embeds static binaries only.
func checkBinary(path, arch string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("runway binary to embed: %w: %w", err, ErrBadBinary)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading runway binary %s: not a Linux executable (%w): %w", path, err, ErrBadBinary)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("runway binary %s is an ELF %s, not an executable: %w", path, f.Type, ErrBadBinary)
	}
	if want, ok := elfMachine(arch); ok && f.Machine != want {
		return fmt.Errorf("runway binary %s is built for %s, the image is linux/%s: %w", path, f.Machine, arch, ErrBadBinary)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		interp := "an ELF interpreter"
		if b, err := io.ReadAll(io.LimitReader(p.Open(), 4096)); err == nil {
			interp = strings.TrimRight(string(b), "\x00")
		}
		return fmt.Errorf("runway binary %s is dynamically linked (it needs %s and the host's C library, which the image may not have, and a scratch base never has): "+
			"build a static one with `CGO_ENABLED=0 go build -o DIR/ ./cmd/...` (or name one in $%s): %w", path, interp, EnvRunwayBinary, ErrBadBinary)
	}
	return nil
}

// runwayEntries are the members of the runway layer: its parent
// directories and the binary, mode 0755.
func runwayEntries(binary string) ([]entry, error) {
	info, err := os.Stat(binary)
	if err != nil {
		return nil, fmt.Errorf("reading runway binary: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("runway binary %s is not a regular file: %w", binary, ErrBadBinary)
	}
	name := RunwayPath[1:]
	entries := parentDirs(name)
	return append(entries, entry{
		name: name, typ: tar.TypeReg, mode: 0o755, size: info.Size(),
		open: func() (io.ReadCloser, error) { return os.Open(binary) },
	}), nil
}
