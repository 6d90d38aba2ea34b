#!/usr/bin/env bash
# kafka.sh: Apache Kafka clusters for kdeck's real-Kafka test tier.
#
#   testing/realkafka/kafka.sh resolve     # Maven: Kafka's jars into $KDECK_KAFKA_LIB (skipped when present)
#   testing/realkafka/kafka.sh start [N]   # resolve, then start N (default 3) single-node KRaft clusters
#   eval "$(testing/realkafka/kafka.sh env)"  # export KDECK_TEST_KAFKA=real and the clusters' addresses
#   testing/realkafka/kafka.sh stop        # stop every cluster this state dir started
#   testing/realkafka/kafka.sh java CLASS ARGS...  # run a Kafka class (tools) on the resolved classpath
#
# Each cluster is one JVM with process.roles=broker,controller on free loopback
# ports, its own log dir, and five listeners: PLAINTEXT (tests and tools),
# CONTROLLER, SASL_PLAINTEXT with SCRAM-SHA-512 (user created at format time),
# SSL and MTLS (SSL requiring a client certificate); keytool makes one CA, the
# brokers' certificate and a client certificate (PEM, via openssl) at start.
#
# Versions: KDECK_KAFKA_VERSION picks the broker (default 4.4.0, the newest
# Maven serves; 3.9.2 is the last 3.x line and is formatted with a static
# controller.quorum.voters, as 3.x has no --standalone). connect-mirror (for
# the benchmarks) is not served at 4.4.0: the 4.4 line takes 4.3.1's.
#
# Environment:
#   KDECK_KAFKA_VERSION   Apache Kafka version (default 4.4.0)
#   KDECK_KAFKA_LIB       jar directory (default ~/.cache/kdeck/kafka-VERSION/lib)
#   KDECK_REALKAFKA_DIR   state: logs, configs, pids, certs, env (default /tmp/kdeck-realkafka)
#   KDECK_KAFKA_HEAP      broker heap (default -Xms128m -Xmx512m)
#   KDECK_KAFKA_START_TIMEOUT  seconds to wait for each cluster (default 120)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="${KDECK_KAFKA_VERSION:-4.4.0}"
case "$KAFKA_VERSION" in
4.4.*) CONNECT_VERSION=4.3.1 ;;
*) CONNECT_VERSION=$KAFKA_VERSION ;;
esac
# KRaft before 4.0 knows only static quorums.
case "$KAFKA_VERSION" in
3.*) QUORUM=static ;;
*) QUORUM=dynamic ;;
esac
LIB="${KDECK_KAFKA_LIB:-$HOME/.cache/kdeck/kafka-$KAFKA_VERSION/lib}"
STATE="${KDECK_REALKAFKA_DIR:-/tmp/kdeck-realkafka}"
HEAP="${KDECK_KAFKA_HEAP:--Xms128m -Xmx512m}"
START_TIMEOUT="${KDECK_KAFKA_START_TIMEOUT:-120}"
SASL_USER=kdeck
SASL_PASSWORD=kdeck-secret
STOREPASS=kdeck-store

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

resolve() {
	if [[ -f "$LIB/.complete" ]]; then
		return 0
	fi
	command -v mvn >/dev/null || die "Maven (mvn) is not installed; install it to resolve Apache Kafka $KAFKA_VERSION"
	log "resolving Apache Kafka $KAFKA_VERSION into $LIB (Maven caches downloads in ~/.m2)"
	rm -rf "$LIB"
	mkdir -p "$LIB"
	if ! mvn -B -q -f "$HERE/pom.xml" dependency:copy-dependencies \
		-Dkafka.version="$KAFKA_VERSION" -Dconnect.version="$CONNECT_VERSION" \
		-DincludeScope=runtime -DoutputDirectory="$LIB" >"$LIB.mvn.log" 2>&1; then
		cat "$LIB.mvn.log" >&2
		die "Maven could not resolve Apache Kafka $KAFKA_VERSION; see the output above"
	fi
	touch "$LIB/.complete"
}

# kjava runs a Java class on the resolved classpath.
kjava() {
	java -cp "$LIB/*" -Dorg.slf4j.simpleLogger.defaultLogLevel="${KDECK_KAFKA_LOG_LEVEL:-warn}" "$@"
}

# freeports prints N distinct TCP ports nothing listens on now (all bound
# at once, so none repeats).
freeports() {
	python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
' "$1"
}

certs() {
	local d="$STATE/certs"
	# Reuse certificates younger than a day (they are valid for 30).
	[[ -n "$(find "$d/client-key.pem" -mmin -1440 2>/dev/null)" ]] && return 0
	mkdir -p "$d"
	rm -f "$d"/*
	local kt=(keytool -storepass "$STOREPASS" -keypass "$STOREPASS" -storetype PKCS12 -noprompt)
	"${kt[@]}" -genkeypair -alias ca -keyalg RSA -keysize 2048 -validity 30 \
		-dname "CN=kdeck test CA" -ext bc:c -keystore "$d/ca.p12" 2>/dev/null
	"${kt[@]}" -exportcert -rfc -alias ca -keystore "$d/ca.p12" -file "$d/ca.pem" 2>/dev/null
	"${kt[@]}" -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 30 \
		-dname "CN=localhost" -keystore "$d/broker.p12" 2>/dev/null
	"${kt[@]}" -certreq -alias broker -keystore "$d/broker.p12" -file "$d/broker.csr" 2>/dev/null
	"${kt[@]}" -gencert -alias ca -keystore "$d/ca.p12" -infile "$d/broker.csr" -outfile "$d/broker.pem" \
		-rfc -validity 30 -ext SAN=dns:localhost,ip:127.0.0.1 -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth 2>/dev/null
	"${kt[@]}" -importcert -alias ca -keystore "$d/broker.p12" -file "$d/ca.pem" 2>/dev/null
	"${kt[@]}" -importcert -alias broker -keystore "$d/broker.p12" -file "$d/broker.pem" 2>/dev/null
	"${kt[@]}" -importcert -alias ca -keystore "$d/truststore.p12" -file "$d/ca.pem" 2>/dev/null
	# A client certificate for the mutual-TLS listener, as PEM for Go.
	"${kt[@]}" -genkeypair -alias client -keyalg RSA -keysize 2048 -validity 30 \
		-dname "CN=kdeck-client" -keystore "$d/client.p12" 2>/dev/null
	"${kt[@]}" -certreq -alias client -keystore "$d/client.p12" -file "$d/client.csr" 2>/dev/null
	"${kt[@]}" -gencert -alias ca -keystore "$d/ca.p12" -infile "$d/client.csr" -outfile "$d/client-cert.pem" \
		-rfc -validity 30 -ext ku:c=digitalSignature,keyEncipherment -ext eku=clientAuth 2>/dev/null
	openssl pkcs12 -in "$d/client.p12" -passin "pass:$STOREPASS" -nocerts -nodes 2>/dev/null |
		openssl pkey -out "$d/client-key.pem" 2>/dev/null ||
		die "openssl could not export the client key; install openssl"
	chmod 600 "$d/client-key.pem"
}

# config writes cluster i's server.properties with the free ports P C S T M.
config() {
	local i=$1 dir="$STATE/cluster-$1" p=$2 c=$3 s=$4 t=$5 m=$6 quorum
	mkdir -p "$dir/data"
	quorum="controller.quorum.bootstrap.servers=127.0.0.1:$c"
	[[ $QUORUM == static ]] && quorum="controller.quorum.voters=1@127.0.0.1:$c"
	cat >"$dir/server.properties" <<EOF
# cluster $i of kdeck's real-Kafka test tier, Apache Kafka $KAFKA_VERSION (written by kafka.sh)
process.roles=broker,controller
node.id=1
$quorum
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$c,SASL_PLAINTEXT://127.0.0.1:$s,SSL://127.0.0.1:$t,MTLS://127.0.0.1:$m
advertised.listeners=PLAINTEXT://127.0.0.1:$p,SASL_PLAINTEXT://127.0.0.1:$s,SSL://127.0.0.1:$t,MTLS://127.0.0.1:$m
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,MTLS:SSL
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.flush.interval.messages=9223372036854775807
# Tests produce records with fixed timestamps in the past (the streams window
# tests use January 2026): the default 7-day time retention deleted them at the
# next retention check (every 5 minutes), at a random moment of a test, which
# emptied topics under TestWindowedCountFinalWithGraceAndLateRecords. kfake
# keeps them; so does this tier. Topics that set retention.ms keep theirs.
log.retention.ms=-1
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$STATE/certs/broker.p12
ssl.keystore.password=$STOREPASS
ssl.key.password=$STOREPASS
ssl.truststore.type=PKCS12
ssl.truststore.location=$STATE/certs/truststore.p12
ssl.truststore.password=$STOREPASS
ssl.client.auth=none
listener.name.mtls.ssl.client.auth=required
EOF
	echo "127.0.0.1:$p" >"$dir/brokers"
	echo "127.0.0.1:$s" >"$dir/sasl"
	echo "127.0.0.1:$t" >"$dir/tls"
	echo "127.0.0.1:$m" >"$dir/mtls"
}

# launch formats and starts cluster i in the background, recording its pid.
launch() {
	local i=$1 dir="$STATE/cluster-$1" standalone=--standalone
	[[ $QUORUM == static ]] && standalone=
	kjava kafka.tools.StorageTool format -t "$(kjava kafka.tools.StorageTool random-uuid)" \
		-c "$dir/server.properties" $standalone \
		--add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" >"$dir/format.log" 2>&1 ||
		{ cat "$dir/format.log" >&2; return 1; }
	# setsid: the broker survives the calling shell; stop kills it by pid.
	setsid java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
		-Dorg.slf4j.simpleLogger.defaultLogLevel=info -Dorg.slf4j.simpleLogger.showDateTime=true \
		-cp "$LIB/*" kafka.Kafka "$dir/server.properties" >"$dir/server.log" 2>&1 </dev/null &
	echo $! >"$dir/pid"
}

# ready waits until cluster i logged its start and its port accepts.
ready() {
	local i=$1 dir="$STATE/cluster-$1" deadline=$((SECONDS + START_TIMEOUT))
	local addr
	addr=$(cat "$dir/brokers")
	while ((SECONDS < deadline)); do
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			tail -30 "$dir/server.log" >&2
			die "cluster $i exited during start; log: $dir/server.log"
		fi
		if grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null &&
			(exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
			return 0
		fi
		sleep 0.5
	done
	tail -30 "$dir/server.log" >&2
	die "cluster $i did not start within ${START_TIMEOUT}s; log: $dir/server.log"
}

start() {
	local n=${1:-3}
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "start needs a cluster count (1 or more), got '$n'"
	if [[ -f "$STATE/pids" ]]; then
		alive && die "clusters already started in $STATE; run '$0 stop' first"
		log "clusters recorded in $STATE are gone; starting anew"
		rm -f "$STATE/pids" "$STATE/env"
	fi
	command -v java >/dev/null || die "java is not installed; install a JDK 17 to run Apache Kafka"
	resolve
	mkdir -p "$STATE"
	rm -rf "$STATE"/cluster-*
	certs
	: >"$STATE/pids"
	# Stop what was started if anything below fails.
	trap 'log "start failed; stopping"; stop' EXIT
	local ports
	read -r -a ports <<<"$(freeports $((5 * n)))"
	for ((i = 1; i <= n; i++)); do
		config "$i" "${ports[@]:$((5 * (i - 1))):5}"
		launch "$i"
		cat "$STATE/cluster-$i/pid" >>"$STATE/pids"
	done
	for ((i = 1; i <= n; i++)); do
		ready "$i"
		log "cluster $i up: $(cat "$STATE/cluster-$i/brokers") (SASL $(cat "$STATE/cluster-$i/sasl"), TLS $(cat "$STATE/cluster-$i/tls"), mTLS $(cat "$STATE/cluster-$i/mtls"))"
	done
	writeenv "$n"
	trap - EXIT
}

writeenv() {
	local n=$1 e="$STATE/env"
	{
		echo "export KDECK_TEST_KAFKA=real"
		echo "export KDECK_TEST_KAFKA_CLUSTERS=$n"
		echo "export KDECK_TEST_KAFKA_LIB='$LIB'"
		echo "export KDECK_TEST_KAFKA_VERSION=$KAFKA_VERSION"
		echo "export KDECK_TEST_KAFKA_SASL_USER=$SASL_USER"
		echo "export KDECK_TEST_KAFKA_SASL_PASSWORD=$SASL_PASSWORD"
		echo "export KDECK_TEST_KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
		echo "export KDECK_TEST_KAFKA_TLS_CA='$STATE/certs/ca.pem'"
		echo "export KDECK_TEST_KAFKA_TLS_CERT='$STATE/certs/client-cert.pem'"
		echo "export KDECK_TEST_KAFKA_TLS_KEY='$STATE/certs/client-key.pem'"
		for ((i = 1; i <= n; i++)); do
			local sfx=""
			((i > 1)) && sfx="_$i"
			echo "export KDECK_TEST_KAFKA_BROKERS$sfx=$(cat "$STATE/cluster-$i/brokers")"
			echo "export KDECK_TEST_KAFKA_SASL_ADDR$sfx=$(cat "$STATE/cluster-$i/sasl")"
			echo "export KDECK_TEST_KAFKA_TLS_ADDR$sfx=$(cat "$STATE/cluster-$i/tls")"
			echo "export KDECK_TEST_KAFKA_MTLS_ADDR$sfx=$(cat "$STATE/cluster-$i/mtls")"
		done
	} >"$e"
}

# alive reports whether every recorded cluster process still runs.
alive() {
	[[ -s "$STATE/pids" ]] || return 1
	local p
	for p in $(cat "$STATE/pids"); do
		kill -0 "$p" 2>/dev/null || return 1
	done
}

stop() {
	[[ -f "$STATE/pids" ]] || { log "no clusters recorded in $STATE"; return 0; }
	local pids
	pids=$(cat "$STATE/pids")
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	local deadline=$((SECONDS + 30))
	for p in $pids; do
		while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
		if kill -0 "$p" 2>/dev/null; then
			log "cluster pid $p did not stop in 30s; killing it"
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	rm -f "$STATE/pids" "$STATE/env"
	log "stopped"
}

case "${1:-}" in
resolve) resolve; echo "$LIB" ;;
start) start "${2:-3}" ;;
stop) stop ;;
env)
	[[ -f "$STATE/env" ]] && alive || die "no clusters running in $STATE; run '$0 start' first"
	cat "$STATE/env"
	;;
java)
	shift
	resolve
	kjava "$@"
	;;
*)
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
