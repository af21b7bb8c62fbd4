package promote

import (
	"context"
	"fmt"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/registrar"
)

// entityLock takes the cross-process lock of an entity's repository in its
// domain (lock.EntityKey): promotions into it, activations and
// deactivations of it, and registrations of it all queue on that one key,
// because their records share the repository's referrers index. One
// activation at a time means exactly one active launch plan, and each
// activation record names the one it replaced.
func (p *Promoter) entityLock(ctx context.Context, id registrar.ID) (lock.Held, error) {
	h, err := p.locker.Acquire(ctx, lock.EntityKey(id.Project, id.Domain, string(id.Kind), id.Name))
	if err != nil {
		return nil, fmt.Errorf("locking %s/%s in %s: %w", id.Kind, id.Name, id.Domain, err)
	}
	return h, nil
}
