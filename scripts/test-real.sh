#!/usr/bin/env bash
# The real-Kafka tier: the end-to-end suites against Apache Kafka 4.3.1.
# Resolves Kafka with Maven (cached in ~/.cache/kdeck and ~/.m2), starts
# three single-node KRaft clusters (testing/realkafka/kafka.sh), runs the
# packages below with KDECK_TEST_KAFKA=real and go test -p 1 (tests share
# the clusters), and stops the clusters whatever happened. When clusters are
# already running (kafka.sh start; eval "$(kafka.sh env)"), it reuses them
# and leaves them running. Extra arguments go to 'go test' (e.g. -run X).
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages with end-to-end tests; add a package here when its tests use
# testing/kafkatest and pass on Apache Kafka.
REAL_PACKAGES=(${KDECK_REAL_PACKAGES:-./ops/ ./cmd/kdeck/ ./testing/... ./connect/ ./mirror/ ./streams/ ./api/ ./ops/remote/})
KAFKA=testing/realkafka/kafka.sh

if [[ -z "${KDECK_TEST_KAFKA_BROKERS:-}" ]]; then
	if "$KAFKA" env >/dev/null 2>&1; then
		echo "== reusing the running real clusters"
	else
		trap '"$KAFKA" stop' EXIT
		echo "== starting Apache Kafka clusters"
		"$KAFKA" start "${KDECK_REAL_CLUSTERS:-3}"
	fi
	eval "$("$KAFKA" env)"
fi
export KDECK_TEST_KAFKA=real
# connect's TestDebeziumComparison runs Debezium beside postgres-cdc on these
# clusters (it resolves Debezium's jars with Maven on first use).
export KDECK_TEST_DEBEZIUM=${KDECK_TEST_DEBEZIUM:-1}
echo "== tests on Apache Kafka: ${REAL_PACKAGES[*]}"
go test -count=1 -p 1 -timeout 20m "$@" "${REAL_PACKAGES[@]}"
