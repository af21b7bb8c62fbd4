package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestClosedDropsQueuedCommands: closing a pull request ends its work. A
// command queued in the PR's lane behind running work is dropped when a
// worker reaches it after the close, never handled; the closed event itself
// is handled (prbot cleans up after it); reopening brings commands back.
func TestClosedDropsQueuedCommands(t *testing.T) {
	block := make(chan struct{})
	handled := make(chan *Delivery, 8)
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error {
		if d.ID == "sync" {
			<-block
		}
		handled <- d
		return nil
	}), WithWorkers(1))
	for _, p := range []post{
		{event: "pull_request", id: "sync", body: prPayload("o/r", 5, "synchronize", "h1")},
		{event: "issue_comment", id: "cmd", body: commentPayload("o/r", 5, "/runway register")},
		{event: "pull_request", id: "close", body: prPayload("o/r", 5, "closed", "h1")},
	} {
		if code, a, _ := r.send(t, p); code != 202 || a.Status != "accepted" {
			t.Fatalf("%s: %d %+v", p.id, code, a)
		}
	}
	close(block)
	var got []string
	for len(got) < 2 {
		select {
		case d := <-handled:
			got = append(got, d.ID)
		case <-time.After(10 * time.Second):
			t.Fatalf("handled %v, want sync and close", got)
		}
	}
	if strings.Join(got, ",") != "sync,close" {
		t.Fatalf("handled %v, want sync then close (the command dropped)", got)
	}
	if state, ok, _ := r.s.j.Seen("cmd"); !ok || state != stateDone {
		t.Fatalf("the dropped command is %q in the journal, want done (not replayed)", state)
	}
	if m := get(t, r.url+"/metrics"); !strings.Contains(m, `runway_webhook_deliveries_total{event="issue_comment",outcome="dropped"} 1`) {
		t.Error("the dropped command is not counted")
	}
	// Reopened: commands run again.
	for _, p := range []post{
		{event: "pull_request", id: "reopen", body: prPayload("o/r", 5, "reopened", "h1")},
		{event: "issue_comment", id: "cmd2", body: commentPayload("o/r", 5, "/runway plan")},
	} {
		if code, a, _ := r.send(t, p); code != 202 || a.Status != "accepted" {
			t.Fatalf("%s: %d %+v", p.id, code, a)
		}
	}
	for _, want := range []string{"reopen", "cmd2"} {
		select {
		case d := <-handled:
			if d.ID != want {
				t.Fatalf("handled %s, want %s", d.ID, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was not handled after the PR reopened", want)
		}
	}
}

// queueRecorder is a Handler that also records what QueueReporter is told.
type queueRecorder struct {
	block   chan struct{}
	handled chan *Delivery
	queued  chan string
}

func (q *queueRecorder) Handle(ctx context.Context, d *Delivery) error {
	if d.ID == "sync" {
		<-q.block
	}
	q.handled <- d
	return nil
}

func (q *queueRecorder) Queued(ctx context.Context, d *Delivery, ahead int, holder string) error {
	q.queued <- fmt.Sprintf("%s ahead=%d holder=%s", d.ID, ahead, holder)
	return nil
}

// TestQueuedCommandIsShown: a command that waits behind its pull request's
// running work is reported (for the sticky comment) with its place and what
// holds the lane, and reaches the handler marked Queued so the line is
// cleared; a command with nothing ahead is not reported.
func TestQueuedCommandIsShown(t *testing.T) {
	q := &queueRecorder{block: make(chan struct{}), handled: make(chan *Delivery, 8), queued: make(chan string, 8)}
	r := start(t, t.TempDir(), q, WithWorkers(1))
	if code, _, _ := r.send(t, post{event: "pull_request", id: "sync", body: prPayload("o/r", 5, "synchronize", "h1")}); code != 202 {
		t.Fatal(code)
	}
	if code, a, _ := r.send(t, post{event: "issue_comment", id: "cmd", body: commentPayload("o/r", 5, "/runway register")}); code != 202 || a.Position != 1 {
		t.Fatalf("%d %+v", code, a)
	}
	select {
	case got := <-q.queued:
		if !strings.HasPrefix(got, "cmd ahead=1 holder=delivery sync (pull_request.synchronize") {
			t.Fatalf("reported %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting command was not reported")
	}
	close(q.block)
	for _, want := range []string{"sync", "cmd"} {
		d := <-q.handled
		if d.ID != want || d.Queued != (want == "cmd") {
			t.Fatalf("handled %s (queued %v), want %s", d.ID, d.Queued, want)
		}
	}
	// The worker frees the lane after Handle returns: wait for that, so
	// that nothing is ahead of the next command.
	idle, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !r.s.q.waitIdle(idle) {
		t.Fatal("the queue did not go idle")
	}
	if code, _, _ := r.send(t, post{event: "issue_comment", id: "idle", body: commentPayload("o/r", 5, "/runway plan")}); code != 202 {
		t.Fatal(code)
	}
	if d := <-q.handled; d.ID != "idle" || d.Queued {
		t.Fatalf("handled %s queued %v: nothing was ahead of it", d.ID, d.Queued)
	}
	select {
	case got := <-q.queued:
		t.Fatalf("a command with nothing ahead was reported: %q", got)
	default:
	}
}
