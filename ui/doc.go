// Package ui is runway's read-only web view of a store: executions with
// their DAG, timeline and per-node lineage, entities with their versions
// per domain and promotion history, and the trail of one version from pull
// request to runs. `runway ui` serves it on localhost; `runway serve`
// mounts the same handler under /ui/.
//
// Decisions:
//
//   - Read only. The pages read through the functions the CLI uses
//     (executor.Get and List, registrar.Get, promote.ReadRecords and
//     Promoter.History); the handler has no route that writes, and answers
//     every method but GET and HEAD with 405 (the login form's POST only
//     sets a cookie).
//   - Closed by default. Options.Auth nil refuses every request. Modes:
//     BearerToken (header for scripts, or a login form that sets an
//     HttpOnly, SameSite=Strict cookie holding an HMAC of the token, not
//     the token), TrustedHeader (an auth proxy such as oauth2-proxy sets
//     X-Forwarded-User; only safe when every request comes through it) and
//     Anonymous(localOnly) for `runway ui` on 127.0.0.1.
//   - Server-rendered with html/template, which escapes by context; the
//     only script is static/live.js (about 1.5 KB) and it writes text and
//     attributes, never markup. A Content-Security-Policy allows only the
//     handler's own CSS and script, so nothing inline could run even if a
//     value escaped escaping. No CDN and no runtime download: templates
//     and assets are embedded.
//   - Every page has a JSON twin (?o=json, or Accept: application/json)
//     holding what `-o json` prints for the same thing: executor.View for
//     executions, promote.History for an entity.
//   - The DAG is laid out in Go (layout.go: layered, barycenter ordering)
//     and drawn as SVG, one <g class="node"> per node with data-status; the
//     CSS colours by status. The timeline is an SVG Gantt of node start to
//     end; cache hits are marked, not drawn as bars.
//   - Live updates: while an execution runs, its page opens a server-sent
//     event stream that re-reads the record every PollInterval and sends
//     the state when it changed; the page recolours nodes in place and
//     reloads once when the execution ends.
//   - Downloads of file and dir values stream from the domain's execution
//     repository by digest and are verified while streaming; a mismatch
//     cuts the connection so no client keeps tampered bytes as complete.
//   - The timeline draws one bar per attempt (executor's AttemptLog) and
//     the node page lists each attempt's failure class; the version trail
//     shows the plan decision flow records at registration.
//   - Resources used are each attempt's measured peak memory and CPU
//     time (exec-task's rusage of the command), next to what the task
//     asked for.
//   - Logs are not in the store: the local executor keeps every attempt's
//     under $RUNWAY_HOME/logs (executor/local.Logs, what `runway logs`
//     reads). With Options.LogDir the node page shows each attempt's tail
//     and serves the whole log as text/plain; without it (a server whose
//     tasks run on Kubernetes) the page says where the logs are.
package ui
