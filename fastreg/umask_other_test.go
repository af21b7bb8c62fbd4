//go:build !unix

package fastreg

func umask(m int) int { return m }
