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
go build -o "$TMP/kdeck" ./cmd/kdeck
# A private data dir, so that no other worker is attached to.
export XDG_DATA_HOME="$TMP/xdg" XDG_CONFIG_HOME="$TMP/xdg-config"
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

# Side by side: Apache Kafka Connect's status call (standalone, one
# FileStreamSource connector, on the same embedded cluster), when the jars of
# testing/realkafka/connect/compat.sh are resolved.
CLIB="${KDECK_CONNECT_LIB:-$HOME/.cache/kdeck/connect-4.3.1/lib}"
if [[ -f "$CLIB/.complete" ]]; then
	cport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
	printf 'bootstrap.servers=127.0.0.1:%s\nlisteners=http://127.0.0.1:%s\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename=%s/connect.offsets\nplugin.discovery=only_scan\n' \
		"$port" "$cport" "$TMP" >"$TMP/worker.properties"
	java -cp "$CLIB/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn org.apache.kafka.connect.cli.ConnectStandalone "$TMP/worker.properties" >"$TMP/connect.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$cport/" >/dev/null && break; sleep 0.5; done
	echo x >"$TMP/src.txt"
	curl -sf -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$cport/connectors" \
		-d "{\"name\":\"gen-1\",\"config\":{\"connector.class\":\"FileStreamSource\",\"file\":\"$TMP/src.txt\",\"topic\":\"bench\"}}" >/dev/null
	sleep 2
	echo -n "Apache Kafka Connect $(basename "$(dirname "$CLIB")"): GET /connectors/gen-1/status over TCP (curl): "
	for _ in $(seq 1 "$RUNS"); do
		curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$cport/connectors/gen-1/status"
	done | awk '{printf "%.3f\n", $1*1000}' | stats
	echo -n "kdeck: GET /connectors/gen-1/status over TCP (curl, --listen 127.0.0.1): "
	kport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
	kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
	"$K" --config "$TMP/kdeck.toml" run --listen "127.0.0.1:$kport" >"$TMP/run2.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$kport/ready" >/dev/null && break; sleep 0.1; done
	sleep 2
	for _ in $(seq 1 "$RUNS"); do
		curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$kport/connectors/gen-1/status"
	done | awk '{printf "%.3f\n", $1*1000}' | stats
fi
