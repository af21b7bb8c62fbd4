package server

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// queue holds the journaled deliveries that wait for a worker, in lanes:
// one lane per Delivery.Key, first in first out, one delivery of a lane at
// a time; different lanes run in parallel. Its capacity bounds what the
// server accepts: a full queue makes the webhook answer 503 before anything
// is journaled. Capacity counts the deliveries being worked on too, so a
// slot is reserved at the door and released when the work is finished.
type queue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	capacity int
	used     int // reserved slots: reserved at the door, queued, or running
	lanes    map[string][]*Delivery
	ready    []string        // lanes with work and no worker, oldest first
	busy     map[string]bool // lanes a worker is on
	running  int
	closed   bool
	anon     uint64
}

func newQueue(capacity int) *queue {
	q := &queue{capacity: capacity, lanes: map[string][]*Delivery{}, busy: map[string]bool{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// reserve takes a slot, or reports that the queue is full.
func (q *queue) reserve() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.used >= q.capacity {
		return false
	}
	q.used++
	return true
}

// release gives back a slot reserved for a delivery that was not queued
// (a duplicate, or a journal error), or whose work is finished.
func (q *queue) release() {
	q.mu.Lock()
	q.used--
	q.mu.Unlock()
	q.cond.Broadcast()
}

// push queues d, whose slot was reserved (or, on replay, is taken here
// regardless of capacity: a journaled delivery is never dropped). It
// returns how many deliveries of d's lane are before it and, when a worker
// is on the lane, the one it works on; a comment command that has to wait
// is marked Queued here, under the lock the worker takes it with.
func (q *queue) push(d *Delivery, reserved bool) (ahead int, holder *Delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !reserved {
		q.used++
	}
	key := d.Key
	if key == "" {
		q.anon++
		key = "\x00" + strconv.FormatUint(q.anon, 10) // a lane of its own
	}
	q.lanes[key] = append(q.lanes[key], d)
	if len(q.lanes[key]) == 1 && !q.busy[key] {
		q.ready = append(q.ready, key)
	}
	q.cond.Signal()
	ahead = len(q.lanes[key]) - 1
	if q.busy[key] {
		holder = q.lanes[key][0]
	}
	d.Queued = d.Event == "issue_comment" && ahead > 0
	return ahead, holder
}

// take waits for a delivery whose lane is free. It returns false once the
// queue is closed; the deliveries still queued then stay in the journal.
func (q *queue) take() (*Delivery, string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, "", false
	}
	key := q.ready[0]
	q.ready = q.ready[1:]
	d := q.lanes[key][0]
	q.busy[key] = true
	q.running++
	return d, key, true
}

// done ends the work on the head of lane key and frees the lane.
func (q *queue) done(key string) {
	q.mu.Lock()
	l := q.lanes[key][1:]
	if len(l) == 0 {
		delete(q.lanes, key)
	} else {
		q.lanes[key] = l
		q.ready = append(q.ready, key)
	}
	delete(q.busy, key)
	q.running--
	q.used--
	q.mu.Unlock()
	q.cond.Broadcast()
}

// close wakes every waiting worker; take returns false from then on.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// stats are what the metrics show.
func (q *queue) stats() (depth, running int, oldest time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	for _, l := range q.lanes {
		for _, d := range l {
			depth++
			if age := now.Sub(d.Received); age > oldest {
				oldest = age
			}
		}
	}
	return depth - q.running, q.running, oldest
}

// waitIdle blocks until nothing runs or ctx ends.
func (q *queue) waitIdle(ctx context.Context) bool {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()   // so the wake-up cannot fall between the check and Wait
		q.mu.Unlock() //nolint:staticcheck // SA2001: the empty section is the point (see above)
		q.cond.Broadcast()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.running > 0 && ctx.Err() == nil {
		q.cond.Wait()
	}
	return q.running == 0
}
