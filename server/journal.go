package server

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The journal's buckets.
var (
	bucketPending = []byte("pending") // seq (8 bytes, big endian) -> Delivery JSON
	bucketSeen    = []byte("seen")    // delivery id -> seenRecord JSON
	// bucketBodies: sha256 of event name and signed body -> delivery id.
	// GitHub's signature covers the body, not the X-GitHub-Delivery
	// header, so a captured request resent under a fresh delivery id
	// verifies; its body gives it away. GitHub's own redeliveries keep
	// the delivery id, and two real events never share a body (each
	// carries its own ids, SHAs and times).
	bucketBodies = []byte("bodies")
	bucketHeads  = []byte("heads") // "owner/repo#N" -> the PR head last seen
)

// Delivery states in the seen bucket.
const (
	statePending = "pending"
	stateDone    = "done"
	stateFailed  = "failed"
)

type seenRecord struct {
	Seq      uint64    `json:"seq"`
	State    string    `json:"state"`
	Event    string    `json:"event"`
	Received time.Time `json:"received"`
	Finished time.Time `json:"finished,omitzero"`
	Error    string    `json:"error,omitempty"`
}

// ErrDuplicate is returned by Journal.Add for a delivery id it holds.
var ErrDuplicate = errors.New("duplicate delivery")

// Journal is the durable record of deliveries: a bbolt file whose every
// write is fsynced before it returns.
//
// Writes go through one committer goroutine (group commit): it takes the
// first write waiting, then every write that arrived meanwhile, and commits
// them in one transaction, one fsync for all. While a commit is on the
// disk the next writes gather, so the number of fsyncs adapts to the disk:
// a write waits for at most the commit in progress and its own, however
// many arrive. (bbolt's own Batch starts a new batch every millisecond
// even while the last one waits for the disk, so on a slow disk batches
// pile up behind the write lock, each with its fsync.)
type Journal struct {
	db     *bolt.DB
	ops    chan *journalOp
	closed chan struct{}
	done   chan struct{}
	once   sync.Once
	// commits counts transactions committed by the committer.
	commits atomic.Int64
}

type journalOp struct {
	fn  func(*bolt.Tx) error
	res chan error
}

// maxGroup bounds the writes of one commit.
const maxGroup = 1000

// errClosed is returned by writes after Close.
var errClosed = errors.New("the journal is closed")

// OpenJournal opens (or creates) the journal in dir. A second process
// opening the same directory waits up to two seconds for the first to let
// go, then fails: two servers must never share a journal.
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "journal.db")
	// The freelist is not written on every commit (rebuilt on open instead):
	// fewer pages per fsync on a write-heavy file.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening the journal %s: another runway serve holds it (each replica needs its own --state-dir)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the journal %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketPending, bucketSeen, bucketHeads, bucketBodies} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising the journal %s: %w", path, err)
	}
	j := &Journal{db: db, ops: make(chan *journalOp), closed: make(chan struct{}), done: make(chan struct{})}
	go j.committer()
	return j, nil
}

// Close stops the committer (writes waiting get an error) and closes the
// file.
func (j *Journal) Close() error {
	j.once.Do(func() { close(j.closed) })
	<-j.done
	return j.db.Close()
}

// write runs fn in a transaction committed (and fsynced) before write
// returns, together with the other writes waiting. fn must write nothing
// when it returns ErrDuplicate, and may run twice (after another write of
// its group failed).
func (j *Journal) write(fn func(*bolt.Tx) error) error {
	op := &journalOp{fn: fn, res: make(chan error, 1)}
	select {
	case j.ops <- op:
	case <-j.closed:
		return errClosed
	}
	return <-op.res
}

func (j *Journal) committer() {
	defer close(j.done)
	for {
		var group []*journalOp
		select {
		case op := <-j.ops:
			group = append(group, op)
		case <-j.closed:
			return
		}
	gather:
		for len(group) < maxGroup {
			select {
			case op := <-j.ops:
				group = append(group, op)
			default:
				break gather
			}
		}
		j.commit(group)
	}
}

// commit runs a group in one transaction. If a write fails (other than
// as a duplicate, which writes nothing), the transaction is rolled back
// and every write of the group runs again alone, so it fails only itself.
func (j *Journal) commit(group []*journalOp) {
	errs := make([]error, len(group))
	j.commits.Add(1)
	err := j.db.Update(func(tx *bolt.Tx) error {
		for i, op := range group {
			if err := op.fn(tx); err != nil {
				if errors.Is(err, ErrDuplicate) {
					errs[i] = err
					continue
				}
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, op := range group {
			op.res <- j.db.Update(op.fn)
		}
		return
	}
	for i, op := range group {
		if err != nil {
			op.res <- err
		} else {
			op.res <- errs[i]
		}
	}
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.db.Path() }

func seqKey(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// Add journals d durably. A delivery id the journal holds (pending, done or
// failed) gives ErrDuplicate and writes nothing. For a pull_request event
// Add records the head it carries (prHead) under d.Key; for a comment on a
// pull request it sets d.Head from that record, in the same transaction.
func (j *Journal) Add(d *Delivery, prHead string) error {
	return j.write(func(tx *bolt.Tx) error {
		seen := tx.Bucket(bucketSeen)
		if seen.Get([]byte(d.ID)) != nil {
			return ErrDuplicate
		}
		if err := claimBody(tx, d); err != nil {
			return err
		}
		heads := tx.Bucket(bucketHeads)
		if err := markClosed(heads, d); err != nil {
			return err
		}
		switch {
		case prHead != "" && d.Key != "":
			if err := heads.Put([]byte(d.Key), []byte(prHead)); err != nil {
				return err
			}
		case d.Event == "issue_comment" && d.Key != "":
			d.Head = string(heads.Get([]byte(d.Key)))
		}
		pending := tx.Bucket(bucketPending)
		seq, err := pending.NextSequence()
		if err != nil {
			return err
		}
		d.seq = seq
		body, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := pending.Put(seqKey(seq), body); err != nil {
			return err
		}
		rec, _ := json.Marshal(seenRecord{Seq: seq, State: statePending, Event: d.Event, Received: d.Received})
		return seen.Put([]byte(d.ID), rec)
	})
}

// Record journals d as received and done at once, for the events whose
// only effect is to be recorded (ping, installation): one write, no work.
// A delivery id the journal holds gives ErrDuplicate.
func (j *Journal) Record(d *Delivery) error {
	return j.write(func(tx *bolt.Tx) error {
		seen := tx.Bucket(bucketSeen)
		if seen.Get([]byte(d.ID)) != nil {
			return ErrDuplicate
		}
		if err := claimBody(tx, d); err != nil {
			return err
		}
		rec, _ := json.Marshal(seenRecord{State: stateDone, Event: d.Event, Received: d.Received, Finished: d.Received})
		return seen.Put([]byte(d.ID), rec)
	})
}

// Started counts an attempt of d, durably, before its work begins, so that
// a delivery that crashes the server every time is given up after a
// bounded number of restarts.
func (j *Journal) Started(d *Delivery) error {
	d.Attempts++
	return j.write(func(tx *bolt.Tx) error {
		body, err := json.Marshal(d)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Put(seqKey(d.seq), body)
	})
}

// Finish moves d out of the pending bucket: done, or failed with cause.
func (j *Journal) Finish(d *Delivery, cause error) error {
	return j.write(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketPending).Delete(seqKey(d.seq)); err != nil {
			return err
		}
		rec := seenRecord{Seq: d.seq, State: stateDone, Event: d.Event, Received: d.Received, Finished: time.Now().UTC()}
		if cause != nil {
			rec.State, rec.Error = stateFailed, cause.Error()
		}
		b, _ := json.Marshal(rec)
		return tx.Bucket(bucketSeen).Put([]byte(d.ID), b)
	})
}

// Pending returns the deliveries not finished, oldest first.
func (j *Journal) Pending() ([]*Delivery, error) {
	var out []*Delivery
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
			d := &Delivery{}
			if err := json.Unmarshal(v, d); err != nil {
				return fmt.Errorf("journal entry %x: %w", k, err)
			}
			d.seq = binary.BigEndian.Uint64(k)
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// Seen reports whether the journal holds a delivery id, and its state
// (pending, done or failed).
func (j *Journal) Seen(id string) (state string, ok bool, err error) {
	err = j.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSeen).Get([]byte(id))
		if v == nil {
			return nil
		}
		var r seenRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("journal record of delivery %s: %w", id, err)
		}
		state, ok = r.State, true
		return nil
	})
	return state, ok, err
}

// Counts returns how many deliveries the journal holds in each state.
func (j *Journal) Counts() (map[string]int, error) {
	out := map[string]int{}
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSeen).ForEach(func(k, v []byte) error {
			var r seenRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out[r.State]++
			return nil
		})
	})
	return out, err
}

// Prune forgets finished deliveries received before cutoff, so the seen
// bucket does not grow without bound. A delivery GitHub redelivers after
// that is handled again; handlers are idempotent.
func (j *Journal) Prune(cutoff time.Time) (int, error) {
	n := 0
	err := j.db.Update(func(tx *bolt.Tx) error {
		seen := tx.Bucket(bucketSeen)
		c := seen.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var r seenRecord
			if json.Unmarshal(v, &r) != nil || r.State == statePending || !r.Received.Before(cutoff) {
				continue
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// claimBody records d's body under its delivery id. ErrDuplicate means
// another delivery id already brought the same body (a replay under a fresh
// id); the transaction then writes nothing.
func claimBody(tx *bolt.Tx, d *Delivery) error {
	h := sha256.New()
	h.Write([]byte(d.Event))
	h.Write([]byte{0})
	h.Write(d.Payload)
	key := h.Sum(nil)
	bodies := tx.Bucket(bucketBodies)
	if bodies.Get(key) != nil {
		return ErrDuplicate
	}
	return bodies.Put(key, []byte(d.ID))
}

// closedSuffix marks, in the heads bucket, a pull request that was closed:
// "<key>\x00closed". Commands queued for it are dropped, not run.
const closedSuffix = "\x00closed"

// markClosed records a pull_request closed (and forgets it on reopened),
// in the transaction that journals the event: a command still queued
// behind it in the lane sees the PR closed when a worker reaches it.
func markClosed(heads *bolt.Bucket, d *Delivery) error {
	if d.Event != "pull_request" || d.Key == "" {
		return nil
	}
	switch d.Action {
	case "closed":
		return heads.Put([]byte(d.Key+closedSuffix), []byte(d.Received.UTC().Format(time.RFC3339)))
	case "reopened":
		return heads.Delete([]byte(d.Key + closedSuffix))
	}
	return nil
}

// Closed reports whether the pull request of lane key was closed (and not
// reopened) by a journaled event.
func (j *Journal) Closed(key string) bool {
	closed := false
	_ = j.db.View(func(tx *bolt.Tx) error {
		closed = tx.Bucket(bucketHeads).Get([]byte(key+closedSuffix)) != nil
		return nil
	})
	return closed
}
