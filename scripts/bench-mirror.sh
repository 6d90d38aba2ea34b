#!/usr/bin/env bash
# Side-by-side mirror benchmark: Apache MirrorMaker 2 (dedicated mode,
# org.apache.kafka.connect.mirror.MirrorMaker, default settings but
# replication factor 1) and kdeck's mirror, each replicating the same
# RECORDS records (default 2,000,000 of 100 bytes, 4 partitions) between two
# real single-node Kafka 4.3.1 clusters started by this script.
#
#   ./scripts/bench-mirror.sh
#   RECORDS=200000 ./scripts/bench-mirror.sh
#
# Figures per mirror: throughput (records/s from the first record on the
# target to the last), time from the mirror's start to the last record,
# end-to-end latency of 200 probes produced after the catch-up (p50, p99),
# and peak resident memory (VmHWM). Markdown table on stdout and in
# $KDECK_BENCH_DIR/bench-mirror.md.
#
# kdeck's side: 'kdeck run' hosting the one [[mirrors]] flow of
# testing/realkafka/mirror-bench.toml.tmpl (src -> dst, topic kdeck-bench,
# remote src.kdeck-bench; at least once, no compression, from earliest, as
# MirrorMaker 2 here), on its own copy of the data (produced just before it
# starts, as MirrorMaker 2's), never running at the same time as MM2.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RECORDS=${RECORDS:-2000000}
export KDECK_REALKAFKA_DIR=${KDECK_BENCH_DIR:-/tmp/kdeck-bench-mirror}
# The figures in BENCHMARKS.md were measured on 4.3.1 (MirrorMaker 2 and
# Kafka Streams of the broker's line): keep it unless asked.
export KDECK_KAFKA_VERSION=${KDECK_KAFKA_VERSION:-4.3.1}
KAFKA=$ROOT/testing/realkafka/kafka.sh
OUT=$KDECK_REALKAFKA_DIR/bench-mirror.md
MB=$KDECK_REALKAFKA_DIR/loadgen
MIRROR_PID=

cleanup() {
	[[ -n $MIRROR_PID ]] && kill "$MIRROR_PID" 2>/dev/null && wait "$MIRROR_PID" 2>/dev/null
	"$KAFKA" stop
}
"$KAFKA" stop >/dev/null 2>&1 || true
trap cleanup EXIT
"$KAFKA" start 2
eval "$("$KAFKA" env)"
SRC=$KDECK_TEST_KAFKA_BROKERS
DST=$KDECK_TEST_KAFKA_BROKERS_2
LIB=$KDECK_TEST_KAFKA_LIB
go build -o "$MB" ./testing/realkafka/loadgen
go build -o "$KDECK_REALKAFKA_DIR/kdeck" ./cmd/kdeck

rows=()
# measure NAME TOPIC REMOTE: the mirror (MIRROR_PID) is running; await,
# probe latency and read its peak memory.
measure() {
	local name=$1 topic=$2 remote=$3 a l rss
	a=$("$MB" await -target "$DST" -topic "$remote" -records "$RECORDS")
	echo "$name: $a" >&2
	l=$("$MB" latency -source "$SRC" -target "$DST" -topic "$topic" -remote "$remote")
	echo "$name: $l" >&2
	rss=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$MIRROR_PID/status")
	rows+=("| $name | $(kv "$a" records_per_s) | $(kv "$a" seconds_from_start) | $(kv "$l" p50_ms) | $(kv "$l" p99_ms) | $rss |")
}
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

echo "== MirrorMaker 2: producing $RECORDS records to src"
"$MB" produce -source "$SRC" -topic mm2-bench -records "$RECORDS"
cat >"$KDECK_REALKAFKA_DIR/mm2.properties" <<EOF
clusters = src, dst
src.bootstrap.servers = $SRC
dst.bootstrap.servers = $DST
src->dst.enabled = true
src->dst.topics = mm2-bench
dst->src.enabled = false
tasks.max = 4
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
sync.topic.acls.enabled = false
refresh.topics.interval.seconds = 5
EOF
echo "== MirrorMaker 2: running"
java -Xms256m -Xmx2g -cp "$LIB/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
	org.apache.kafka.connect.mirror.MirrorMaker "$KDECK_REALKAFKA_DIR/mm2.properties" \
	>"$KDECK_REALKAFKA_DIR/mm2.log" 2>&1 &
MIRROR_PID=$!
measure "MirrorMaker 2 (dedicated, 4 tasks, -Xmx2g)" mm2-bench src.mm2-bench
kill "$MIRROR_PID"; wait "$MIRROR_PID" 2>/dev/null || true; MIRROR_PID=

note=""
# kdeck's mirror: 'kdeck run' hosting the flow of
# testing/realkafka/mirror-bench.toml.tmpl, measured with the same calls.
if "$KDECK_REALKAFKA_DIR/kdeck" run --help >/dev/null 2>&1 && [[ -f testing/realkafka/mirror-bench.toml.tmpl ]]; then
	echo "== kdeck mirror: producing $RECORDS records to src"
	"$MB" produce -source "$SRC" -topic kdeck-bench -records "$RECORDS"
	rm -rf "$KDECK_REALKAFKA_DIR/data"
	sed -e "s|@SRC@|$SRC|g" -e "s|@DST@|$DST|g" -e "s|@DATA@|$KDECK_REALKAFKA_DIR/data|g" \
		testing/realkafka/mirror-bench.toml.tmpl >"$KDECK_REALKAFKA_DIR/kdeck-mirror.toml"
	XDG_DATA_HOME=$KDECK_REALKAFKA_DIR/data "$KDECK_REALKAFKA_DIR/kdeck" --config "$KDECK_REALKAFKA_DIR/kdeck-mirror.toml" run \
		>"$KDECK_REALKAFKA_DIR/kdeck-mirror.log" 2>&1 &
	MIRROR_PID=$!
	measure "kdeck mirror" kdeck-bench src.kdeck-bench
else
	note="kdeck's mirror is not in this build (no 'kdeck run' with testing/realkafka/mirror-bench.toml.tmpl): only MirrorMaker 2 was measured."
fi

{
	echo "Apache Kafka 4.3.1, two single-node KRaft clusters (-Xmx512m each) on one machine ($(nproc) cores), $RECORDS records of 100 bytes in 4 partitions, $(date -u +%Y-%m-%d)."
	echo
	echo "| mirror | records/s | seconds from start to last record | latency p50 (ms) | latency p99 (ms) | peak RSS (MiB) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
	[[ -z $note ]] || { echo; echo "$note"; }
} | tee "$OUT"
