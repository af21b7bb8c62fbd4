package platform

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownDomain is the sentinel every unknown-domain error matches
// (errors.Is), whichever command met it.
var ErrUnknownDomain = errors.New("unknown domain")

// UnknownDomainError is a domain the platform does not have, with the ones
// it has.
type UnknownDomainError struct {
	Domain string
	Known  []string
}

func (e *UnknownDomainError) Error() string {
	return fmt.Sprintf("unknown domain %q: the platform has %s", e.Domain, strings.Join(e.Known, ", "))
}

// Is makes errors.Is(err, ErrUnknownDomain) true.
func (e *UnknownDomainError) Is(target error) bool { return target == ErrUnknownDomain }

// CheckDomain returns an *UnknownDomainError when the platform has no
// domain called name: one answer for every command.
func (c *Config) CheckDomain(name string) error {
	if _, ok := c.Domain(name); !ok {
		return &UnknownDomainError{Domain: name, Known: c.DomainNames()}
	}
	return nil
}
