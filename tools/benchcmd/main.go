// Command benchcmd times fastreg.Build on a repository, for bench/bundle.sh.
//
//	benchcmd -repo DIR [-runs 2] [-out FILE] [-cpuprofile FILE]
//
// It builds the bundle -runs times, checks every run gives the same
// compressed digest (reproducibility), and prints one JSON object with the
// wall time of each run and the bundle summary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/runway-ci/runway/fastreg"
)

type report struct {
	Runs         []float64       `json:"seconds"`
	Identify     float64         `json:"identifySeconds,omitempty"`
	Reproducible bool            `json:"reproducible"`
	Bundle       fastreg.Summary `json:"bundle"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchcmd:", err)
		os.Exit(1)
	}
}

func run() error {
	repo := flag.String("repo", "", "repository to bundle")
	runs := flag.Int("runs", 2, "number of builds")
	out := flag.String("out", "", "write the compressed tarball of the last run here")
	maxSize := flag.Int64("max-size", 1<<30, "bundle budget in bytes")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the runs here")
	identify := flag.Bool("identify", false, "also time fastreg.Identify (digest without compression) and check it agrees")
	flag.Parse()
	if *repo == "" || *runs < 1 {
		return errors.New("usage: benchcmd -repo DIR [-runs N] [-out FILE] [-cpuprofile FILE]")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	var rep report
	var first string
	rep.Reproducible = true
	for i := 0; i < *runs; i++ {
		start := time.Now()
		b, err := fastreg.Build(ctx, *repo, fastreg.WithMaxSize(*maxSize))
		if err != nil {
			return err
		}
		rep.Runs = append(rep.Runs, time.Since(start).Seconds())
		rep.Bundle = b.Summary()
		if i == 0 {
			first = b.CompressedDigest.String()
		} else if b.CompressedDigest.String() != first {
			rep.Reproducible = false
		}
		if i == *runs-1 && *out != "" {
			if err := b.WriteFile(*out); err != nil {
				b.Close()
				return err
			}
			rep.Bundle.Path = *out
		}
		if err := b.Close(); err != nil {
			return err
		}
	}
	if *identify {
		start := time.Now()
		id, err := fastreg.Identify(ctx, *repo, fastreg.WithMaxSize(*maxSize))
		if err != nil {
			return err
		}
		rep.Identify = time.Since(start).Seconds()
		if id.Digest.String() != rep.Bundle.Digest {
			return fmt.Errorf("fastreg.Identify gave %s, fastreg.Build %s", id.Digest, rep.Bundle.Digest)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if !rep.Reproducible {
		return errors.New("runs gave different compressed digests")
	}
	return nil
}
