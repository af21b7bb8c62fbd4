package prbot

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Verb is a comment command.
type Verb string

// The comment commands.
const (
	VerbPlan     Verb = "plan"
	VerbRegister Verb = "register"
	VerbRun      Verb = "run"
	VerbPromote  Verb = "promote"
	VerbHelp     Verb = "help"
)

// Command is a parsed `/runway ...` comment.
type Command struct {
	Verb Verb
	// Target is the workflow or launch plan of run ("train",
	// "launchplan/nightly"), or the domain of promote.
	Target string
	// Inputs are run's k=v arguments, in order.
	Inputs []KV
}

// KV is one k=v argument.
type KV struct{ Key, Value string }

// ErrNotACommand means the comment is not addressed to runway; it is
// ignored silently.
var ErrNotACommand = errors.New("not a runway command")

// UsageError is a comment addressed to runway that is not a valid command.
// Its message is shown to the commenter, with the help text.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// maxCommandLine bounds the command line; longer lines are refused, not
// parsed (comments may be 65,536 characters).
const maxCommandLine = 1024

var (
	nameRE  = regexp.MustCompile(`^(?:(?:workflow|launchplan|wf|lp)/)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	keyRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	domRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	spaceRE = regexp.MustCompile(`[ \t]+`)
)

// ParseCommand reads a comment body. The command is the first non-empty
// line, which must start with "/runway" (a word of its own); anything on
// later lines is ignored, so a command can carry an explanation below it.
// A body that is not addressed to runway gives ErrNotACommand; one that is,
// but is not a valid command, gives a *UsageError. ParseCommand is pure:
// it touches nothing and only returns values.
func ParseCommand(body string) (Command, error) {
	line := firstLine(body)
	fields := strings.Fields(spaceRE.ReplaceAllString(line, " "))
	if len(fields) == 0 || fields[0] != "/runway" {
		return Command{}, ErrNotACommand
	}
	if len(line) > maxCommandLine {
		return Command{}, &UsageError{Msg: fmt.Sprintf("the command line is %d characters long; runway reads at most %d", len(line), maxCommandLine)}
	}
	args := fields[1:]
	if len(args) == 0 {
		return Command{Verb: VerbHelp}, nil
	}
	verb, rest := strings.ToLower(args[0]), args[1:]
	switch Verb(verb) {
	case VerbHelp:
		return Command{Verb: VerbHelp}, nil
	case VerbPlan, VerbRegister:
		if len(rest) > 0 {
			return Command{}, &UsageError{Msg: fmt.Sprintf("/runway %s takes no arguments, got %q", verb, strings.Join(rest, " "))}
		}
		return Command{Verb: Verb(verb)}, nil
	case VerbPromote:
		if len(rest) != 1 {
			return Command{}, &UsageError{Msg: "/runway promote takes exactly one domain, as in /runway promote staging"}
		}
		if !domRE.MatchString(rest[0]) {
			return Command{}, &UsageError{Msg: fmt.Sprintf("%q is not a domain name (lowercase letters, digits and dashes)", rest[0])}
		}
		return Command{Verb: VerbPromote, Target: rest[0]}, nil
	case VerbRun:
		if len(rest) == 0 {
			return Command{}, &UsageError{Msg: "/runway run needs a workflow or launch plan, as in /runway run train rows=1000"}
		}
		if !nameRE.MatchString(rest[0]) {
			return Command{}, &UsageError{Msg: fmt.Sprintf("%q is not a workflow or launch plan name", rest[0])}
		}
		c := Command{Verb: VerbRun, Target: rest[0]}
		seen := map[string]bool{}
		for _, a := range rest[1:] {
			k, v, ok := strings.Cut(a, "=")
			if !ok || !keyRE.MatchString(k) {
				return Command{}, &UsageError{Msg: fmt.Sprintf("%q is not an input: write name=value, as in rows=1000", a)}
			}
			if seen[k] {
				return Command{}, &UsageError{Msg: fmt.Sprintf("input %q is given twice", k)}
			}
			seen[k] = true
			c.Inputs = append(c.Inputs, KV{Key: k, Value: v})
		}
		return c, nil
	}
	return Command{}, &UsageError{Msg: fmt.Sprintf("runway has no command %q", args[0])}
}

func firstLine(body string) string {
	for _, l := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

// HelpText lists the commands, in Markdown.
func HelpText() string {
	return "runway understands these commands, each as the first line of a comment on a pull request:\n\n" +
		"| command | what it does | who may use it |\n|---|---|---|\n" +
		"| `/runway plan` | plans the PR head against its base and validates `runway.yaml`; writes nothing | anyone with read access |\n" +
		"| `/runway register` | packages the PR head and registers it into the PR domain (what a fork PR needs from a maintainer) | write access |\n" +
		"| `/runway run <workflow or launchplan/name> [k=v ...]` | runs a registered workflow or launch plan of the PR head | write access |\n" +
		"| `/runway promote <domain>` | promotes the PR head's entities into the domain | write access and what the platform policy asks for the domain |\n" +
		"| `/runway help` | shows this | anyone |\n\n" +
		"Commands act on the PR head as it was when you commented; if new commits arrived since, comment again."
}
