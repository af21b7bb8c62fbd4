package store

import (
	"errors"
	"path/filepath"
)

// HomeDir is runway's own directory on this machine: $RUNWAY_HOME, else
// $HOME/.runway. The default store, task logs and detached runs' logs live
// under it.
func HomeDir(getenv func(string) string) (string, error) {
	if h := getenv("RUNWAY_HOME"); h != "" {
		return h, nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".runway"), nil
	}
	return "", errors.New("finding runway's home directory: neither RUNWAY_HOME nor HOME is set")
}

// DefaultDir is the embedded default store's directory: $RUNWAY_HOME/store,
// else $HOME/.runway/store.
func DefaultDir(getenv func(string) string) (string, error) {
	h, err := HomeDir(getenv)
	if err != nil {
		return "", errors.New("finding the default store: neither RUNWAY_HOME nor HOME is set")
	}
	return filepath.Join(h, "store"), nil
}
