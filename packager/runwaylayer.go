package packager

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// RunwayPath is where every dependency image holds the runway binary.
const RunwayPath = "/usr/local/bin/runway"

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
// and warns about a dynamically linked one: it runs only on bases that
// carry the same C library.
func checkBinary(path, arch string, log *slog.Logger) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("runway binary to embed: %w: %w", err, ErrBadBinary)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading runway binary %s: not a Linux executable (%v): %w", path, err, ErrBadBinary)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("runway binary %s is an ELF %s, not an executable: %w", path, f.Type, ErrBadBinary)
	}
	if want, ok := elfMachine(arch); ok && f.Machine != want {
		return fmt.Errorf("runway binary %s is built for %s, the image is linux/%s: %w", path, f.Machine, arch, ErrBadBinary)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			log.Warn("runway binary is dynamically linked; it runs only on bases with a matching C library (build it with CGO_ENABLED=0 for any base)", "binary", path)
			break
		}
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
