#!/usr/bin/env bash
# Side-by-side stream-job benchmark: a windowed count per key (tumbling one
# minute windows, ten seconds of grace, exactly once) written with Kafka
# Streams 4.3.1 (testing/realkafka/streamsbench/WindowedCount.java, compiled
# here with javac against the resolved jars) and kdeck's stream job, on the
# same RECORDS records (default 1,000,000 of 100 bytes, 1,000 keys, event
# times over ten minutes, 4 partitions) of a real single-node cluster.
#
#   ./scripts/bench-streams.sh
#   RECORDS=200000 ./scripts/bench-streams.sh
#
# Figures per job: throughput (records/s until the job's group has consumed
# the input), restore after a restart with the local state wiped (time from
# the first restore start to the last restore end, time from process start
# to RUNNING, and how many changelog records it restored), peak
# resident memory (VmHWM) of the first run, and, as a check that both
# computed the same thing, the sum of the last count of every key and
# window in the job's output (loadgen counts, after the first run; it must
# equal RECORDS, as the input has no late records) and the number of windows. Markdown table on stdout and in
# $KDECK_BENCH_DIR/bench-streams.md.
#
# Fairness: both jobs read the same input topic (produced once), each under
# its own application id from offset 0, one after the other (never at the
# same time), exactly once, with a fresh state directory; both are measured
# by the same probe (loadgen await-group: the job's committed offsets reach
# the input's end, polled every 200 ms from the job's launch, so process
# start-up counts on both sides). kdeck's job is the [[streams]] table in
# testing/realkafka/streams-bench.toml.tmpl run by 'kdeck run' (values not
# parsed, like the Java side's String serde; no repartition, as groupByKey).
# Restore: Kafka Streams prints its restore listener's figures; kdeck logs
# "restored stores" (records, took: from the restore's start to its end) and
# restart to RUNNING is that log line's time minus the launch.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RECORDS=${RECORDS:-1000000}
export KDECK_REALKAFKA_DIR=${KDECK_BENCH_DIR:-/tmp/kdeck-bench-streams}
# The figures in BENCHMARKS.md were measured on 4.3.1 (MirrorMaker 2 and
# Kafka Streams of the broker's line): keep it unless asked.
export KDECK_KAFKA_VERSION=${KDECK_KAFKA_VERSION:-4.3.1}
KAFKA=$ROOT/testing/realkafka/kafka.sh
OUT=$KDECK_REALKAFKA_DIR/bench-streams.md
LG=$KDECK_REALKAFKA_DIR/loadgen
JOB_PID=

stopjob() {
	[[ -n $JOB_PID ]] || return 0
	kill "$JOB_PID" 2>/dev/null || true
	local deadline=$((SECONDS + 30))
	while kill -0 "$JOB_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
	kill -KILL "$JOB_PID" 2>/dev/null || true
	wait "$JOB_PID" 2>/dev/null || true
	JOB_PID=
}
"$KAFKA" stop >/dev/null 2>&1 || true
trap 'stopjob; "$KAFKA" stop' EXIT
"$KAFKA" start 1
eval "$("$KAFKA" env)"
B=$KDECK_TEST_KAFKA_BROKERS
LIB=$KDECK_TEST_KAFKA_LIB
go build -o "$LG" ./testing/realkafka/loadgen
CLASSES=$KDECK_REALKAFKA_DIR/classes
mkdir -p "$CLASSES"
javac -d "$CLASSES" -cp "$LIB/*" testing/realkafka/streamsbench/WindowedCount.java

echo "== input: $RECORDS records"
"$LG" produce -source "$B" -topic streams-in -records "$RECORDS" -keys 1000 -span 10m

# waitline FILE PATTERN SECONDS: wait until FILE has a line matching PATTERN.
waitline() {
	local deadline=$((SECONDS + $3))
	until grep -q "$2" "$1" 2>/dev/null; do
		((SECONDS < deadline)) || { echo "timed out waiting for '$2' in $1" >&2; tail -20 "$1" >&2; return 1; }
		kill -0 "$JOB_PID" 2>/dev/null || { echo "the job exited; log $1" >&2; tail -20 "$1" >&2; return 1; }
		sleep 0.2
	done
}
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

rows=()
echo "== Kafka Streams: first run"
state=$KDECK_REALKAFKA_DIR/streams-state
rm -rf "$state"
runjava() {
	java -Xms128m -Xmx1g -cp "$LIB/*:$CLASSES" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		WindowedCount "$B" streams-in streams-out wc-bench "$state" >"$1" 2>&1 &
	JOB_PID=$!
}
runjava "$KDECK_REALKAFKA_DIR/streams-1.log"
a=$("$LG" await-group -source "$B" -topic streams-in -group wc-bench)
echo "Kafka Streams: $a" >&2
rss=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$JOB_PID/status")
stopjob
c=$("$LG" counts -source "$B" -topic streams-out -shape streams)
echo "Kafka Streams: $c" >&2
echo "== Kafka Streams: restart with the local state wiped"
rm -rf "$state"
runjava "$KDECK_REALKAFKA_DIR/streams-2.log"
waitline "$KDECK_REALKAFKA_DIR/streams-2.log" "^restored=" 300
r=$(grep "^restored=" "$KDECK_REALKAFKA_DIR/streams-2.log" | head -1)
echo "Kafka Streams: $r" >&2
stopjob
rows+=("| Kafka Streams 4.3.1 (2 threads, exactly_once_v2, RocksDB, -Xmx1g) | $(kv "$a" records_per_s) | $(kv "$c" counted) / $(kv "$c" windows) | $(kv "$r" restore_ms) | $(kv "$r" running_ms) | $(kv "$r" restored) | $rss |")

note=""
if [[ -f testing/realkafka/streams-bench.toml.tmpl ]]; then
	go build -o "$KDECK_REALKAFKA_DIR/kdeck" ./cmd/kdeck
	kdata=$KDECK_REALKAFKA_DIR/kdeck-data
	rm -rf "$kdata"
	sed -e "s|@B@|$B|g" -e "s|@DATA@|$kdata|g" testing/realkafka/streams-bench.toml.tmpl >"$KDECK_REALKAFKA_DIR/kdeck-streams.toml"
	# The output topic must exist (kdeck does not auto-create it); one
	# partition, as the broker gives the Java side's auto-created streams-out.
	"$LG" produce -source "$B" -topic kdeck-wc-out -partitions 1 -records 0 >/dev/null
	runkdeck() {
		"$KDECK_REALKAFKA_DIR/kdeck" --config "$KDECK_REALKAFKA_DIR/kdeck-streams.toml" run --log-format json >"$1" 2>&1 &
		JOB_PID=$!
	}
	echo "== kdeck stream job: first run"
	runkdeck "$KDECK_REALKAFKA_DIR/kdeck-1.log"
	a=$("$LG" await-group -source "$B" -topic streams-in -group kdeck-wc-bench)
	echo "kdeck: $a" >&2
	rss=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$JOB_PID/status")
	stopjob
	c=$("$LG" counts -source "$B" -topic kdeck-wc-out -shape kdeck)
	echo "kdeck: $c" >&2
	echo "== kdeck stream job: restart with the local state wiped"
	rm -rf "$kdata"
	launched=$(date +%s.%N)
	runkdeck "$KDECK_REALKAFKA_DIR/kdeck-2.log"
	# The job logs "restored stores" (records, took) when every store of its
	# assignment has read its changelog, just before it processes; running_ms
	# is that line's time minus the launch.
	waitline "$KDECK_REALKAFKA_DIR/kdeck-2.log" '"msg":"restored stores"' 300
	r=$(python3 - "$KDECK_REALKAFKA_DIR/kdeck-2.log" "$launched" <<'PY'
import datetime, json, re, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("msg") != "restored stores":
        continue
    t = re.sub(r"(\.\d{6})\d*", r"\1", e["time"]).replace("Z", "+00:00")
    at = datetime.datetime.fromisoformat(t).timestamp()
    print("restored=%d restore_ms=%d running_ms=%d" % (e["records"], e["took"] / 1e6, (at - float(sys.argv[2])) * 1000))
    break
PY
)
	echo "kdeck: $r" >&2
	stopjob
	rows+=("| kdeck stream job (exactly_once, Pebble, GOMAXPROCS=$(nproc)) | $(kv "$a" records_per_s) | $(kv "$c" counted) / $(kv "$c" windows) | $(kv "$r" restore_ms) | $(kv "$r" running_ms) | $(kv "$r" restored) | $rss |")
else
	note="kdeck's stream job is not in this build (no testing/realkafka/streams-bench.toml.tmpl): only Kafka Streams was measured."
fi

{
	echo "Apache Kafka 4.3.1, one single-node KRaft cluster (-Xmx512m), $RECORDS records of 100 bytes, 1,000 keys, event times over 10 minutes, 4 partitions; $(nproc) cores, $(date -u +%Y-%m-%d)."
	echo
	echo "| job | records/s | records counted / windows | restore after wiping local state (ms) | restart to RUNNING (ms) | changelog records restored | peak RSS (MiB) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
	[[ -z $note ]] || { echo; echo "$note"; }
} | tee "$OUT"
