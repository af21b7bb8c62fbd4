package server

import (
	"context"
	"fmt"
	"time"
)

// worker takes deliveries from the queue until it closes.
func (s *Server) worker(ctx context.Context) {
	defer s.wg.Done()
	for {
		d, key, ok := s.q.take()
		if !ok {
			return
		}
		s.work(ctx, d)
		s.q.done(key)
	}
}

// work runs one delivery to its end: handled, failed, or left pending
// because the server is stopping (or lost the lane's lock).
func (s *Server) work(ctx context.Context, d *Delivery) {
	log := s.log.With("delivery", d.ID, "event", d.Event, "action", d.Action, "repo", d.Repo)
	outer := ctx // the server's: ends when it stops
	if s.o.locker != nil && d.Key != "" {
		held, err := s.o.locker.Acquire(ctx, d.Key)
		if err != nil {
			log.Warn("could not take the lane's lock", "key", d.Key, "err", err)
			s.requeue(outer, log, d)
			return
		}
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = held.Release(rctx)
		}()
		ctx = held.Context() // ends if the lock is lost: the work stops, and is retried
	}
	if d.Attempts >= s.o.maxAttempts {
		// Started that often and never finished: it took the server down
		// with it each time. Give up on it rather than crash-loop.
		err := fmt.Errorf("started %d times without finishing; given up", d.Attempts)
		log.Error("delivery failed", "err", err)
		s.finish(log, d, err)
		s.m.deliveries.WithLabelValues(d.Event, outcomeFailed).Inc()
		return
	}
	if d.Event == "issue_comment" && d.Key != "" && s.j.Closed(d.Key) {
		// Closing the pull request ends its work: a command queued before
		// the close would act on a PR nobody is looking at any more.
		log.Info("the pull request was closed before this command ran; the command is dropped", "key", d.Key)
		s.finish(log, d, nil)
		s.m.deliveries.WithLabelValues(d.Event, outcomeDropped).Inc()
		return
	}
	if err := s.j.Started(d); err != nil {
		log.Error("journaling the start of a delivery", "err", err)
		s.requeue(outer, log, d)
		return
	}
	start := time.Now()
	err := s.handle(ctx, d)
	s.m.handling.WithLabelValues(d.Event, commandLabel(d)).Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		log.Info("delivery handled", "attempt", d.Attempts, "took", time.Since(start).Round(time.Millisecond))
		s.finish(log, d, nil)
		s.m.deliveries.WithLabelValues(d.Event, outcomeHandled).Inc()
	case outer.Err() != nil:
		log.Warn("stopping: the delivery stays in the journal for the next start", "err", err)
	case ctx.Err() != nil:
		log.Warn("the lane's lock was lost while working; the work stopped and runs again", "err", err, "cause", context.Cause(ctx))
		s.requeue(outer, log, d)
	default:
		// Not retried here: the GitHub and registry clients under the
		// handler already retry what is worth retrying, with backoff, and
		// the handler has told the user what failed (the PR comment, the
		// commit status). Doing it all again would post the reply again.
		log.Error("delivery failed", "attempt", d.Attempts, "took", time.Since(start).Round(time.Millisecond), "err", err)
		s.finish(log, d, err)
		s.m.deliveries.WithLabelValues(d.Event, outcomeFailed).Inc()
	}
}

// requeue puts d back at the end of its lane after a pause, unless the
// server is stopping (then it stays in the journal for the next start).
func (s *Server) requeue(ctx context.Context, log interface{ Info(string, ...any) }, d *Delivery) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(s.o.requeueAfter):
	}
	log.Info("delivery queued again", "after", s.o.requeueAfter)
	s.q.push(d, false)
}

// handle calls the handler, turning a panic into an error: one bad
// delivery must not take the server, and the other deliveries, down.
func (s *Server) handle(ctx context.Context, d *Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return s.o.handler.Handle(ctx, d)
}

func (s *Server) finish(log interface{ Error(string, ...any) }, d *Delivery, cause error) {
	if err := s.j.Finish(d, cause); err != nil {
		log.Error("journaling the end of a delivery", "err", err)
	}
}

// commandLabel is the metrics label for the work a delivery asks for.
func commandLabel(d *Delivery) string {
	switch {
	case d.Command != "":
		return d.Command
	case d.Action != "":
		return d.Action
	}
	return "-"
}
