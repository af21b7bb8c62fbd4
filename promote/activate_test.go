package promote_test

import (
	"context"
	"errors"
	"testing"

	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// TestRollbackAndDeactivate: promoting an older version after a newer one
// is a rollback in both the promotion and the activation record; activate
// and deactivate by hand move and remove the active tag, with records.
func TestRollbackAndDeactivate(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	_, vs := registerVersions(t, s, 2)
	p := newPromoter(t, s, nil)
	req := func(v string) promote.Request {
		return promote.Request{Project: project, From: "development", To: "staging", Version: v, Actor: promote.Actor{Login: "ops"}}
	}
	if _, err := p.Promote(ctx, req(vs[1])); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Promote(ctx, req(vs[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Entities {
		if !e.Rollback {
			t.Errorf("%s/%s not marked as a rollback", e.ID.Kind, e.ID.Name)
		}
	}
	act := rep.Activations[0]
	if !act.Rollback || act.Previous != vs[1] || act.Status != promote.ActivationActivated {
		t.Fatalf("activation: %+v", act)
	}
	// By hand: back to the newer one, then off.
	a, err := p.Activate(ctx, registrar.ID{Project: project, Domain: "staging", Name: "nightly", Version: vs[1]}, "ops", "fix is out")
	if err != nil || a.Rollback || a.Previous != vs[0] {
		t.Fatalf("activate: %+v, %v", a, err)
	}
	d, err := p.Deactivate(ctx, project, "staging", "nightly", "ops", "")
	if err != nil || d.Status != promote.ActivationDeactivated || d.Previous != vs[1] {
		t.Fatalf("deactivate: %+v, %v", d, err)
	}
	if _, _, err := promote.ActiveVersion(ctx, s, project, "staging", "nightly"); !errors.Is(err, promote.ErrNotActive) {
		t.Fatalf("after deactivate: %v", err)
	}
	if d, err := p.Deactivate(ctx, project, "staging", "nightly", "ops", ""); err != nil || d.Status != promote.ActivationUnchanged {
		t.Fatalf("second deactivate: %+v, %v", d, err)
	}
	if _, err := p.Activate(ctx, registrar.ID{Project: project, Domain: "production", Name: "nightly", Version: vs[1]}, "ops", ""); err == nil {
		t.Fatal("activating a version that is not in the domain succeeded")
	}
	h, err := p.History(ctx, project, registrar.KindLaunchPlan, "nightly", promote.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var seq []string
	for _, e := range h.Events {
		if e.Domain == "staging" && e.Type != promote.EventPromotion {
			seq = append(seq, e.Type+":"+e.Version[:6])
		}
	}
	want := []string{"activation:" + vs[1][:6], "activation:" + vs[0][:6], "deactivation:" + vs[1][:6], "activation:" + vs[1][:6], "deactivation:" + vs[0][:6], "deactivation:" + vs[1][:6]}
	if len(seq) != len(want) {
		t.Fatalf("staging events %v, want %v", seq, want)
	}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("staging events %v, want %v", seq, want)
		}
	}
}
