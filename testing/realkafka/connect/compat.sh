#!/usr/bin/env bash
# compat.sh: the worker API's compatibility tier. Resolves Apache Kafka and
# Kafka Connect (pom.xml beside this file; default 4.3.1: connect-file is not served at 4.4.0; KDECK_CONNECT_VERSION
# to change), starts one KRaft broker (../kafka.sh) and a standalone Connect
# worker with the FileStreamSource connector on the classpath, runs
# TestConnectCompatReal (package api) against both, and stops everything
# whatever happened. Extra arguments go to 'go test'.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VERSION="${KDECK_CONNECT_VERSION:-4.3.1}"
LIB="${KDECK_CONNECT_LIB:-$HOME/.cache/kdeck/connect-$VERSION/lib}"
STATE="$(mktemp -d /tmp/kdeck-connect-compat.XXXXXX)"

log() { echo "compat.sh: $*" >&2; }

if [[ ! -f "$LIB/.complete" ]]; then
	log "resolving Apache Kafka Connect $VERSION into $LIB"
	mkdir -p "$LIB"
	mvn -B -q -f "$HERE/pom.xml" dependency:copy-dependencies -Dkafka.version="$VERSION" \
		-DincludeScope=runtime -DoutputDirectory="$LIB" >"$LIB.mvn.log" 2>&1 || {
		cat "$LIB.mvn.log" >&2
		exit 1
	}
	touch "$LIB/.complete"
fi

export KDECK_KAFKA_LIB="$LIB" KDECK_KAFKA_VERSION="$VERSION" KDECK_REALKAFKA_DIR="$STATE/kafka"
connect_pid=""
cleanup() {
	local rc=$?
	if [[ -n "$connect_pid" ]]; then
		kill "$connect_pid" 2>/dev/null || true
		wait "$connect_pid" 2>/dev/null || true
	fi
	if ((rc != 0)) && [[ -f "$STATE/connect.log" ]]; then
		log "Kafka Connect's log ends with:"
		tail -40 "$STATE/connect.log" >&2
	fi
	"$HERE/../kafka.sh" stop || true
	rm -rf "$STATE"
	exit "$rc"
}
trap cleanup EXIT
"$HERE/../kafka.sh" start 1
eval "$("$HERE/../kafka.sh" env)"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$STATE/worker.properties" <<PROPS
bootstrap.servers=$KDECK_TEST_KAFKA_BROKERS
listeners=http://127.0.0.1:$port
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=$STATE/connect.offsets
offset.flush.interval.ms=1000
plugin.discovery=only_scan
PROPS
log "starting Apache Kafka Connect $VERSION (standalone) on 127.0.0.1:$port"
java -cp "$LIB/*" -Dorg.slf4j.simpleLogger.defaultLogLevel="${KDECK_KAFKA_LOG_LEVEL:-warn}" \
	org.apache.kafka.connect.cli.ConnectStandalone "$STATE/worker.properties" >"$STATE/connect.log" 2>&1 &
connect_pid=$!
for _ in $(seq 1 120); do
	if curl -sf "http://127.0.0.1:$port/" >/dev/null; then
		break
	fi
	if ! kill -0 "$connect_pid" 2>/dev/null; then
		cat "$STATE/connect.log" >&2
		log "Kafka Connect exited"
		exit 1
	fi
	sleep 1
done
curl -sf "http://127.0.0.1:$port/" >&2 || { cat "$STATE/connect.log" >&2; log "Kafka Connect did not answer within 120s"; exit 1; }
echo >&2
cd "$ROOT"
KDECK_TEST_CONNECT_URL="http://127.0.0.1:$port" go test -count=1 -run TestConnectCompatReal -v "$@" ./api/
