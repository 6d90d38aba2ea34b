#!/usr/bin/env bash
# Failover benchmark: how long a file source stops when the process running
# its task is SIGKILLed, Apache Kafka Connect distributed beside a kdeck
# worker group, on one real single-node Apache Kafka 4.3.1 cluster started
# here (testing/realkafka/kafka.sh; state in $KDECK_BENCH_DIR, default
# /tmp/kdeck-bench-failover, everything stopped at exit).
#
#   ./scripts/bench-failover.sh                      # every side, 3 kills each
#   RUNS=1 SIDES="kdeck connect-lowered" ./scripts/bench-failover.sh
#   BACKEND=embedded SIDES="kdeck kdeck-restart" ./scripts/bench-failover.sh
#
# BACKEND=embedded runs the kdeck sides on kdeck's embedded cluster ('kdeck
# dev --ephemeral', franz-go's kfake) instead of Apache Kafka.
#
# Sides (SIDES, default all, in this order):
#   connect-lowered  Kafka Connect 4.3.1 distributed (ConnectDistributed from
#                    the Maven jars, as testing/realkafka/connect/compat.sh
#                    resolves them), three workers, FileStreamSource with
#                    tasks.max=1, scheduled.rebalance.max.delay.ms=0
#   kdeck            three 'kdeck run --worker-group' processes, one
#                    file-source connector (tasks_max=1), [worker]
#                    session_timeout = 10s (the default; Connect's
#                    session.timeout.ms is 10 s too)
#   kdeck-restart    the same group; the killed worker is restarted at once
#                    with the same data dir (restart in place: same worker id,
#                    same static member)
#   connect-default  Connect as above with every rebalance setting at its
#                    default (scheduled.rebalance.max.delay.ms = 300000)
# Both sides: offset flush every 1 s (Connect offset.flush.interval.ms=1000,
# kdeck offset_flush_interval = "1s", its default), string values.
#
# Load: a writer appends RATE lines per second (default 100, "N" per line)
# to the source file for the whole side. Measure: the topic uses
# message.timestamp.type=LogAppendTime, so each record carries the broker's
# append time; after SIGKILL of the process whose task is running (Connect:
# the task's worker_id in GET /connectors/NAME/status; kdeck: the worker whose
# last "worker group assignment applied" log line holds task 0), kcat finds
# the first record appended at least GUARD_MS (default 20) after the kill
# (records the dead process had already sent can land within a few ms; their
# count is reported). Figure: that record's append time minus the kill time.
# The killed worker is then started again (a new process, same port or data
# dir) and the next run kills whichever process runs the task then. At the
# end of a side every line is read back with kcat: lost lines and duplicates.
#
# Connect's leader alone remembers the previous assignment, and with it the
# scheduled rebalance delay: when the worker that runs the task also leads
# the group, a kill measures only the session timeout. So by default the
# task is first moved off the leader (graceful restarts of its worker, noted
# in the log); CONNECT_KILL=any kills whichever worker runs it. The note
# column says whether the killed worker led the group.
#
# Markdown table on stdout and in $KDECK_BENCH_DIR/bench-failover.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=${RUNS:-3}
RATE=${RATE:-100}
GUARD_MS=${GUARD_MS:-20}
SIDES=${SIDES:-connect-lowered kdeck kdeck-restart connect-default}
BACKEND=${BACKEND:-real}
export KDECK_REALKAFKA_DIR=${KDECK_BENCH_DIR:-/tmp/kdeck-bench-failover}
export KDECK_KAFKA_VERSION=${KDECK_KAFKA_VERSION:-4.3.1}
CONNECT_VERSION=${KDECK_CONNECT_VERSION:-4.3.1}
CLIB=${KDECK_CONNECT_LIB:-$HOME/.cache/kdeck/connect-$CONNECT_VERSION/lib}
KAFKA=$ROOT/testing/realkafka/kafka.sh
D=$KDECK_REALKAFKA_DIR
OUT=$D/bench-failover.md

log() { echo "bench-failover: $*" >&2; }
die() { log "$*"; exit 1; }
command -v kcat >/dev/null || die "kcat is not installed; install it (apt-get install kcat)"
command -v jq >/dev/null || die "jq is not installed; install it (apt-get install jq)"

for s in $SIDES; do
	case $s in
	connect-lowered | connect-default | kdeck | kdeck-restart) ;;
	*) die "unknown side '$s' in SIDES; use connect-lowered, kdeck, kdeck-restart or connect-default" ;;
	esac
done
[[ $BACKEND == real || $BACKEND == embedded ]] || die "BACKEND must be real or embedded, got '$BACKEND'"
[[ $RUNS =~ ^[1-9][0-9]*$ && $RATE =~ ^[1-9][0-9]*$ ]] || die "RUNS and RATE must be positive whole numbers, got RUNS='$RUNS' RATE='$RATE'"
[[ $BACKEND == embedded && $SIDES == *connect* ]] && die "the Connect sides run on Apache Kafka only; with BACKEND=embedded set SIDES to kdeck sides"
# Every process this script starts is recorded here and killed at exit.
declare -A PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[[ $BACKEND == embedded ]] || "$KAFKA" stop || true
}
trap cleanup EXIT
mkdir -p "$D/bin"
BIN=$D/bin/kdeck
go build -o "$BIN" ./cmd/kdeck
case $BACKEND in
real)
	# Kafka Connect's jars from Maven, as testing/realkafka/connect/compat.sh.
	if [[ ! -f "$CLIB/.complete" ]]; then
		log "resolving Apache Kafka Connect $CONNECT_VERSION into $CLIB"
		mkdir -p "$CLIB"
		mvn -B -q -f testing/realkafka/connect/pom.xml dependency:copy-dependencies -Dkafka.version="$CONNECT_VERSION" \
			-DincludeScope=runtime -DoutputDirectory="$CLIB" >"$CLIB.mvn.log" 2>&1 || { cat "$CLIB.mvn.log" >&2; exit 1; }
		touch "$CLIB/.complete"
	fi
	"$KAFKA" stop >/dev/null 2>&1 || true
	"$KAFKA" start 1
	eval "$("$KAFKA" env)"
	B=$KDECK_TEST_KAFKA_BROKERS
	BACKEND_NAME="Apache Kafka $KDECK_KAFKA_VERSION (one single-node KRaft cluster, -Xmx512m), Kafka Connect $CONNECT_VERSION"
	;;
embedded)
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	XDG_DATA_HOME=$D/dev XDG_CONFIG_HOME=$D/dev "$BIN" dev --ephemeral --no-demo --no-registry --port "$port" >"$D/dev.log" 2>&1 &
	PIDS[dev]=$!
	B=127.0.0.1:$port
	for _ in $(seq 1 60); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.5; done
	BACKEND_NAME="kdeck's embedded cluster ('kdeck dev --ephemeral', kfake)"
	;;
*) die "BACKEND must be real or embedded, got '$BACKEND'" ;;
esac

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# topic NAME creates NAME with one partition and broker append times.
topic() {
	XDG_DATA_HOME=$D/admin XDG_CONFIG_HOME=$D/admin "$BIN" -b "$B" --server none topics create "$1" -p 1 -r 1 \
		--config message.timestamp.type=LogAppendTime >/dev/null
}

# writer FILE: appends RATE numbered lines per second to FILE until killed.
writer() {
	python3 -u -c '
import sys, time
path, rate = sys.argv[1], int(sys.argv[2])
n, t0 = 0, time.monotonic()
with open(path, "a", buffering=1) as f:
    while True:
        due = int((time.monotonic() - t0) * rate)
        while n < due:
            n += 1
            f.write("%d\n" % n)
        f.flush()
        time.sleep(0.005)
' "$1" "$RATE" &
	PIDS[writer]=$!
}

# first_after TOPIC MS TIMEOUT_S prints the append time of the first record
# of TOPIC appended at or after MS, waiting up to TIMEOUT_S seconds.
first_after() {
	local deadline=$((SECONDS + $3)) ts
	while ((SECONDS < deadline)); do
		ts=$(kcat -C -b "$B" -t "$1" -o "s@$2" -c 1 -e -q -f '%T\n' 2>/dev/null | head -1)
		[[ -n $ts ]] && { echo "$ts"; return 0; }
		sleep 0.2
	done
	return 1
}

# inflight TOPIC FROM TO counts records appended in [FROM, TO) (it stops
# reading at the first later record: the topic keeps growing).
inflight() {
	{ kcat -C -b "$B" -t "$1" -o "s@$2" -q -f '%T\n' 2>/dev/null || true; } |
		awk -v to="$3" '$1 >= to {exit} {n++} END {print n + 0}'
}

# account TOPIC WRITTEN prints "lost=L duplicates=D" for lines 1..WRITTEN.
account() {
	kcat -C -b "$B" -t "$1" -e -q -f '%s\n' 2>/dev/null |
		awk -v w="$2" '$1 >= 1 && $1 <= w {if (seen[$1]++) dup++; else n++} END {printf "lost=%d duplicates=%d\n", w - n, dup + 0}'
}

rows=()
# measure SIDE RUN OWNER_PID TOPIC NOTE: SIGKILLs OWNER_PID and records the gap.
measure() {
	local side=$1 run=$2 pid=$3 t=$4 note=$5 k f gap n
	k=$(now_ms)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	f=$(first_after "$t" $((k + GUARD_MS)) "${FLOW_TIMEOUT:-600}") || { rows+=("| $side | $run | no record within ${FLOW_TIMEOUT:-600} s | | $note |"); return 1; }
	gap=$((f - k))
	n=$(inflight "$t" "$k" $((k + GUARD_MS)))
	log "$side run $run: records flowing again $gap ms after SIGKILL ($n records of the dead process landed within ${GUARD_MS} ms)"
	rows+=("| $side | $run | $gap | $n | $note |")
}

# ---- Kafka Connect distributed ----
declare -A CPORT=()
connect_start() { # connect_start SIDE I
	local side=$1 i=$2 props=$D/$1/worker-$2.properties
	cat >"$props" <<EOF
bootstrap.servers=$B
group.id=$side
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
config.storage.topic=$side-configs
offset.storage.topic=$side-offsets
status.storage.topic=$side-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
listeners=http://127.0.0.1:${CPORT[$i]}
rest.advertised.host.name=127.0.0.1
rest.advertised.port=${CPORT[$i]}
plugin.discovery=only_scan
offset.flush.interval.ms=1000
EOF
	[[ $side == connect-lowered ]] && echo "scheduled.rebalance.max.delay.ms=0" >>"$props"
	java -Xms128m -Xmx1g -cp "$CLIB/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
		-Dorg.slf4j.simpleLogger.showDateTime=true \
		org.apache.kafka.connect.cli.ConnectDistributed "$props" >>"$D/$side/worker-$i.log" 2>&1 &
	PIDS[c$i]=$!
}
connect_ready() { # connect_ready I: waits for the REST API
	local deadline=$((SECONDS + 180))
	until curl -sf -m 5 "http://127.0.0.1:${CPORT[$1]}/" >/dev/null; do
		((SECONDS < deadline)) || die "Connect worker $1 did not answer within 180 s"
		kill -0 "${PIDS[c$1]}" 2>/dev/null || die "Connect worker $1 exited; see its log in $D"
		sleep 1
	done
}
# connect_owner SIDE: prints the index of the worker whose task 0 is RUNNING
# and whose connector is RUNNING, or nothing.
connect_owner() {
	local i st w
	for i in 1 2 3; do
		kill -0 "${PIDS[c$i]}" 2>/dev/null || continue
		st=$(curl -sf -m 5 "http://127.0.0.1:${CPORT[$i]}/connectors/tail/status" 2>/dev/null) || continue
		w=$(jq -r 'select(.connector.state == "RUNNING") | .tasks[] | select(.id == 0 and .state == "RUNNING") | .worker_id' <<<"$st")
		[[ -n $w ]] || return 0
		for i in 1 2 3; do [[ $w == "127.0.0.1:${CPORT[$i]}" ]] && { echo "$i"; return 0; }; done
		return 0
	done
}
# connect_leader I: the REST port of the group's leader in worker I's last
# rebalance.
connect_leader() {
	grep -o "Joined group at generation [0-9]* .*leaderUrl='[^']*'" "$D/$side/worker-$1.log" | tail -1 |
		sed -E "s|.*leaderUrl='http://127.0.0.1:([0-9]+)/'.*|\1|"
}
await_owner() { # await_owner FUNC ARGS...: waits up to 10 minutes for an owner
	local deadline=$((SECONDS + 600)) o
	while ((SECONDS < deadline)); do
		o=$("$@")
		[[ -n $o ]] && { echo "$o"; return 0; }
		sleep 0.5
	done
	return 1
}

connect_side() {
	local side=$1 t=$1-lines i o r ports
	mkdir -p "$D/$side"
	rm -f "$D/$side"/*
	read -r -a ports <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')"
	for i in 1 2 3; do CPORT[$i]=${ports[$((i - 1))]}; done
	topic "$t"
	: >"$D/$side/source.txt"
	writer "$D/$side/source.txt"
	for i in 1 2 3; do connect_start "$side" "$i"; done
	for i in 1 2 3; do connect_ready "$i"; done
	curl -sf -m 30 -X PUT -H 'Content-Type: application/json' "http://127.0.0.1:${CPORT[1]}/connectors/tail/config" \
		-d "{\"connector.class\":\"org.apache.kafka.connect.file.FileStreamSourceConnector\",\"tasks.max\":\"1\",\"file\":\"$D/$side/source.txt\",\"topic\":\"$t\"}" >/dev/null ||
		die "Connect refused the FileStreamSource connector"
	for ((r = 1; r <= RUNS; r++)); do
		o=$(await_owner connect_owner "$side") || die "$side: the task did not run within 10 minutes"
		# The leader keeps the previous assignment, and with it the delay
		# for a lost worker's tasks: a new leader has neither, so killing a
		# leader that runs the task measures the session timeout only. By
		# default the task is first moved off the leader (graceful restarts of
		# its worker); CONNECT_KILL=any kills whoever runs it.
		local a leader=
		for ((a = 1; a <= 6; a++)); do
			leader=$(connect_leader "$o")
			[[ ${CONNECT_KILL:-nonleader} == nonleader && $leader == "${CPORT[$o]}" ]] || break
			log "$side run $r: worker $o runs the task and leads the group; restarting it gracefully (attempt $a)"
			kill -TERM "${PIDS[c$o]}"; wait "${PIDS[c$o]}" 2>/dev/null || true
			connect_start "$side" "$o"
			connect_ready "$o"
			sleep 10
			o=$(await_owner connect_owner "$side") || die "$side: the task did not run within 10 minutes"
		done
		local note="killed worker did not lead the group"
		[[ $leader == "${CPORT[$o]}" ]] && note="killed worker led the group"
		first_after "$t" "$(now_ms)" 60 >/dev/null || die "$side: no records flowing before run $r"
		sleep 3
		log "$side run $r: killing worker $o (pid ${PIDS[c$o]}; $note)"
		measure "$side" "$r" "${PIDS[c$o]}" "$t" "$note" || break
		connect_start "$side" "$o"
		connect_ready "$o"
	done
	kill -KILL "${PIDS[writer]}"; wait "${PIDS[writer]}" 2>/dev/null || true
	unset 'PIDS[writer]'
	sleep 5
	local written
	written=$(tail -1 "$D/$side/source.txt")
	rows+=("| $side | accounting | $written lines written: $(account "$t" "$written") | | |")
	for i in 1 2 3; do kill -TERM "${PIDS[c$i]}" 2>/dev/null || true; done
	for i in 1 2 3; do wait "${PIDS[c$i]}" 2>/dev/null || true; unset "PIDS[c$i]"; done
}

# ---- kdeck worker group ----
declare -A KLOG=()
kdeck_start() { # kdeck_start SIDE I
	local side=$1 i=$2
	cat >"$D/$side/worker-$i.toml" <<EOF
default_cluster = "k"

[clusters.k]
brokers = ["$B"]

[ops]
data_dir = "$D/$side/data-$i"

[worker]
group = "$side"
session_timeout = "10s"

[[connectors]]
name = "tail"
class = "file-source"
path = "$D/$side/source.txt"
topic = "$side-lines"
tasks_max = 1
offset_flush_interval = "1s"
EOF
	KLOG[$i]=$D/$side/worker-$i.$(now_ms).log
	XDG_DATA_HOME=$D/$side/xdg-$i XDG_CONFIG_HOME=$D/$side/xdg-$i "$BIN" --config "$D/$side/worker-$i.toml" \
		run --log-format json 2>"${KLOG[$i]}" >/dev/null &
	PIDS[k$i]=$!
}
# kdeck_owner: the index of the live worker whose last applied assignment
# holds task 0 of "tail".
kdeck_owner() {
	local i s
	for i in 1 2 3; do
		kill -0 "${PIDS[k$i]}" 2>/dev/null || continue
		s=$(jq -R -c 'fromjson? | select(.msg == "worker group assignment applied") | .tasks.tail // []' "${KLOG[$i]}" | tail -1)
		[[ $s == "[0]" ]] && { echo "$i"; return 0; }
	done
	return 0
}

kdeck_side() {
	local side=$1 t=$1-lines i o r
	mkdir -p "$D/$side"
	rm -rf "${D:?}/$side"/*
	topic "$t"
	: >"$D/$side/source.txt"
	writer "$D/$side/source.txt"
	for i in 1 2 3; do kdeck_start "$side" "$i"; done
	for ((r = 1; r <= RUNS; r++)); do
		o=$(await_owner kdeck_owner) || die "$side: no worker took task 0 within 10 minutes; logs in $D/$side"
		first_after "$t" "$(now_ms)" 60 >/dev/null || die "$side: no records flowing before run $r; logs in $D/$side"
		sleep 3
		log "$side run $r: killing worker $o (pid ${PIDS[k$o]})"
		if [[ $side == kdeck-restart ]]; then
			# Restart in place: the new process starts right after the kill.
			local k f gap n pid=${PIDS[k$o]}
			k=$(now_ms)
			kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
			kdeck_start "$side" "$o"
			f=$(first_after "$t" $((k + GUARD_MS)) 120) || { rows+=("| $side | $r | no record within 120 s | | |"); break; }
			gap=$((f - k))
			n=$(inflight "$t" "$k" $((k + GUARD_MS)))
			log "$side run $r: records flowing again $gap ms after SIGKILL and restart"
			rows+=("| $side | $r | $gap | $n | restarted at once |")
		else
			measure "$side" "$r" "${PIDS[k$o]}" "$t" "" || break
			kdeck_start "$side" "$o"
		fi
	done
	kill -KILL "${PIDS[writer]}"; wait "${PIDS[writer]}" 2>/dev/null || true
	unset 'PIDS[writer]'
	sleep 5
	local written
	written=$(tail -1 "$D/$side/source.txt")
	rows+=("| $side | accounting | $written lines written: $(account "$t" "$written") | | |")
	for i in 1 2 3; do kill -TERM "${PIDS[k$i]}" 2>/dev/null || true; done
	for i in 1 2 3; do wait "${PIDS[k$i]}" 2>/dev/null || true; unset "PIDS[k$i]"; done
}

for s in $SIDES; do
	case $s in
	connect-lowered | connect-default) connect_side "$s" ;;
	kdeck | kdeck-restart) kdeck_side "$s" ;;
	*) die "unknown side '$s' in SIDES; use connect-lowered, kdeck, kdeck-restart or connect-default" ;;
	esac
done

{
	echo "$BACKEND_NAME, $(nproc) cores, $RATE lines/s, $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo
	echo "| side | run | ms from SIGKILL to the first record appended again | records of the dead process within ${GUARD_MS} ms | note |"
	echo "| --- | --- | ---: | ---: | --- |"
	printf '%s\n' "${rows[@]}"
} | tee "$OUT"
