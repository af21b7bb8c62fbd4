package server

import (
	"testing"
)

// FuzzWebhookDecode: the webhook decoder (form or JSON body, then the
// event envelope) never panics, whatever a signed sender puts in the body;
// a relevant delivery keeps the delivery ID and event it came with, and
// a keyed one names its repository. Seeds: testdata/fuzz/FuzzWebhookDecode.
func FuzzWebhookDecode(f *testing.F) {
	f.Add("application/json", "pull_request", []byte(`{"action":"opened","number":2,"pull_request":{"number":2,"head":{"sha":"abc"}},"repository":{"full_name":"o/r","default_branch":"main"}}`))
	f.Fuzz(func(t *testing.T, contentType, event string, body []byte) {
		payload, err := jsonPayload(contentType, body)
		if err != nil {
			return
		}
		d, _, relevant, err := classify("delivery-1", event, payload)
		if err != nil || !relevant {
			return
		}
		if d == nil || d.ID != "delivery-1" || d.Event != event {
			t.Fatalf("relevant delivery %+v lost its ID or event %q", d, event)
		}
		if d.Key != "" && d.Repo == "" {
			t.Fatalf("delivery keyed %q names no repository", d.Key)
		}
	})
}
