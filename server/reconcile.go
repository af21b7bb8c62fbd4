package server

import (
	"context"
	"time"

	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/lock"
)

// HookDeliveries is what the reconciler needs of GitHub: the App's recent
// webhook deliveries, and a redelivery. *github.App has both.
type HookDeliveries interface {
	HookDeliveries(ctx context.Context, since time.Time) ([]github.HookDelivery, error)
	Redeliver(ctx context.Context, id int64) error
}

// Reconciler asks GitHub to redeliver what the server missed. GitHub never
// retries a failed delivery on its own: a delivery that met a down server
// (connection refused, 5xx, 503 from a full queue or a drain) is lost unless
// someone asks again. The sweep lists the App's deliveries of the last
// Window, keeps the GUIDs none of whose attempts succeeded and that the
// journal does not hold, and asks for one redelivery of each.
type Reconciler struct {
	GitHub   HookDeliveries
	Interval time.Duration // default 10m
	Window   time.Duration // default 3h; GitHub keeps deliveries for 3 days
	now      func() time.Time
}

// ReconcileReport is what one sweep did.
type ReconcileReport struct {
	Listed      int      `json:"listed"`
	Redelivered []string `json:"redelivered"`
	Known       int      `json:"known"`
	Errors      int      `json:"errors"`
}

func (r *Reconciler) loop(ctx context.Context, s *Server) {
	every := r.Interval
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Reconcile(ctx, r); err != nil && ctx.Err() == nil {
			s.log.Warn("reconciling webhook deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reconcile runs one sweep. With a Locker only one replica sweeps at a time.
func (s *Server) Reconcile(ctx context.Context, r *Reconciler) (*ReconcileReport, error) {
	if s.o.locker != nil {
		held, err := s.o.locker.Acquire(ctx, lock.LeaderKey("webhook-reconciler"))
		if err != nil {
			return nil, err
		}
		defer func() { _ = held.Release(context.WithoutCancel(ctx)) }()
		ctx = held.Context()
	}
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	window := r.Window
	if window <= 0 {
		window = 3 * time.Hour
	}
	list, err := r.GitHub.HookDeliveries(ctx, now().Add(-window))
	if err != nil {
		return nil, err
	}
	rep := &ReconcileReport{Listed: len(list), Redelivered: []string{}}
	ok := map[string]bool{}
	for _, d := range list {
		if d.StatusCode >= 200 && d.StatusCode < 300 {
			ok[d.GUID] = true
		}
	}
	asked := map[string]bool{}
	for _, d := range list {
		if ok[d.GUID] || asked[d.GUID] {
			continue
		}
		asked[d.GUID] = true
		if _, known, err := s.j.Seen(d.GUID); err == nil && known {
			rep.Known++
			s.m.reconciled.WithLabelValues("known").Inc()
			continue
		}
		if err := r.GitHub.Redeliver(ctx, d.ID); err != nil {
			rep.Errors++
			s.m.reconciled.WithLabelValues("error").Inc()
			s.log.Warn("asking GitHub to redeliver", "delivery", d.GUID, "hook_delivery_id", d.ID, "err", err)
			continue
		}
		rep.Redelivered = append(rep.Redelivered, d.GUID)
		s.m.reconciled.WithLabelValues("redelivered").Inc()
		s.log.Info("asked GitHub to redeliver a missed delivery", "delivery", d.GUID, "event", d.Event, "status_code", d.StatusCode)
	}
	return rep, nil
}
