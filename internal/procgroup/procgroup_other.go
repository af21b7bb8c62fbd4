//go:build !linux

// Package procgroup starts task processes in their own process group (so a
// timeout or a cancel kills the whole group) and, where the OS can, ties
// their life to runway's: exec-task and the local executor both use it.
//
// Layer: an internal package (see README.md). It imports the standard
// library only.
package procgroup

import "syscall"

// Attr puts the process in its own process group. Only Linux can tie a
// child's life to its parent's (Pdeathsig); elsewhere (macOS, where the
// release's runway also runs) a task outlives a runway killed outright.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
