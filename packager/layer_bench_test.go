package packager

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWriteLayer packs a dependency tree like a wheel install: 2,000
// files of 32 KiB in 100 directories (64 MiB), half text-like, half
// incompressible.
func BenchmarkWriteLayer(b *testing.B) {
	root := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var total int64
	for i := range 2000 {
		dir := filepath.Join(root, fmt.Sprintf("pkg%03d", i%100))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		data := make([]byte, 32<<10)
		for j := range data {
			if i%2 == 0 {
				data[j] = "abcdefghij klmnop\n"[rng.IntN(18)]
			} else {
				data[j] = byte(rng.Uint32())
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("mod%04d.py", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
	}
	out := b.TempDir()
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		entries, err := collectEntries(root)
		if err != nil {
			b.Fatal(err)
		}
		l, err := writeLayer(out, entries)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(l.size)/float64(total), "ratio")
		os.Remove(l.path)
	}
}
