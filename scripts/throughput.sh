#!/usr/bin/env bash
# Throughput of durable 10-step runs on Postgres with 1, 2 and 4 workers: this crate's
# `Worker`s, the floor (the same claims and checkpoint commits in raw SQL), and DBOS Transact
# for Python, on the same server, in one invocation. Prints a table (markdown) at the end.
#
#   WORKFLOW_POSTGRES_URL=postgresql://... scripts/throughput.sh
#
# Settings (env): THROUGHPUT_RUNS (5000 runs per measurement of the Rust sides),
# THROUGHPUT_DBOS_RUNS (1000 runs per measurement of DBOS, about 50 times slower here),
# THROUGHPUT_WORKERS ("1,2,4"), THROUGHPUT_CONCURRENCY (16, a Worker's default: runs each worker drives at once),
# THROUGHPUT_THREADS (the Rust side's runtime threads; as many as the machine has cores),
# THROUGHPUT_SIDES (all of `floor,floor_shared,workflow,workflow_nolog`, or the Rust sides named),
# THROUGHPUT_DBOS (1; 0 skips DBOS), THROUGHPUT_VENV (target/dbos-venv: the virtualenv DBOS is installed in, with pip,
# on first use). The Rust side is `benches/throughput.rs`, the DBOS side
# `scripts/dbos_throughput.py`; each says how it measures. Opt-in: CI does not run it.
set -euo pipefail

cd "$(dirname "$0")/.."
: "${WORKFLOW_POSTGRES_URL:?set WORKFLOW_POSTGRES_URL to a Postgres database to benchmark on}"
export THROUGHPUT_RUNS="${THROUGHPUT_RUNS:-5000}"
dbos_runs="${THROUGHPUT_DBOS_RUNS:-1000}"
export THROUGHPUT_WORKERS="${THROUGHPUT_WORKERS:-1,2,4}"
export THROUGHPUT_CONCURRENCY="${THROUGHPUT_CONCURRENCY:-16}"
dbos="${THROUGHPUT_DBOS:-1}"
venv="${THROUGHPUT_VENV:-target/dbos-venv}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

if [ "$dbos" = 1 ] && [ ! -x "$venv/bin/python" ]; then
    echo "installing dbos into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet dbos >&2
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo bench --bench throughput --features postgres 2>&1 | tee -a "$out" >&2
if [ "$dbos" = 1 ]; then
    echo "dbos $("$venv/bin/pip" show dbos | sed -n 's/^Version: //p')" >&2
    for workers in ${THROUGHPUT_WORKERS//,/ }; do
        CONCURRENCY="$THROUGHPUT_CONCURRENCY" \
            "$venv/bin/python" scripts/dbos_throughput.py "$workers" "$dbos_runs" \
            | tee -a "$out" >&2
    done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# One row per worker count: runs per second of each side, and the ratios.
awk '
    / workers=[0-9]+ .*runs_per_s=/ {
        split($2, w, "="); split($NF, r, "=")
        rate[$1, w[2]] = r[2]; if (!(w[2] in seen)) { seen[w[2]] = 1; order[++n] = w[2] }
    }
    function show(x) { return x == "" ? "-" : x }
    function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
    END {
        print "| workers | floor (runs/s) | workflow | ÷ floor | workflow, no event log | ÷ floor | DBOS | workflow ÷ DBOS | floor, a connection a worker | workflow ÷ it |"
        print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= n; i++) {
            k = order[i]; f = rate["floor", k]; o = rate["workflow", k]
            q = rate["workflow_nolog", k]; d = rate["dbos", k]; s = rate["floor_shared", k]
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k, show(f), show(o), ratio(o, f), show(q), ratio(q, f), show(d), ratio(o, d), show(s), ratio(o, s)
        }
    }' "$out"
