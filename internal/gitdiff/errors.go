package gitdiff

import "errors"

// Errors callers branch on. They are wrapped with the revision, path or
// object they concern.
var (
	// ErrNotRepository: the directory is not inside a git repository.
	ErrNotRepository = errors.New("not a git repository")
	// ErrUnknownRevision: a revision names no ref or object.
	ErrUnknownRevision = errors.New("unknown revision")
	// ErrAmbiguousRevision: a short SHA matches several objects.
	ErrAmbiguousRevision = errors.New("ambiguous revision")
	// ErrNotCommit: a revision names a tree or a blob, not a commit.
	ErrNotCommit = errors.New("not a commit")
	// ErrNoMergeBase: the two commits share no history (unrelated
	// histories, or a shallow clone that stops before the fork point).
	ErrNoMergeBase = errors.New("no merge base")
	// ErrObjectNotFound: an object the history refers to is missing.
	ErrObjectNotFound = errors.New("object not found")
	// ErrPathNotFound: a path does not exist in a tree.
	ErrPathNotFound = errors.New("path not found")
	// ErrCorrupt: a pack, index or object could not be parsed.
	ErrCorrupt = errors.New("corrupt repository data")
)
