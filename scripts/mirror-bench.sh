#!/bin/sh
# Mirror benchmark: 2,000,000 records of 100 bytes over 8 partitions between
# two embedded clusters, mirrored by a kdeck flow, by a plain franz-go
# consume-then-produce loop and by `kcat -C | kcat -P`, interleaved over
# MIRROR_BENCH_ROUNDS rounds (default 5); medians, best rounds and the
# median of the per-round ratios are reported.
#
#   scripts/mirror-bench.sh                    # full run
#   MIRROR_BENCH_RECORDS=200000 scripts/mirror-bench.sh
set -eu
cd "$(dirname "$0")/.."
if ! command -v kcat >/dev/null 2>&1; then
	echo "installing kcat (apt-get)" >&2
	if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq && $SUDO apt-get install -y -qq kcat
fi
exec go test ./mirror -run '^$' -bench '^BenchmarkMirror$' -benchtime=1x -timeout 30m -v "$@"
