#!/usr/bin/env bash
# Debezium's PostgreSQL connector on Apache Kafka Connect, for the comparison
# with kdeck's postgres-cdc (connect/debezium_compare_test.go).
#   run.sh resolve                      resolve the jars into lib/ (Maven Central, once)
#   run.sh standalone WORKER CONNECTOR  run Connect standalone with Debezium
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
case "${1:-}" in
  resolve)
    if [ ! -f "$here/lib/debezium-connector-postgres-3.6.1.Final.jar" ]; then
      (cd "$here" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib)
    fi
    ;;
  standalone)
    exec java -Xmx512m -cp "$here/lib/*" org.apache.kafka.connect.cli.ConnectStandalone "$2" "$3"
    ;;
  *)
    echo "usage: $0 resolve | standalone WORKER.properties CONNECTOR.properties" >&2
    exit 2
    ;;
esac
