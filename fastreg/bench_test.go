package fastreg

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// BenchmarkBuild builds the bundle of the repository in $FASTREG_BENCH_REPO
// (for example the tree bench/bundle.sh generates), or of a 2,000-file
// generated tree. Profile with -cpuprofile; bench/bundle.sh holds the
// side-by-side comparison with tar | pigz.
func BenchmarkBuild(b *testing.B) {
	dir := os.Getenv("FASTREG_BENCH_REPO")
	if dir == "" {
		files := map[string]string{}
		for i := range 2000 {
			files[fmt.Sprintf("src/pkg%02d/m%04d.py", i%40, i)] = strings.Repeat(fmt.Sprintf("value = model(x%d) + grad * %d\n", i, i), 300)
		}
		dir = newRepo(b, files).dir
	}
	tmp := b.TempDir()
	var size int64
	for b.Loop() {
		bu, err := Build(context.Background(), dir, WithMaxSize(1<<30), WithTempDir(tmp))
		if err != nil {
			b.Fatal(err)
		}
		size = bu.Size
		bu.Close()
	}
	b.SetBytes(size)
}
