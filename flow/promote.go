package flow

import (
	"context"
	"fmt"

	"github.com/runway-ci/runway/promote"
)

// PromoteDefaults fills what a promotion request leaves out: From is the
// first domain allowed to promote into To, To the domain after From. Both
// must be domains of the platform.
func PromoteDefaults(p *Project, req *promote.Request) error {
	switch {
	case req.From == "" && req.To == "":
		return fmt.Errorf("%w: say where to promote: the target domain (and the source, by default the domain allowed to promote into it)", ErrUsage)
	case req.From == "":
		if err := p.CheckDomain(req.To); err != nil {
			return err
		}
		src := promote.AllowedSources(p.Platform, req.To)
		if len(src) == 0 {
			return fmt.Errorf("%w: nothing may be promoted into %s under the platform's promotion rules; name the source domain", ErrUsage, req.To)
		}
		req.From = src[0]
	case req.To == "":
		if err := p.CheckDomain(req.From); err != nil {
			return err
		}
		next, ok := promote.NextDomain(p.Platform, req.From)
		if !ok {
			return fmt.Errorf("%w: %s is the last domain; name the target domain", ErrUsage, req.From)
		}
		req.To = next
	}
	for _, d := range []string{req.From, req.To} {
		if err := p.CheckDomain(d); err != nil {
			return err
		}
	}
	return nil
}

// Promote promotes a version's entities by digest under the platform's
// policy, with the project's one promoter.
func Promote(ctx context.Context, p *Project, req promote.Request) (*promote.Report, error) {
	if err := PromoteDefaults(p, &req); err != nil {
		return nil, err
	}
	pr, err := p.Promoter()
	if err != nil {
		return nil, err
	}
	return pr.Promote(ctx, req)
}
