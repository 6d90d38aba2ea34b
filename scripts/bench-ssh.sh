#!/usr/bin/env bash
# 'kdeck serve --ssh' under ten concurrent consoles: builds kdeck, serves an
# embedded test cluster (kfake, in the test process) over SSH as its own
# process, opens ten consoles at once with Go's SSH client (120x40,
# xterm-256color, refresh 500ms) and holds them for a minute. Reports the
# first-frame time per session (dial to the first frame with live cluster
# data; mean and slowest) and the server's resident memory idle and with
# the ten sessions at the end.
#
# KDECK_SSH_BENCH_FOR overrides how long the sessions are held (default
# 60s), KDECK_SSH_BENCH_SESSIONS how many (default 10); extra arguments go
# to 'go test' (for example -benchtime=3x).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "hold: ${KDECK_SSH_BENCH_FOR:-60s}, sessions: ${KDECK_SSH_BENCH_SESSIONS:-10}"
go test ./cmd/kdeck -run '^$' -bench 'BenchmarkSSHSessions' -benchtime=1x -v "$@" | grep -E 'first frames|Benchmark|^ok|FAIL'
