#!/usr/bin/env bash
# Installs the third-party Python clients the interop tests use
# (cmd/kdeck TestPythonConfluentClient): Confluent's confluent-kafka with its
# schemaregistry, avro and protobuf extras, in a venv under .cache/pyclients
# (git-ignored). When the venv already imports them, nothing is fetched, so
# this works offline once cached.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/pyclients
pin='confluent-kafka[avro,protobuf,schemaregistry]==2.16.1'
check='import confluent_kafka, fastavro, google.protobuf; from confluent_kafka.schema_registry.avro import AvroSerializer; assert confluent_kafka.__version__ == "2.16.1"'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
  echo "python clients: cached in $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "$pin"
"$venv/bin/python" -c "$check"
echo "python clients: installed in $venv"
