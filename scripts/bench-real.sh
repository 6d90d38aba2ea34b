#!/usr/bin/env bash
# Side-by-side benchmarks: kdeck beside the Apache Kafka tools on the same
# real cluster and the same data, in the same run.
#
#   ./scripts/bench-real.sh            # 1,000 groups, 5 runs per command
#   BENCH_GROUPS=200 RUNS=3 ./scripts/bench-real.sh
#
# It starts its own single-node Apache Kafka 4.3.1 cluster (state in
# /tmp/kdeck-bench, stopped at exit), builds kdeck, seeds BENCH_GROUPS consumer
# groups (testing/realkafka/seedgroups), then times each command RUNS times
# and prints a Markdown table of median wall times and the ratio
# (Apache tool / kdeck: above 1 means kdeck is faster). The table is also
# written to bench-real.md in the state directory.
#
# Rows: listing the groups, listing them with their lag, and resetting
# offsets (kdeck offsets reset, when that command exists in this build).
# MirrorMaker 2 and Kafka Streams rows are not measured yet: see the
# section:realkafka part of BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
NGROUPS=${BENCH_GROUPS:-1000}
RUNS=${RUNS:-5}
export KDECK_REALKAFKA_DIR=${KDECK_BENCH_DIR:-/tmp/kdeck-bench}
# The figures in BENCHMARKS.md were measured on 4.3.1 (MirrorMaker 2 and
# Kafka Streams of the broker's line): keep it unless asked.
export KDECK_KAFKA_VERSION=${KDECK_KAFKA_VERSION:-4.3.1}
KAFKA=$ROOT/testing/realkafka/kafka.sh
BIN=$KDECK_REALKAFKA_DIR/kdeck
OUT=$KDECK_REALKAFKA_DIR/bench-real.md

"$KAFKA" stop >/dev/null 2>&1 || true
trap '"$KAFKA" stop' EXIT
"$KAFKA" start 1
eval "$("$KAFKA" env)"
B=$KDECK_TEST_KAFKA_BROKERS
LIB=$KDECK_TEST_KAFKA_LIB

echo "== building kdeck"
go build -o "$BIN" ./cmd/kdeck
echo "== seeding $NGROUPS groups"
go run ./testing/realkafka/seedgroups -brokers "$B" -groups "$NGROUPS"

# cgc runs kafka-consumer-groups (ConsumerGroupCommand) as the Apache script does.
cgc() {
	java -Xmx512m -cp "$LIB/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$B" "$@"
}
kd() { KDECK_CONFIG= XDG_CONFIG_HOME=$KDECK_REALKAFKA_DIR XDG_DATA_HOME=$KDECK_REALKAFKA_DIR/data "$BIN" -b "$B" "$@"; }

# median_ms runs "$@" RUNS times (output discarded) and prints the median
# wall time in milliseconds; it fails if any run fails.
median_ms() {
	local times=() s e
	for ((r = 0; r < RUNS; r++)); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>"$KDECK_REALKAFKA_DIR/last.err" || return 1
		e=$(date +%s%N)
		times+=($(((e - s) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

rows=()
# row NAME APACHE_CMD... -- KDECK_CMD...
row() {
	local name=$1
	shift
	local apache=() kdeck=()
	while [[ $1 != -- ]]; do apache+=("$1"); shift; done
	shift
	kdeck=("$@")
	local a k
	echo "== $name" >&2
	a=$(median_ms "${apache[@]}") || { rows+=("| $name | failed: $(head -c 200 "$KDECK_REALKAFKA_DIR/last.err" | tr '\n' ' ') | | |"); return; }
	k=$(median_ms "${kdeck[@]}") || { rows+=("| $name | $a | failed: $(head -c 200 "$KDECK_REALKAFKA_DIR/last.err" | tr '\n' ' ') | |"); return; }
	rows+=("| $name | $a | $k | $(awk -v a="$a" -v k="$k" 'BEGIN {printf "%.1fx", a / (k > 0 ? k : 1)}') |")
}

# Sanity: both tools see every group.
n_apache=$(cgc --list | grep -c "^bench-" || true)
n_kdeck=$(kd groups list -o json | grep -o '"group": *"bench-' | wc -l || true)
echo "groups seen: kafka-consumer-groups $n_apache, kdeck $n_kdeck"
[[ $n_apache -eq $NGROUPS && $n_kdeck -eq $NGROUPS ]] || { echo "a tool did not see all $NGROUPS groups" >&2; exit 1; }
# Sanity: both tools report the same total lag.
lag_apache=$(cgc --describe --all-groups 2>/dev/null | awk '$1 ~ /^bench-/ && $6 ~ /^[0-9]+$/ {s += $6} END {print s + 0}')
lag_kdeck=$(kd groups list -o json | python3 -c 'import json,sys; print(sum(g["lag"] for g in json.load(sys.stdin) if g["group"].startswith("bench-")))')
echo "total lag: kafka-consumer-groups $lag_apache, kdeck $lag_kdeck"
[[ $lag_apache -eq $lag_kdeck && $lag_kdeck -gt 0 ]] || { echo "the tools disagree on the total lag" >&2; exit 1; }

row "list $NGROUPS groups (names; kdeck adds state, members, lag)" cgc --list -- kd groups list
row "list $NGROUPS groups with lag (--describe --all-groups vs groups list)" cgc --describe --all-groups -- kd groups list
row "list $NGROUPS groups with state (--describe --all-groups --state vs groups list)" cgc --describe --all-groups --state -- kd groups list
row "describe one group" cgc --describe --group bench-0007 -- kd groups describe bench-0007

reset_note=""
# kd_reset_each resets every seeded group, one kdeck process per group
# (kdeck offsets reset takes one group; kafka-consumer-groups has --all-groups).
kd_reset_each() {
	for ((g = 0; g < NGROUPS; g++)); do
		kd offsets reset "$(printf 'bench-%04d' "$g")" --all-topics --to-earliest --execute || return 1
	done
}
if kd offsets reset --help >/dev/null 2>&1; then
	row "plan a reset of one group (dry run)" \
		cgc --reset-offsets --group bench-0001 --all-topics --to-earliest --dry-run -- \
		kd offsets reset bench-0001 --all-topics --to-earliest
	row "reset one group to earliest (execute)" \
		cgc --reset-offsets --group bench-0001 --all-topics --to-earliest --execute -- \
		kd offsets reset bench-0001 --all-topics --to-earliest --execute
	if kd offsets reset --help 2>&1 | grep -q -- "--all-groups"; then
		row "reset $NGROUPS groups to earliest (execute)" \
			cgc --reset-offsets --all-groups --all-topics --to-earliest --execute -- \
			kd offsets reset --all-groups --all-topics --to-earliest --execute
	else
		RUNS_SAVED=$RUNS RUNS=1
		row "reset $NGROUPS groups to earliest (execute; Apache: one --all-groups run; kdeck: one process per group)" \
			cgc --reset-offsets --all-groups --all-topics --to-earliest --execute -- \
			kd_reset_each
		RUNS=$RUNS_SAVED
		reset_note="kdeck offsets reset takes one group: the $NGROUPS-group row runs kdeck once per group (timed once), kafka-consumer-groups once with --all-groups."
	fi
else
	reset_note="'kdeck offsets reset' is not in this build yet: the reset rows are left out."
fi

{
	echo "Apache Kafka 4.3.1 (one KRaft node, -Xmx512m), $NGROUPS groups on one 4-partition topic; median of $RUNS runs; wall time of the whole command (JVM start included for the Apache tool); $(nproc) cores, $(date -u +%Y-%m-%d)."
	echo
	echo "| command | kafka-consumer-groups (ms) | kdeck (ms) | ratio |"
	echo "| --- | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
	[[ -z $reset_note ]] || { echo; echo "$reset_note"; }
} | tee "$OUT"
