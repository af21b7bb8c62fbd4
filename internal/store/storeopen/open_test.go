package storeopen_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

func TestOpen(t *testing.T) {
	home, runwayHome, dir := t.TempDir(), t.TempDir(), t.TempDir()
	reg := storetest.NewRegistry(t)
	tests := []struct {
		name, spec string
		env        map[string]string
		want       string // String() of the store
	}{
		{"default from RUNWAY_HOME", "", map[string]string{"RUNWAY_HOME": runwayHome, "HOME": home}, "file://" + filepath.Join(runwayHome, "store")},
		{"default from HOME", "", map[string]string{"HOME": home}, "file://" + filepath.Join(home, ".runway", "store")},
		{"file", "file://" + dir, nil, "file://" + dir},
		{"registry with prefix", reg.Host + "/runway", nil, reg.Host + "/runway"},
		{"registry with scheme", "http://" + reg.Host + "/a/b/", nil, reg.Host + "/a/b"},
		{"registry without prefix", reg.Host, nil, reg.Host},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := storeopen.Open(tc.spec, storeopen.WithGetenv(func(k string) string { return tc.env[k] }), storeopen.WithoutFsync())
			if err != nil {
				t.Fatal(err)
			}
			if s.String() != tc.want {
				t.Fatalf("String() = %q, want %q", s.String(), tc.want)
			}
			ctx := context.Background()
			if _, err := store.PutArtifact(ctx, s, "p/dev/task/a", "v1", store.Artifact{ArtifactType: "application/vnd.test"}); err != nil {
				t.Fatalf("writing through the opened store: %v", err)
			}
			if _, err := s.HeadManifest(ctx, "p/dev/task/a", "v1"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenRefusesBadSpecs(t *testing.T) {
	tests := []struct{ name, spec, want string }{
		{"no home", "", "RUNWAY_HOME"},
		{"empty file", "file://", "no directory"},
		{"unknown scheme", "s3://bucket/x", "unknown scheme"},
		{"bad prefix", "localhost:5000/Upper/Case", "invalid prefix"},
		{"no host", "/just/a/path", "no host"},
		{"bad option", "localhost:5000", "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := []storeopen.Option{storeopen.WithGetenv(func(string) string { return "" })}
			if tc.name == "bad option" {
				opts = append(opts, storeopen.WithRetryMax(-1))
			}
			_, err := storeopen.Open(tc.spec, opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%q) = %v, want an error mentioning %q", tc.spec, err, tc.want)
			}
		})
	}
}
