#!/usr/bin/env bash
# bench-api.sh: the worker API's figures for BENCHMARKS.md.
#   - 'kdeck connect status NAME' as a whole process, attached to a running
#     'kdeck run' through its Unix socket (and, for reference, the same
#     command in-process with --server none, which reads no worker);
#   - GET /metrics through the socket with N jobs (default 100 datagen
#     connectors at 10 records/s each).
# It starts an embedded cluster ('kdeck dev --ephemeral --no-demo') and the
# worker in a temp dir, runs each measurement RUNS times (default 30) and
# prints median and p90 in milliseconds; it stops everything it started.
#
#   scripts/bench-api.sh [JOBS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${1:-100}"
RUNS="${2:-30}"
TMP="$(mktemp -d /tmp/kdeck-bench-api.XXXXXX)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
export XDG_DATA_HOME="$TMP/xdg" XDG_CONFIG_HOME="$TMP/xdg-config" HOME="$TMP"
go build -o "$TMP/kdeck" ./cmd/kdeck
K="$TMP/kdeck"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$K" dev --port "$port" --ephemeral --no-demo >"$TMP/dev.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
	"$K" -b "127.0.0.1:$port" topics create bench -p 3 >/dev/null 2>&1 && break
	sleep 0.1
done
{
	printf '[clusters.local]\nbrokers = ["127.0.0.1:%s"]\n\n[ops]\ndata_dir = "%s"\n' "$port" "$TMP/data"
	for i in $(seq 1 "$JOBS"); do
		printf '\n[[connectors]]\nname = "gen-%d"\nclass = "datagen"\ntopic = "bench"\nrate = 10\n' "$i"
	done
} >"$TMP/kdeck.toml"
"$K" --config "$TMP/kdeck.toml" run >"$TMP/run.log" 2>&1 &
pids+=($!)
sock="$TMP/data/kdeck.sock"
for _ in $(seq 1 300); do
	[[ -S "$sock" ]] && curl -sf --unix-socket "$sock" http://kdeck/ready >/dev/null && break
	sleep 0.1
done
curl -sf --unix-socket "$sock" http://kdeck/ready >/dev/null || { cat "$TMP/run.log"; echo "the worker did not get ready" >&2; exit 1; }
sleep 2 # let the jobs produce a little

stats() { python3 -c '
import sys
xs = sorted(float(x) for x in sys.stdin.read().split())
n = len(xs)
print("median %.1f ms, p90 %.1f ms, min %.1f ms (%d runs)" % (xs[n//2], xs[min(n-1, int(n*0.9))], xs[0], n))'; }
ms() { # runs "$@" RUNS times, prints each wall time in ms
	for _ in $(seq 1 "$RUNS"); do
		local s e
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s%N)
		echo "scale=3; ($e - $s) / 1000000" | bc
	done
}
echo "machine: $(nproc) cores, $(uname -sr); $JOBS jobs in the worker"
echo -n "kdeck connect status gen-1 (attached through the socket): "
ms "$K" --config "$TMP/kdeck.toml" connect status gen-1 | stats
echo -n "kdeck connect status gen-1 --server none (in-process, no worker): "
ms "$K" --config "$TMP/kdeck.toml" --server none connect status gen-1 | stats
echo -n "GET /metrics through the socket (curl, $JOBS jobs): "
for _ in $(seq 1 "$RUNS"); do
	curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$sock" http://kdeck/metrics
done | awk '{printf "%.3f\n", $1*1000}' | stats
echo -n "GET /connectors/gen-1/status through the socket (curl): "
for _ in $(seq 1 "$RUNS"); do
	curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$sock" http://kdeck/connectors/gen-1/status
done | awk '{printf "%.3f\n", $1*1000}' | stats
echo "metrics page: $(curl -s --unix-socket "$sock" http://kdeck/metrics | wc -l) lines, $(curl -s --unix-socket "$sock" http://kdeck/metrics | wc -c) bytes"
