package server

import (
	"context"
	"encoding/json"
	"time"
)

// Delivery is one webhook delivery as the journal keeps it and a Handler
// receives it.
type Delivery struct {
	// ID is GitHub's X-GitHub-Delivery: the same for a redelivery.
	ID string `json:"id"`
	// Event is X-GitHub-Event: pull_request, issue_comment, push, ...
	Event string `json:"event"`
	// Action is the payload's "action" (opened, created, ...), if any.
	Action string `json:"action,omitempty"`
	// Repo is owner/name.
	Repo string `json:"repo,omitempty"`
	// Key orders work: deliveries with the same key run one at a time, in
	// the order they were received, and it is the lock a replica takes for
	// them (one pull request: lock.PRKey; the default branch:
	// lock.BranchKey). Empty: no order.
	Key string `json:"key,omitempty"`
	// Head is, for a comment on a pull request, the PR head as runway last
	// saw it from a pull_request event before the comment arrived ("" when
	// runway has seen none). A command acts only on that head.
	Head string `json:"head,omitempty"`
	// Command is the verb of a /runway comment (plan, register, ...; "" for
	// other events), for metrics and logs.
	Command string `json:"command,omitempty"`
	// Installation is the GitHub App installation that sent it (0 without
	// an App).
	Installation int64 `json:"installation,omitempty"`
	// Queued: the command waited behind other work of its pull request and
	// the sticky comment says so (QueueReporter), until it starts. Not
	// journaled: after a restart the line stays until the comment is
	// rendered again.
	Queued bool `json:"-"`
	// Received is when the server journaled it.
	Received time.Time `json:"received"`
	// Attempts counts how often a worker started it, this one included.
	Attempts int `json:"attempts"`
	// Payload is the event's JSON (a form-encoded delivery's payload field).
	Payload json.RawMessage `json:"payload"`

	seq uint64
}

// Handler does a delivery's work. It must be idempotent: after a crash a
// delivery that was started but not finished is handed over again (with
// Attempts > 1), and its effect must happen once.
type Handler interface {
	Handle(ctx context.Context, d *Delivery) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, d *Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d *Delivery) error { return f(ctx, d) }
