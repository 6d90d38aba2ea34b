#!/usr/bin/env bash
# The test command: installs what the tests need when missing
# (scripts/deps.sh), then runs every package's tests against embedded
# clusters and a real PostgreSQL, with the race detector. Extra arguments go to 'go test' (for example -short or -run).
set -euo pipefail
cd "$(dirname "$0")/.."
# What the tests need beyond Go (kcat, ssh, tmux, PostgreSQL, the Python
# clients), installed when missing.
[ -n "${KDECK_SKIP_DEPS:-}" ] || ./scripts/deps.sh
go test -race -count=1 -timeout 30m "$@" ./...
