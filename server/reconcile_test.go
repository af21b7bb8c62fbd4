package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// TestReconcileRedeliversMissed: the App's delivery log (the GitHub fake,
// as the App's JWT sees it) has deliveries that met a down server; the
// sweep asks for each once, GitHub redelivers them signed, and they are
// journaled. Deliveries that succeeded, or that the journal holds, are
// left alone.
func TestReconcileRedeliversMissed(t *testing.T) {
	ctx := context.Background()
	got := make(chan *Delivery, 8)
	r := start(t, t.TempDir(), HandlerFunc(func(ctx context.Context, d *Delivery) error { got <- d; return nil }))
	f := githubfake.New(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.AddApp(11, &key.PublicKey, time.Hour)
	f.SetWebhook(r.url+"/webhook", testSecret)
	payload := prPayload("o/r", 4, "opened", "abc")
	// Journaled before (GitHub saw a timeout, runway had it).
	if code, _, _ := r.send(t, post{event: "pull_request", id: "known", body: payload}); code != 202 {
		t.Fatal("setup")
	}
	<-got
	// Another event than the known one: GitHub deliveries never share a
	// body, and the journal refuses a body it holds (a replay).
	missed := prPayload("o/r", 4, "synchronize", "def")
	f.AddHookDelivery(githubfake.HookDelivery{GUID: "missed", Event: "pull_request", Action: "synchronize", StatusCode: 0, Payload: missed})
	f.AddHookDelivery(githubfake.HookDelivery{GUID: "known", Event: "pull_request", Action: "opened", StatusCode: 504, Payload: payload})
	f.AddHookDelivery(githubfake.HookDelivery{GUID: "fine", Event: "pull_request", Action: "opened", StatusCode: 202, Payload: payload})
	f.AddHookDelivery(githubfake.HookDelivery{GUID: "retried", Event: "pull_request", Action: "opened", StatusCode: 503, Payload: payload})
	f.AddHookDelivery(githubfake.HookDelivery{GUID: "retried", Event: "pull_request", Action: "opened", StatusCode: 202, Payload: payload, Redelivery: true})
	f.AddHookDelivery(githubfake.HookDelivery{GUID: "ancient", Event: "pull_request", StatusCode: 0, Payload: payload, DeliveredAt: time.Now().Add(-48 * time.Hour)})
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	app, err := github.NewApp(11, pemKey, github.WithBaseURL(f.URL()))
	if err != nil {
		t.Fatal(err)
	}
	rec := &Reconciler{GitHub: app}
	rep, err := r.s.Reconcile(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Redelivered, []string{"missed"}) || rep.Known != 1 {
		t.Fatalf("sweep %+v, want only missed redelivered and known skipped", rep)
	}
	select {
	case d := <-got:
		if d.ID != "missed" || d.Key != "pr/o/r/4" {
			t.Fatalf("handled %+v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the redelivery did not arrive")
	}
	// The next sweep finds the redelivery's 202 (or the journal) and asks
	// for nothing.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rep, err = r.s.Reconcile(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Redelivered) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(rep.Redelivered) != 0 {
		t.Fatalf("second sweep redelivered %v", rep.Redelivered)
	}
	if m := get(t, r.url+"/metrics"); !strings.Contains(m, `runway_webhook_reconcile_total{result="redelivered"} 1`) {
		t.Error("the redelivery is not counted")
	}
}
