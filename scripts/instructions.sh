#!/usr/bin/env bash
# Instructions one iteration of a divan benchmark takes, counted by callgrind: the benchmark
# run twice, with 10 samples of 100 iterations and of 1,000, and the difference divided by
# 9,000, so that what the harness does once (start-up, calibration, printing) cancels out.
# Steady to a few instructions in ten thousand, unlike the times on a shared machine:
# BENCHMARKS.md gives "instructions per run" this way.
#
#   scripts/instructions.sh BENCH FILTER [CARGO ARGS...]
#   scripts/instructions.sh compose plain::nested
#   scripts/instructions.sh durable 'memory::durable_run_unlogged'
#   scripts/instructions.sh overhead noop_waker::self_loop_workflow
#
# BENCH is a file of benches/ without `.rs`; FILTER a divan filter naming one benchmark (a
# regex: end it with `$` when its name is the start of another's). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
bench="${1:?usage: scripts/instructions.sh BENCH FILTER [CARGO ARGS...]}"
filter="${2:?usage: scripts/instructions.sh BENCH FILTER [CARGO ARGS...]}"
shift 2
binary="$(cargo bench --no-run --bench "$bench" "$@" 2>&1 |
    sed -n 's/.*Executable .* (\(.*\))$/\1/p' | tail -n 1)"
[ -x "$binary" ] || { echo "no benchmark binary for $bench" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
count() {
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$1" "$binary" \
        --bench "$filter" --sample-count 10 --sample-size "$1" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
small="$(count 100)"
large="$(count 1000)"
echo "$(((large - small) / 9000)) instructions per iteration of $bench $filter"
