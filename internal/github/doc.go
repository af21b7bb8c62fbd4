// Package github is runway's one GitHub client: every call the Action and
// the webhook server make goes through New, which wraps go-github (v60) in a
// transport stack built for CI, where GitHub's limits are hit in practice:
//
//	go-github -> retry (go-retryablehttp) -> conditional GETs (ETag) -> concurrency limit -> net/http
//
// Decisions:
//
//   - Retries. Connection errors and 5xx responses are retried with
//     exponential backoff for idempotent methods (GET, HEAD, PUT, PATCH,
//     DELETE). POST is retried only when GitHub says the request was not
//     processed: a rate-limit refusal. A 502 on "create comment" may well
//     have created the comment, and a duplicate reply is worse than an error.
//   - Rate limits. A 429, or a 403 that carries Retry-After or
//     X-RateLimit-Remaining: 0, is waited out: Retry-After first, else
//     X-RateLimit-Reset, else a minute (GitHub's advice for secondary
//     limits). The wait is capped (WithMaxWait, default 60s); when the limit
//     resets later than the cap, the call fails at once with go-github's
//     typed *github.RateLimitError / *github.AbuseRateLimitError rather than
//     sleeping through a CI job's budget.
//   - Concurrency. At most WithConcurrency (default 4) requests are in
//     flight; GitHub's secondary limits punish bursts, not totals. Waiting in
//     a backoff does not hold a slot.
//   - Conditional requests. GET responses that carry an ETag are kept in
//     memory (keyed by URL and a hash of the Authorization header) and the
//     next GET of the same URL sends If-None-Match; a 304 costs no rate-limit
//     quota and is answered from the cache as a 200. This saves quota where
//     the same resource is read again: the sticky comment lookup on every
//     push, the pull request on every comment command (webhook server).
//
// The Client exposes the handful of calls runway makes, with plain
// signatures, so callers declare the small interface they need. Client.REST
// is the underlying go-github client for anything else.
//
// Tests run against githubfake, a strict local fake whose routes and
// required fields are derived from GitHub's published REST description
// (@octokit/openapi).
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package github
