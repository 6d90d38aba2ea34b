#!/usr/bin/env bash
# The test command: every package's tests against embedded clusters, with the
# race detector. Extra arguments go to 'go test' (for example -short or -run).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -race -count=1 -timeout 30m "$@" ./...
