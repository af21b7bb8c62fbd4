package store

import (
	"errors"
	"path/filepath"
)

// DefaultDir is the embedded default store's directory: $RUNWAY_HOME/store,
// else $HOME/.runway/store.
func DefaultDir(getenv func(string) string) (string, error) {
	if h := getenv("RUNWAY_HOME"); h != "" {
		return filepath.Join(h, "store"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".runway", "store"), nil
	}
	return "", errors.New("finding the default store: neither RUNWAY_HOME nor HOME is set")
}
