package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/prbot"
)

// MaxBody is GitHub's own cap on a webhook payload: 25 MiB.
const MaxBody = 25 << 20

// Rejection reasons (the label of runway_webhook_rejections_total, and the
// first words of the answer).
const (
	reasonMethod      = "method"
	reasonUnsigned    = "unsigned"
	reasonSHA1Only    = "sha1_only"
	reasonForged      = "bad_signature"
	reasonTooLarge    = "too_large"
	reasonSlowBody    = "slow_body"
	reasonBadRequest  = "bad_request"
	reasonQueueFull   = "queue_full"
	reasonDraining    = "draining"
	reasonJournal     = "journal_error"
	reasonBadEncoding = "bad_payload"
)

type answer struct {
	Status   string `json:"status"`
	Delivery string `json:"delivery,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Position is how many deliveries of the same pull request (or
	// branch) are ahead of this one.
	Position int    `json:"position,omitempty"`
	Message  string `json:"message"`
}

func (s *Server) reply(w http.ResponseWriter, code int, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(a)
}

func (s *Server) refuse(w http.ResponseWriter, log *slog.Logger, code int, reason, msg string) {
	s.m.rejections.WithLabelValues(reason).Inc()
	log.Warn("webhook refused", "reason", reason, "status", code, "why", msg)
	s.reply(w, code, answer{Status: "refused", Reason: reason, Message: msg})
}

// webhook is POST /webhook: verify -> parse -> filter -> journal (fsync)
// -> queue -> 202. The answer never waits for the work.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { s.m.ack.Observe(time.Since(start).Seconds()) }()
	id := r.Header.Get("X-GitHub-Delivery")
	event := r.Header.Get("X-GitHub-Event")
	log := s.log.With("delivery", id, "event", event)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.refuse(w, log, http.StatusMethodNotAllowed, reasonMethod, "webhooks are POSTed")
		return
	}
	if s.draining.Load() {
		w.Header().Set("Retry-After", "5")
		s.refuse(w, log, http.StatusServiceUnavailable, reasonDraining, "this replica is shutting down; deliver again (another replica, or this one after its restart)")
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		if r.Header.Get("X-Hub-Signature") != "" {
			s.refuse(w, log, http.StatusUnauthorized, reasonSHA1Only, "only X-Hub-Signature-256 (HMAC-SHA256) is accepted; the SHA-1 X-Hub-Signature alone is refused")
			return
		}
		s.refuse(w, log, http.StatusUnauthorized, reasonUnsigned, "the request carries no X-Hub-Signature-256; set the webhook secret on GitHub")
		return
	}
	if r.ContentLength > MaxBody {
		s.refuse(w, log, http.StatusRequestEntityTooLarge, reasonTooLarge, fmt.Sprintf("the body is %d bytes; GitHub's limit, and runway's, is %d", r.ContentLength, MaxBody))
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			s.refuse(w, log, http.StatusRequestEntityTooLarge, reasonTooLarge, fmt.Sprintf("the body is larger than %d bytes, GitHub's limit and runway's", MaxBody))
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.refuse(w, log, http.StatusRequestTimeout, reasonSlowBody, fmt.Sprintf("the body did not arrive within %v", s.o.bodyTimeout))
		default:
			s.refuse(w, log, http.StatusBadRequest, reasonBadRequest, "reading the body: "+err.Error())
		}
		return
	}
	if !s.validSignature(sig, body) {
		s.refuse(w, log, http.StatusUnauthorized, reasonForged, "X-Hub-Signature-256 does not match the body under runway's webhook secret")
		return
	}
	if id == "" || event == "" || len(id) > 128 {
		s.refuse(w, log, http.StatusBadRequest, reasonBadRequest, "X-GitHub-Delivery and X-GitHub-Event are required (GitHub sends both)")
		return
	}
	payload, err := jsonPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		s.refuse(w, log, http.StatusBadRequest, reasonBadEncoding, err.Error())
		return
	}
	d, prHead, relevant, err := classify(id, event, payload)
	if err != nil {
		s.refuse(w, log, http.StatusBadRequest, reasonBadEncoding, err.Error())
		return
	}
	if !relevant {
		s.m.deliveries.WithLabelValues(event, outcomeIgnored).Inc()
		log.Info("webhook ignored", "action", d.Action, "repo", d.Repo)
		s.reply(w, http.StatusAccepted, answer{Status: "ignored", Delivery: id, Message: "runway does nothing for this event: " + describe(d)})
		return
	}
	if d.Key == "" && recordOnly(d.Event) {
		d.Received = time.Now().UTC()
		err := s.j.Record(d)
		s.m.journal.Observe(time.Since(d.Received).Seconds())
		if err != nil {
			if errors.Is(err, ErrDuplicate) {
				s.duplicate(w, log, d)
				return
			}
			log.Error("journaling a delivery", "err", err)
			s.refuse(w, log, http.StatusInternalServerError, reasonJournal, "the delivery could not be journaled; deliver again")
			return
		}
		s.m.deliveries.WithLabelValues(event, outcomeRecorded).Inc()
		log.Info("webhook recorded", "action", d.Action, "installation", d.Installation)
		s.reply(w, http.StatusAccepted, answer{Status: "recorded", Delivery: id, Message: "journaled; " + describe(d)})
		return
	}
	if !s.q.reserve() {
		w.Header().Set("Retry-After", "30")
		s.refuse(w, log, http.StatusServiceUnavailable, reasonQueueFull, fmt.Sprintf("the queue holds %d deliveries, its limit; deliver again later", s.o.queueSize))
		return
	}
	d.Received = time.Now().UTC()
	err = s.j.Add(d, prHead)
	s.m.journal.Observe(time.Since(d.Received).Seconds())
	if err != nil {
		s.q.release()
		if errors.Is(err, ErrDuplicate) {
			s.duplicate(w, log, d)
			return
		}
		log.Error("journaling a delivery", "err", err)
		s.refuse(w, log, http.StatusInternalServerError, reasonJournal, "the delivery could not be journaled; deliver again")
		return
	}
	ahead, holder := s.q.push(d, true)
	running := holder != nil
	s.m.deliveries.WithLabelValues(event, outcomeAccepted).Inc()
	if d.Queued {
		s.showQueued(d, ahead, holder)
	}
	log.Info("webhook accepted", "action", d.Action, "repo", d.Repo, "key", d.Key, "ahead", ahead)
	msg := "journaled; " + describe(d)
	if ahead > 0 {
		msg += fmt.Sprintf("; queued behind %d in %s", ahead, d.Key)
		if running {
			msg += " (one of them running)"
		}
	}
	s.reply(w, http.StatusAccepted, answer{Status: "accepted", Delivery: id, Position: ahead, Message: msg})
}

func (s *Server) duplicate(w http.ResponseWriter, log *slog.Logger, d *Delivery) {
	s.m.dedupes.Inc()
	s.m.deliveries.WithLabelValues(d.Event, outcomeDuplicate).Inc()
	log.Info("webhook duplicate: already journaled")
	s.reply(w, http.StatusOK, answer{Status: "duplicate", Delivery: d.ID, Reason: "replayed",
		Message: "delivery " + d.ID + " was received before; it is not journaled or handled again"})
}

// recordOnly says whether an event's whole effect is to be recorded.
func recordOnly(event string) bool {
	switch event {
	case "ping", "installation", "installation_repositories":
		return true
	}
	return false
}

// readBody reads at most MaxBody bytes, within the body timeout: a client
// that trickles its body is cut off, not waited for.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.o.bodyTimeout))
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		// The rest of the body is not waited for: the connection closes
		// after the answer.
		w.Header().Set("Connection", "close")
		return nil, err
	}
	_ = rc.SetReadDeadline(time.Time{})
	return buf.Bytes(), nil
}

func (s *Server) validSignature(header string, body []byte) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, s.o.secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// jsonPayload returns the event's JSON: the body itself, or the payload
// field of a form-encoded body (GitHub's "application/x-www-form-urlencoded"
// content type).
func jsonPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("the form-encoded body does not parse: %w", err)
		}
		p := vals.Get("payload")
		if p == "" {
			return nil, errors.New("the form-encoded body has no payload field")
		}
		body = []byte(p)
	}
	return body, nil // classify's decoding refuses what is not JSON
}

// envelope is what the server reads of a payload to file and order it; the
// work reads the rest.
type envelope struct {
	Action     string `json:"action"`
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Number     int    `json:"number"`
	Repository *struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
	Issue *struct {
		Number      int             `json:"number"`
		PullRequest json.RawMessage `json:"pull_request"`
	} `json:"issue"`
	Comment *struct {
		Body string `json:"body"`
		User struct {
			Type string `json:"type"`
		} `json:"user"`
	} `json:"comment"`
}

// classify reads what the server needs of a delivery and decides whether it
// has work: relevant deliveries are journaled, the rest answered and
// counted. prHead is the head a pull_request event carries.
func classify(id, event string, payload []byte) (d *Delivery, prHead string, relevant bool, err error) {
	var e envelope
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, "", false, fmt.Errorf("the %s payload does not decode: %w", event, err)
	}
	d = &Delivery{ID: id, Event: event, Action: e.Action, Payload: payload}
	if e.Repository != nil {
		d.Repo = e.Repository.FullName
	}
	if e.Installation != nil {
		d.Installation = e.Installation.ID
	}
	switch event {
	case "ping", "installation", "installation_repositories":
		return d, "", true, nil // recorded (recordOnly)
	case "pull_request":
		if e.PullRequest == nil || d.Repo == "" {
			return d, "", false, nil
		}
		d.Key = lock.PRKey(d.Repo, e.PullRequest.Number)
		switch e.Action {
		case "opened", "synchronize", "reopened":
			return d, e.PullRequest.Head.SHA, true, nil
		case "closed":
			return d, "", true, nil
		}
		return d, "", false, nil
	case "issue_comment":
		if e.Action != "created" || e.Issue == nil || e.Comment == nil || d.Repo == "" {
			return d, "", false, nil
		}
		if e.Comment.User.Type == "Bot" {
			return d, "", false, nil // runway's own replies, and other bots
		}
		cmd, err := prbot.ParseCommand(e.Comment.Body)
		if errors.Is(err, prbot.ErrNotACommand) {
			return d, "", false, nil
		}
		d.Command = string(cmd.Verb)
		if err != nil {
			d.Command = "invalid" // answered with the usage, by the bot
		}
		d.Key = lock.PRKey(d.Repo, e.Issue.Number)
		return d, "", true, nil
	case "push":
		if e.Repository == nil || d.Repo == "" || e.Deleted || e.Ref != "refs/heads/"+e.Repository.DefaultBranch {
			return d, "", false, nil
		}
		d.Key = lock.BranchKey(d.Repo, e.Ref)
		return d, "", true, nil
	}
	return d, "", false, nil
}

func describe(d *Delivery) string {
	s := d.Event
	if d.Action != "" {
		s += "." + d.Action
	}
	if d.Repo != "" {
		s += " on " + d.Repo
	}
	return s
}

// QueueReporter is implemented by a Handler that can tell a pull request
// a command of it waits (Bot: a line in the sticky comment).
type QueueReporter interface {
	Queued(ctx context.Context, d *Delivery, ahead int, holder string) error
}

// showQueued tells the pull request, off the acknowledgement's path, that
// d waits behind ahead deliveries and what holds its lane.
func (s *Server) showQueued(d *Delivery, ahead int, holder *Delivery) {
	qr, ok := s.o.handler.(QueueReporter)
	if !ok {
		return
	}
	what := ""
	if holder != nil {
		what = "delivery " + holder.ID + " (" + describe(holder)
		if holder.Command != "" {
			what += ", /runway " + holder.Command
		}
		what += ")"
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := qr.Queued(ctx, d, ahead, what); err != nil {
			s.log.Warn("telling the pull request its command waits", "delivery", d.ID, "err", err)
		}
	}()
}
