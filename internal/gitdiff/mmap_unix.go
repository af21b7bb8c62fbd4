//go:build unix

package gitdiff

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps path read-only. Packs and their indexes are immutable once
// written, so a mapping is safe and costs nothing until a page is touched;
// reading the 3.6 MB index of the benchmark repository alone took 2.5 ms.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := fi.Size()
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	if size != int64(int(size)) {
		return nil, nil, fmt.Errorf("mapping %s: file too large", path)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
