package server

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestJournalGroupCommit: concurrent writes share commits, each is durable
// when it returns, and a delivery id written twice at once is journaled
// once (the other write gets ErrDuplicate and writes nothing).
func TestJournalGroupCommit(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var wg sync.WaitGroup
	var dups, oks atomic.Int32
	for i := 0; i < n; i++ {
		for k := 0; k < 2; k++ { // every id twice, at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := &Delivery{ID: fmt.Sprint("g", i), Event: "pull_request", Key: fmt.Sprint("pr/o/r/", i%7), Received: time.Now(), Payload: fmt.Appendf(nil, `{"n":%d}`, i)}
				switch err := j.Add(d, ""); {
				case err == nil:
					oks.Add(1)
				case errors.Is(err, ErrDuplicate):
					dups.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if oks.Load() != n || dups.Load() != n {
		t.Fatalf("%d journaled and %d duplicates, want %d of each", oks.Load(), dups.Load(), n)
	}
	if c := j.commits.Load(); c >= 2*n {
		t.Errorf("%d commits for %d writes: nothing was grouped", c, 2*n)
	} else {
		t.Logf("%d writes in %d commits", 2*n, c)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Add(&Delivery{ID: "late"}, ""); !errors.Is(err, errClosed) {
		t.Fatalf("a write after Close: %v", err)
	}
	j2, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	pending, err := j2.Pending()
	if err != nil || len(pending) != n {
		t.Fatalf("%d pending after reopening, %v; want %d", len(pending), err, n)
	}
	for i := 1; i < len(pending); i++ {
		if pending[i].seq <= pending[i-1].seq {
			t.Fatal("pending deliveries out of order")
		}
	}
}

// TestJournalRefusesASecondOpener: two servers must not share a journal.
func TestJournalRefusesASecondOpener(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := OpenJournal(dir); err == nil {
		t.Fatal("a second OpenJournal of one directory succeeded")
	}
}
