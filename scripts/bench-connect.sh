#!/usr/bin/env bash
# Connector benchmarks: datagen into an embedded cluster (100-byte values),
# and file-source against `kcat -P -l` on the same 1,000,000-line file and
# the same embedded cluster in the same run, reported as a ratio
# (kdeck records/s divided by kcat records/s; above 1 means kdeck is faster).
#
# Installs kcat with apt-get when it is missing (needs root or sudo).
# KDECK_BENCH_RECORDS overrides the record count (default 1000000);
# extra arguments go to 'go test' (for example -benchtime=3x).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v kcat >/dev/null 2>&1; then
	echo "kcat not found; installing it with apt-get" >&2
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq kcat
fi
echo "kcat: $(kcat -V 2>&1 | head -1)"
echo "records: ${KDECK_BENCH_RECORDS:-1000000}"
go test ./connect -run '^$' -bench 'BenchmarkDatagen|BenchmarkFileSourceVsKcat' -benchtime=1x "$@"
