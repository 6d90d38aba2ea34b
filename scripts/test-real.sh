#!/usr/bin/env bash
# The real-Kafka tier: the end-to-end suites against two Apache Kafka
# versions, one after the other: 4.4.0 (the newest Maven serves) and 3.9.2
# (the last 3.x line). For each version it resolves Kafka with Maven (cached
# in ~/.cache/kdeck and ~/.m2), starts three single-node KRaft clusters
# (testing/realkafka/kafka.sh), runs the packages below with
# KDECK_TEST_KAFKA=real and go test -p 1 (tests share the clusters), stops
# the clusters whatever happened, and prints how long the version took. It
# fails when any version failed. On 3.x the tests that need KIP-848 groups
# skip with the reason (kafkatest.RequireKIP848): 3.x brokers serve only
# classic groups.
#
#   KDECK_REAL_VERSIONS="4.4.0"   run one version only
#
# When clusters are already running (kafka.sh start; eval "$(kafka.sh env)"),
# it runs once on them and leaves them running. Extra arguments go to
# 'go test' (e.g. -run X).
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages with end-to-end tests; add a package here when its tests use
# testing/kafkatest and pass on Apache Kafka.
REAL_PACKAGES=(${KDECK_REAL_PACKAGES:-./ops/ ./ops/workergroup/ ./cmd/kdeck/ ./testing/... ./connect/ ./mirror/ ./streams/ ./api/ ./ops/remote/})
VERSIONS=(${KDECK_REAL_VERSIONS:-4.4.0 3.9.2})
KAFKA=testing/realkafka/kafka.sh
# connect's TestDebeziumComparison runs Debezium beside postgres-cdc on these
# clusters (it resolves Debezium's jars with Maven on first use).
export KDECK_TEST_DEBEZIUM=${KDECK_TEST_DEBEZIUM:-1}

runtests() {
	export KDECK_TEST_KAFKA=real
	echo "== tests on Apache Kafka ${KDECK_TEST_KAFKA_VERSION:-}: ${REAL_PACKAGES[*]}"
	go test -count=1 -p 1 -timeout 20m "$@" "${REAL_PACKAGES[@]}"
}

if [[ -n "${KDECK_TEST_KAFKA_BROKERS:-}" ]]; then
	runtests "$@"
	exit
fi
if "$KAFKA" env >/dev/null 2>&1; then
	echo "== reusing the running real clusters"
	eval "$("$KAFKA" env)"
	runtests "$@"
	exit
fi

failed=()
summary=()
for v in "${VERSIONS[@]}"; do
	start=$SECONDS
	echo "== starting Apache Kafka $v clusters"
	# A subshell per version: its clusters stop when it ends, whatever
	# happened, and its environment does not leak into the next version.
	if (
		export KDECK_KAFKA_VERSION=$v
		unset KDECK_KAFKA_LIB
		trap '"$KAFKA" stop' EXIT
		"$KAFKA" start "${KDECK_REAL_CLUSTERS:-3}"
		eval "$("$KAFKA" env)"
		runtests "$@"
	); then
		summary+=("Apache Kafka $v: ok in $((SECONDS - start))s")
	else
		summary+=("Apache Kafka $v: FAILED after $((SECONDS - start))s")
		failed+=("$v")
	fi
done
echo "== real tier:"
printf '   %s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
	echo "== failed on Apache Kafka ${failed[*]}" >&2
	exit 1
fi
