#!/usr/bin/env bash
# Side-by-side mirror benchmark: Apache MirrorMaker 2 (dedicated mode,
# org.apache.kafka.connect.mirror.MirrorMaker) and kdeck's mirror, each
# replicating the same RECORDS records (default 2,000,000 of 100 bytes,
# PARTITIONS partitions, default 6) between two real single-node Kafka 4.3.1
# clusters started by this script, RUNS times (default 1).
#
#   ./scripts/bench-mirror.sh                          # MM2 tuned, kdeck, one run
#   RUNS=3 WORKERS="1 2 3" ./scripts/bench-mirror.sh   # + kdeck worker groups of 1, 2, 3
#   MM2_SETTINGS=defaults PARTITIONS=4 TASKS=4 ./scripts/bench-mirror.sh  # the 2026-11-25 setup
#
# MM2_SETTINGS=tuned (default): MirrorMaker 2 tuned for throughput as its
# documentation advises (dst.producer.batch.size, linger.ms,
# compression.type, src.consumer fetch.max.bytes, max.partition.fetch.bytes,
# max.poll.records, tasks.max, offset.flush.timeout.ms), and the same values
# given to kdeck where a setting exists there (linger, batch_max_bytes,
# compression, fetch_max_bytes, fetch_max_partition_bytes, tasks_max): see
# LINGER_MS, BATCH_BYTES, COMPRESSION, FETCH_BYTES, PARTITION_FETCH_BYTES,
# TASKS below. MM2_SETTINGS=defaults: MirrorMaker 2 at its defaults but
# tasks.max and replication factor 1, kdeck with the template's former
# values (linger 5ms, 1 MiB batches, no compression, 16 MiB fetches).
#
# Figures per mirror: throughput (records/s from the first record on the
# target to the last), time from the mirror's start to the last record,
# end-to-end latency of 200 probes produced after the catch-up (p50, p99),
# and peak resident memory (VmHWM; for a worker group, the sum over its
# workers). Markdown table on stdout and in $KDECK_BENCH_DIR/bench-mirror.md.
#
# kdeck's side: 'kdeck run' hosting the one [[mirrors]] flow of
# testing/realkafka/mirror-bench.toml.tmpl (src -> dst, remote topic
# src.TOPIC; at least once, from earliest, as MirrorMaker 2 here). With
# WORKERS="1 2 3", also N 'kdeck run' processes of one worker group ([worker]
# group, session_timeout 10s) sharing the flow's TASKS shards. Every mirror
# gets its own copy of the data (produced just before it starts) and none
# runs at the same time as another.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RECORDS=${RECORDS:-2000000}
RUNS=${RUNS:-1}
PARTITIONS=${PARTITIONS:-6}
TASKS=${TASKS:-3}
WORKERS=${WORKERS:-}
MM2_SETTINGS=${MM2_SETTINGS:-tuned}
case $MM2_SETTINGS in
tuned)
	LINGER_MS=${LINGER_MS:-20}
	BATCH_BYTES=${BATCH_BYTES:-1048576}
	COMPRESSION=${COMPRESSION:-lz4}
	FETCH_BYTES=${FETCH_BYTES:-52428800}
	PARTITION_FETCH_BYTES=${PARTITION_FETCH_BYTES:-2097152}
	;;
defaults)
	LINGER_MS=5 BATCH_BYTES=1048576 COMPRESSION=none FETCH_BYTES=16777216 PARTITION_FETCH_BYTES=1048576
	;;
*)
	echo "bench-mirror: MM2_SETTINGS must be tuned or defaults, got '$MM2_SETTINGS'" >&2
	exit 2
	;;
esac
for n in $RUNS $RECORDS $PARTITIONS $TASKS $WORKERS; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || {
		echo "bench-mirror: RUNS, RECORDS, PARTITIONS, TASKS and WORKERS must be positive whole numbers, got '$n'" >&2
		exit 2
	}
done
export KDECK_REALKAFKA_DIR=${KDECK_BENCH_DIR:-/tmp/kdeck-bench-mirror}
# The figures in BENCHMARKS.md were measured on 4.3.1 (MirrorMaker 2 and
# Kafka Streams of the broker's line): keep it unless asked.
export KDECK_KAFKA_VERSION=${KDECK_KAFKA_VERSION:-4.3.1}
KAFKA=$ROOT/testing/realkafka/kafka.sh
D=$KDECK_REALKAFKA_DIR
OUT=$D/bench-mirror.md
MB=$D/loadgen
BIN=$D/kdeck
MIRROR_PIDS=()

stop_mirrors() {
	local p
	for p in "${MIRROR_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${MIRROR_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	MIRROR_PIDS=()
}
cleanup() {
	stop_mirrors
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
go build -o "$BIN" ./cmd/kdeck

rows=()
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
# measure RUN NAME TOPIC: the mirror (MIRROR_PIDS) is running; await the
# copy, probe latency and sum its processes' peak memory.
measure() {
	local run=$1 name=$2 topic=$3 remote=src.$3 a l rss=0 p
	if ! a=$("$MB" await -target "$DST" -topic "$remote" -records "$RECORDS" -timeout "${AWAIT_TIMEOUT:-10m}"); then
		rows+=("| $run | $name | did not copy $RECORDS records within ${AWAIT_TIMEOUT:-10m} | | | | |")
		return
	fi
	echo "$name: $a" >&2
	l=$("$MB" latency -source "$SRC" -target "$DST" -topic "$topic" -remote "$remote")
	echo "$name: $l" >&2
	for p in "${MIRROR_PIDS[@]}"; do
		rss=$((rss + $(awk '/VmHWM/ {print $2}' "/proc/$p/status")))
	done
	rows+=("| $run | $name | $(kv "$a" records_per_s) | $(kv "$a" seconds_from_start) | $(kv "$l" p50_ms) | $(kv "$l" p99_ms) | $((rss / 1024)) |")
}

mm2() { # mm2 RUN
	local t=mm2-bench-$1 p=$D/mm2-$1.properties
	echo "== run $1: MirrorMaker 2 ($MM2_SETTINGS): producing $RECORDS records to src/$t" >&2
	"$MB" produce -source "$SRC" -topic "$t" -records "$RECORDS" -partitions "$PARTITIONS"
	cat >"$p" <<PROPS
clusters = src, dst
src.bootstrap.servers = $SRC
dst.bootstrap.servers = $DST
src->dst.enabled = true
src->dst.topics = $t
dst->src.enabled = false
tasks.max = $TASKS
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
sync.topic.acls.enabled = false
refresh.topics.interval.seconds = 5
PROPS
	if [[ $MM2_SETTINGS == tuned ]]; then
		cat >>"$p" <<PROPS
# Tuned for throughput: the producer writing to the target, the consumer
# reading the source (MirrorMaker 2's <cluster>.producer./.consumer. form).
dst.producer.batch.size = $BATCH_BYTES
dst.producer.linger.ms = $LINGER_MS
dst.producer.compression.type = $COMPRESSION
dst.producer.buffer.memory = 134217728
dst.producer.max.request.size = $((BATCH_BYTES > 1048576 ? BATCH_BYTES : 1048576))
src.consumer.fetch.max.bytes = $FETCH_BYTES
src.consumer.max.partition.fetch.bytes = $PARTITION_FETCH_BYTES
src.consumer.max.poll.records = 5000
offset.flush.timeout.ms = 10000
PROPS
	fi
	# info: the clients log their effective configurations, checked below.
	java -Xms256m -Xmx2g -cp "$LIB/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
		org.apache.kafka.connect.mirror.MirrorMaker "$p" >"$D/mm2-$1.log" 2>&1 &
	MIRROR_PIDS=($!)
	measure "$1" "MirrorMaker 2 ($MM2_SETTINGS, dedicated, $TASKS tasks, -Xmx2g)" "$t"
	stop_mirrors
	if [[ $MM2_SETTINGS == tuned ]] && ! grep -q "compression.type = $COMPRESSION" "$D/mm2-$1.log"; then
		echo "bench-mirror: MirrorMaker 2's producers did not take the tuned settings (no 'compression.type = $COMPRESSION' in $D/mm2-$1.log)" >&2
		exit 1
	fi
}

# kdeck_toml TOPIC DATA: the flow's configuration on stdout.
kdeck_toml() {
	sed -e "s|@SRC@|$SRC|g" -e "s|@DST@|$DST|g" -e "s|@DATA@|$2|g" -e "s|@TOPIC@|$1|g" \
		-e "s|@TASKS@|$TASKS|g" -e "s|@LINGER@|$LINGER_MS|g" -e "s|@BATCH@|$BATCH_BYTES|g" \
		-e "s|@COMPRESSION@|$COMPRESSION|g" -e "s|@FETCH@|$FETCH_BYTES|g" -e "s|@PFETCH@|$PARTITION_FETCH_BYTES|g" \
		testing/realkafka/mirror-bench.toml.tmpl
}

kdeck_mirror() { # kdeck_mirror RUN [WORKERS]: one 'kdeck run', or a worker group of WORKERS
	local run=$1 n=${2:-} t name i dir
	if [[ -z $n ]]; then
		t=kdeck-bench-$run name="kdeck mirror (one flow, tasks_max $TASKS, \`kdeck run\`)"
	else
		t=kdeck-g$n-bench-$run name="kdeck mirror, worker group of $n (tasks_max $TASKS)"
	fi
	echo "== run $run: $name: producing $RECORDS records to src/$t" >&2
	"$MB" produce -source "$SRC" -topic "$t" -records "$RECORDS" -partitions "$PARTITIONS"
	for ((i = 1; i <= ${n:-1}; i++)); do
		dir=$D/$t-w$i
		rm -rf "$dir"
		mkdir -p "$dir"
		kdeck_toml "$t" "$dir/data" >"$dir/kdeck.toml"
		[[ -n $n ]] && printf '\n[worker]\ngroup = "%s"\nsession_timeout = "10s"\n' "$t" >>"$dir/kdeck.toml"
		XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir "$BIN" --config "$dir/kdeck.toml" run \
			>"$dir/kdeck.log" 2>&1 &
		MIRROR_PIDS+=($!)
	done
	measure "$run" "$name" "$t"
	stop_mirrors
}

for ((r = 1; r <= RUNS; r++)); do
	mm2 "$r"
	kdeck_mirror "$r"
	for n in $WORKERS; do kdeck_mirror "$r" "$n"; done
done

{
	echo "Apache Kafka 4.3.1, two single-node KRaft clusters (-Xmx512m each) on one machine ($(nproc) cores), $RECORDS records of 100 bytes in $PARTITIONS partitions, $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "Settings ($MM2_SETTINGS), both mirrors where they apply: linger ${LINGER_MS} ms, batch $BATCH_BYTES bytes, compression $COMPRESSION, fetch $FETCH_BYTES bytes (partition $PARTITION_FETCH_BYTES), $TASKS tasks."
	echo
	echo "| run | mirror | records/s | seconds from start to last record | latency p50 (ms) | latency p99 (ms) | peak RSS (MiB) |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
} | tee "$OUT"
