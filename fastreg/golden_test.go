package fastreg

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

const goldenFile = "testdata/golden-digest.json"

// goldenFiles is a fixed tree: a few MiB of text (several pgzip blocks), an
// executable, a symlink and a long name. Its content comes from a fixed
// xorshift generator, not math/rand, so it cannot change under us.
func goldenFiles() map[string]string {
	x := uint64(88172645463325252)
	next := func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
	words := strings.Fields("import numpy as np def train model loss grad batch return self data frame value for in range")
	text := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteString(words[next()%uint64(len(words))])
			b.WriteByte(" \n"[next()%2])
		}
		return b.String()[:n]
	}
	files := map[string]string{
		"runway.yaml":   "project: golden\n",
		"bin/train.sh*": "#!/bin/sh\nexec python3 -m pipeline.train\n",
		"pipeline/link": "-> train.py",
		"pipeline/" + strings.Repeat("long", 30) + ".py": "x = 1\n",
	}
	for i := range 6 {
		files[fmt.Sprintf("pipeline/m%d.py", i)] = text(600_000)
	}
	files["pipeline/train.py"] = text(5000)
	return files
}

type golden struct {
	Digest           string `json:"digest"`
	CompressedDigest string `json:"compressedDigest"`
	Size             int64  `json:"size"`
	CompressedSize   int64  `json:"compressedSize"`
}

// TestBuildGoldenDigest pins the bundle bytes of a fixed tree, so that a
// change of format, headers or compression settings (or of the pinned
// klauspost/compress) shows up here rather than as new bundle digests on
// every machine. Rewrite with -update when such a change is intended.
func TestBuildGoldenDigest(t *testing.T) {
	r := newRepo(t, goldenFiles())
	var got golden
	for _, n := range []int{1, 3} {
		b := build(t, r.dir, WithConcurrency(n))
		g := golden{b.Digest.String(), b.CompressedDigest.String(), b.Size, b.CompressedSize}
		if got.Digest != "" && g != got {
			t.Fatalf("concurrency %d gave %+v, 1 gave %+v", n, g, got)
		}
		got = g
	}
	if *update {
		raw, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(goldenFile, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var want golden
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("bundle of the golden tree changed:\n got %+v\nwant %+v\n(if intended, run go test ./fastreg -run TestBuildGoldenDigest -update)", got, want)
	}
}
