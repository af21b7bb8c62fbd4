//go:build unix

package fastreg

import "syscall"

func umask(m int) int { return syscall.Umask(m) }
