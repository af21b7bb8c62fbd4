package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

func appKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestAppInstallationTokens(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	k, pemKey := appKey(t)
	// ghinstallation refreshes a token a minute before it expires: a
	// 62-second token is fresh for two seconds.
	f.AddApp(77, &k.PublicKey, 62*time.Second)
	f.AddInstallation(77, 5)
	app, err := NewApp(77, pemKey, WithBaseURL(f.URL()), WithBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Installation(5)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if pr, err := c.PullRequest(ctx, "octo", "pipelines", 7); err != nil || pr.HeadSHA != "aaa" {
			t.Fatalf("as installation 5: %+v, %v", pr, err)
		}
	}
	tok, err := app.Token(ctx, 5)
	if err != nil || !strings.HasPrefix(tok, "ghs_") {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	if n := f.TokensMinted(); n != 1 {
		t.Fatalf("%d tokens minted for four uses, want 1 (cached)", n)
	}
	time.Sleep(2100 * time.Millisecond)
	tok2, err := app.Token(ctx, 5)
	if err != nil || tok2 == tok {
		t.Fatalf("after the refresh point: %q (was %q), %v", tok2, tok, err)
	}
	if n := f.TokensMinted(); n != 2 {
		t.Fatalf("%d tokens minted, want 2 (refreshed before expiry)", n)
	}
	if _, err := app.Installation(6); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Token(ctx, 6); err == nil {
		t.Fatal("a token for an installation that does not exist")
	}
}

func TestAppRefusesBadKeys(t *testing.T) {
	if _, err := NewApp(1, []byte("not a key")); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Fatalf("bad PEM: %v", err)
	}
	if _, err := NewApp(0, nil); err == nil {
		t.Fatal("app id 0 accepted")
	}
	// A key GitHub does not know for the App: the JWT is refused.
	f := newFake(t)
	k, _ := appKey(t)
	_, other := appKey(t)
	f.AddApp(3, &k.PublicKey, time.Hour)
	f.AddInstallation(3, 9)
	app, err := NewApp(3, other, WithBaseURL(f.URL()), WithRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Token(context.Background(), 9); err == nil {
		t.Fatal("a JWT signed by the wrong key was accepted")
	}
}

func TestAppHookDeliveries(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	k, pemKey := appKey(t)
	f.AddApp(8, &k.PublicKey, time.Hour)
	old := time.Now().Add(-5 * time.Hour)
	f.AddHookDelivery(githubfake.HookDelivery{GUID: "ancient", Event: "push", StatusCode: 502, DeliveredAt: old})
	for i := 0; i < 130; i++ {
		f.AddHookDelivery(githubfake.HookDelivery{GUID: "g" + itoa(int64(i)), Event: "pull_request", Action: "opened", StatusCode: 202})
	}
	id := f.AddHookDelivery(githubfake.HookDelivery{GUID: "missed", Event: "issue_comment", Action: "created", StatusCode: 0})
	app, err := NewApp(8, pemKey, WithBaseURL(f.URL()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := app.HookDeliveries(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 131 || got[0].GUID != "missed" || got[0].StatusCode != 0 {
		t.Fatalf("%d deliveries (want 131, two pages, newest first), first %+v", len(got), got[0])
	}
	if err := app.Redeliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	all := f.HookDeliveries()
	if last := all[len(all)-1]; last.GUID != "missed" || !last.Redelivery {
		t.Fatalf("last attempt %+v, want a redelivery of missed", last)
	}
}
