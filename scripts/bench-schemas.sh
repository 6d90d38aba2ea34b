#!/usr/bin/env bash
# Decode throughput of `kdeck tail --decode auto -o json` on Avro records in
# the Schema Registry wire format, against the same records read raw
# (--decode none) and against Confluent's Python client (confluent-kafka's
# AvroDeserializer, json.dumps per value), all from one `kdeck dev` embedded
# cluster and registry in the same run.
#
# KDECK_BENCH_RECORDS overrides the record count (default 1000000);
# KDECK_BENCH_PYTHON=0 leaves the (slow) Python run out. Installs the Python
# clients with scripts/pyclients.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${KDECK_BENCH_RECORDS:-1000000}
work=$(mktemp -d)
go build -o "$work/kdeck" ./cmd/kdeck
./scripts/pyclients.sh >/dev/null
py=.cache/pyclients/bin/python
"$work/kdeck" dev --ephemeral --no-demo --port 0 --registry-port 0 >"$work/dev.out" 2>&1 &
dev=$!
trap 'kill $dev 2>/dev/null; wait $dev 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q 'schema registry on' "$work/dev.out" && break; sleep 0.1; done
b=$(grep -o '127.0.0.1:[0-9]*' "$work/dev.out" | head -1)
r=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/dev.out")
k=("$work/kdeck" -b "$b" --registry "$r")
cat >"$work/payment.avsc" <<'AVSC'
{"type":"record","name":"Payment","namespace":"bench","fields":[
 {"name":"id","type":"long"},
 {"name":"customer","type":"string"},
 {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
 {"name":"currency","type":{"type":"enum","name":"Currency","symbols":["EUR","USD","GBP"]}},
 {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"card","type":["null","string"],"default":null}]}
AVSC
awk -v n="$n" 'BEGIN { c[0]="EUR"; c[1]="USD"; c[2]="GBP"; for (i = 0; i < n; i++) printf "{\"id\":%d,\"customer\":\"customer-%02d\",\"amount\":\"%d.%02d\",\"currency\":\"%s\",\"at\":%d,\"card\":%s}\n", i, i%20, i%500, i%100, c[i%3], 1795687200000+i, (i%3 ? "\"**** 1234\"" : "null") }' >"$work/in.jsonl"
"${k[@]}" topics create bench.payments --partitions 3 >/dev/null 2>&1 || true
"${k[@]}" produce bench.payments --value-schema-file "$work/payment.avsc" --subject bench.payments-value <"$work/in.jsonl"
echo "machine: $(nproc) cores, $(uname -sr); records: $n (Avro, ~60-byte payloads)"
run() { # label, command...
	local label=$1; shift
	local s e
	s=$(date +%s.%N)
	"$@" >"$work/out" 
	e=$(date +%s.%N)
	local lines; lines=$(wc -l <"$work/out")
	awk -v l="$label" -v s="$s" -v e="$e" -v n="$lines" 'BEGIN { printf "%-40s %8d records %7.2f s %10.0f records/s\n", l, n, e-s, n/(e-s) }'
}
# Alternate raw and decoded reads, KDECK_BENCH_ROUNDS times (default 3), so
# both see the same machine load; compare the rounds, or the best of each.
for round in $(seq "${KDECK_BENCH_ROUNDS:-3}"); do
	run "[$round] kdeck tail -o json --decode none" "${k[@]}" tail bench.payments -o json --decode none
	run "[$round] kdeck tail -o json --decode auto" "${k[@]}" tail bench.payments -o json --decode auto
done
[ "${KDECK_BENCH_PYTHON:-1}" = 0 ] && exit 0
run "python AvroDeserializer + json" "$py" testing/pyclients/avro_consume.py "$b" "$r" bench.payments "$n"
