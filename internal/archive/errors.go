package archive

import (
	"errors"
	"fmt"
)

// Sentinels callers branch on with errors.Is.
var (
	// ErrDigestMismatch: the archive does not hash to the digest that names it.
	ErrDigestMismatch = errors.New("archive digest mismatch")
	// ErrUnsafeMember: a member would write outside the root or is of a
	// forbidden kind (see *MemberError).
	ErrUnsafeMember = errors.New("unsafe archive member")
	// ErrLimit: extraction went over a size or file-count limit.
	ErrLimit = errors.New("archive over extraction limit")
	// ErrRootExists: the extraction root exists and is not an empty directory.
	ErrRootExists = errors.New("extraction root exists and is not empty")
)

// MemberError names the member that extraction refused and why.
// It matches ErrUnsafeMember or ErrLimit (Err).
type MemberError struct {
	Name   string // member name as it appears in the archive
	Reason string
	Err    error // ErrUnsafeMember or ErrLimit
}

func (e *MemberError) Error() string {
	return fmt.Sprintf("refusing member %q: %s", e.Name, e.Reason)
}

func (e *MemberError) Unwrap() error { return e.Err }
