package platform

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PRDomains gives every pull request its own domain (prDomains in the
// platform config). Off unless enabled.
type PRDomains struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Name is the domain name template; "{number}" is the PR number
	// (default "pr-{number}").
	Name string `yaml:"name" json:"name"`
	// TTL removes a PR's domain this long after its last registration
	// (runway gc; a Go duration, default 168h: 7 days).
	TTL string `yaml:"ttl" json:"ttl"`
}

const (
	defaultPRDomainName = "pr-{number}"
	defaultPRDomainTTL  = "168h"
)

func (p *PRDomains) applyDefaults() {
	if p.Name == "" {
		p.Name = defaultPRDomainName
	}
	if p.TTL == "" {
		p.TTL = defaultPRDomainTTL
	}
}

func (p PRDomains) validate() []error {
	var errs []error
	if strings.Count(p.Name, "{number}") != 1 {
		errs = append(errs, fmt.Errorf("prDomains.name: %q must hold {number} once", p.Name))
	}
	if d, err := time.ParseDuration(p.TTL); err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("prDomains.ttl: %q is not a positive duration such as 168h", p.TTL))
	}
	return errs
}

// PRDomain names pull request number's domain; ok is false when the
// platform gives PRs no domains of their own.
func (c *Config) PRDomain(number int) (name string, ok bool) {
	if !c.PRDomains.Enabled || number <= 0 {
		return "", false
	}
	return strings.Replace(c.PRDomains.Name, "{number}", strconv.Itoa(number), 1), true
}

// PRNumber returns the PR number of a PR domain's name; ok is false for
// any other name (the configured domains among them).
func (c *Config) PRNumber(domain string) (int, bool) {
	if !c.PRDomains.Enabled {
		return 0, false
	}
	pre, post, _ := strings.Cut(c.PRDomains.Name, "{number}")
	s, ok := strings.CutPrefix(domain, pre)
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, post); !ok || s == "" || strings.TrimLeft(s, "0123456789") != "" || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, false
	}
	for _, d := range c.Domains {
		if d.Name == domain {
			return 0, false
		}
	}
	return n, true
}

// PRDomainTTL is how long a PR domain lives after its last registration.
func (c *Config) PRDomainTTL() time.Duration {
	d, err := time.ParseDuration(c.PRDomains.TTL)
	if err != nil {
		d, _ = time.ParseDuration(defaultPRDomainTTL)
	}
	return d
}

// prDomain is a PR domain as Domain returns it: the first domain's
// ceilings, defaults and quota under the PR's name.
func (c *Config) prDomain(name string) (*Domain, bool) {
	if _, ok := c.PRNumber(name); !ok || len(c.Domains) == 0 {
		return nil, false
	}
	d := c.Domains[0]
	d.Name = name
	return &d, true
}
