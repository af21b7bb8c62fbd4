#!/usr/bin/env bash
# golangci-lint over the whole module (tests and the integration tier
# included) with the checked-in .golangci.yml. The linter is built from the
# module proxy once per machine into /var/cache/runway/golangci-lint-VERSION
# (about 4 minutes cold on 2 free cores; instant after), and its own
# analysis cache (~/.cache/golangci-lint) makes a warm run take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
GOLANGCI_LINT_VERSION=v2.15.0
bin="$(bash .ci/gotool.sh golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION")"
start=$(date +%s)
"$bin/golangci-lint" run ./...
echo "lint.sh: golangci-lint $GOLANGCI_LINT_VERSION passed in $(( $(date +%s) - start ))s" >&2
