package flow

import (
	"fmt"
	"strings"
)

// UnknownDomainError is a domain the platform does not have.
type UnknownDomainError struct {
	Domain string
	Known  []string
}

func (e *UnknownDomainError) Error() string {
	return fmt.Sprintf("unknown domain %q: the platform has %s", e.Domain, strings.Join(e.Known, ", "))
}

// Unwrap makes an unknown domain a usage error.
func (e *UnknownDomainError) Unwrap() error { return ErrUsage }
