package prbot

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	long := "/runway run train " + strings.Repeat("a=b ", 300)
	for _, tc := range []struct {
		name    string
		body    string
		want    Command
		wantErr string // "" ok; "not" = ErrNotACommand; else part of the UsageError
	}{
		// Not addressed to runway: ignored.
		{"empty", "", Command{}, "not"},
		{"blank lines", "\n \n\t\n", Command{}, "not"},
		{"prose", "LGTM, ship it", Command{}, "not"},
		{"mention later in the line", "please /runway plan", Command{}, "not"},
		{"glued prefix", "/runwayplan", Command{}, "not"},
		{"other bot", "/atlantis plan", Command{}, "not"},
		{"upper case prefix", "/RUNWAY plan", Command{}, "not"},
		{"command on a later line", "thanks!\n/runway plan", Command{}, "not"},
		{"quoted", "> /runway plan", Command{}, "not"},
		// Help.
		{"bare", "/runway", Command{Verb: VerbHelp}, ""},
		{"help", "/runway help", Command{Verb: VerbHelp}, ""},
		{"help ignores args", "/runway help me", Command{Verb: VerbHelp}, ""},
		// Plan and register.
		{"plan", "/runway plan", Command{Verb: VerbPlan}, ""},
		{"plan after blank lines", "\n\n  /runway plan  \n", Command{Verb: VerbPlan}, ""},
		{"plan CRLF and a note below", "/runway plan\r\nbecause the base moved", Command{Verb: VerbPlan}, ""},
		{"verb case", "/runway PLAN", Command{Verb: VerbPlan}, ""},
		{"tabs", "/runway\tregister", Command{Verb: VerbRegister}, ""},
		{"register", "/runway register", Command{Verb: VerbRegister}, ""},
		{"plan with args", "/runway plan now", Command{}, "takes no arguments"},
		{"register with args", "/runway register --force", Command{}, "takes no arguments"},
		// Promote.
		{"promote", "/runway promote staging", Command{Verb: VerbPromote, Target: "staging"}, ""},
		{"promote production", "/runway promote production", Command{Verb: VerbPromote, Target: "production"}, ""},
		{"promote no domain", "/runway promote", Command{}, "exactly one domain"},
		{"promote two domains", "/runway promote staging production", Command{}, "exactly one domain"},
		{"promote shell", "/runway promote $(rm -rf /)", Command{}, "exactly one domain"},
		{"promote bad name", "/runway promote Staging;", Command{}, "not a domain name"},
		{"promote path", "/runway promote ../prod", Command{}, "not a domain name"},
		// Run.
		{"run", "/runway run train", Command{Verb: VerbRun, Target: "train"}, ""},
		{"run inputs", "/runway run train rows=1000 seed=7", Command{Verb: VerbRun, Target: "train", Inputs: []KV{{"rows", "1000"}, {"seed", "7"}}}, ""},
		{"run launch plan", "/runway run launchplan/nightly", Command{Verb: VerbRun, Target: "launchplan/nightly"}, ""},
		{"run empty value", "/runway run train note=", Command{Verb: VerbRun, Target: "train", Inputs: []KV{{"note", ""}}}, ""},
		{"run value with =", "/runway run train expr=a=b", Command{Verb: VerbRun, Target: "train", Inputs: []KV{{"expr", "a=b"}}}, ""},
		{"run nothing", "/runway run", Command{}, "needs a workflow"},
		{"run bad target", "/runway run ../../etc", Command{}, "not a workflow or launch plan name"},
		{"run backticks", "/runway run `id`", Command{}, "not a workflow or launch plan name"},
		{"run not k=v", "/runway run train rows", Command{}, "not an input"},
		{"run bad key", "/runway run train 1x=2", Command{}, "not an input"},
		{"run key shell", "/runway run train $(x)=1", Command{}, "not an input"},
		{"run duplicate", "/runway run train a=1 a=2", Command{}, "given twice"},
		// Unknown.
		{"unknown verb", "/runway deploy", Command{}, `no command "deploy"`},
		{"typo", "/runway promot staging", Command{}, `no command "promot"`},
		{"too long", long, Command{}, "at most 1024"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCommand(tc.body)
			switch {
			case tc.wantErr == "not":
				if !errors.Is(err, ErrNotACommand) {
					t.Fatalf("err = %v, want ErrNotACommand", err)
				}
			case tc.wantErr != "":
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(ue.Msg, tc.wantErr) {
					t.Fatalf("err = %v, want a UsageError containing %q", err, tc.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/runway plan", "/runway run train a=1", "/runway promote staging", "x", "/runway \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, err := ParseCommand(body)
		if err == nil && c.Verb == "" {
			t.Fatalf("no error and no verb for %q", body)
		}
	})
}
