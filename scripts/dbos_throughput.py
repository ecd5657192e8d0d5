"""DBOS Transact's side of `scripts/throughput.sh`: durable runs of ten no-op steps per second.

The same workload as `benches/throughput.rs`: RUNS runs of a workflow of ten steps that each
add one to a number (every step's result checkpointed by DBOS), all enqueued on one queue
before any worker starts, then worked off by WORKERS worker processes (one DBOS executor
each, `executor_id` w0, w1, ...), each running at most CONCURRENCY of them at a time (the
queue's `worker_concurrency`), polling the queue every POLL seconds.

The runs per second are RUNS divided by the time from the first run's start to the last
one's end, both as DBOS records them (`started_at_epoch_ms`, `updated_at` of
`dbos.workflow_status`): the workers' start-up (interpreter, imports, `DBOS.launch`) is not
counted.

Usage: python dbos_throughput.py WORKERS [RUNS]. Needs `WORKFLOW_POSTGRES_URL` (a database
on the server; the script creates a database of its own next to it, and drops it after).
Prints one line: `dbos workers=W concurrency=C runs=R seconds=S runs_per_s=X`.
"""

import os
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
from dbos import DBOS, DBOSConfig

QUEUE = "bench"
CONCURRENCY = int(os.environ.get("CONCURRENCY", "16"))
POLL = float(os.environ.get("POLL", "0.01"))


@DBOS.step()
def step(x: int) -> int:
    return x + 1


@DBOS.workflow()
def ten(x: int) -> int:
    for _ in range(10):
        x = step(x)
    return x


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def config(url: str, executor: str) -> DBOSConfig:
    return {
        "name": "workflow-bench",
        "system_database_url": url,
        "executor_id": executor,
        "log_level": "WARNING",
        "application_version": "bench",
    }


def worker(url: str, executor: str) -> None:
    DBOS(config=config(url, executor))
    DBOS.listen_queues([QUEUE])
    DBOS.launch()
    # Works until the parent terminates it.
    while True:
        time.sleep(3600)


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
        return
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    base = os.environ.get("WORKFLOW_POSTGRES_URL")
    if not base:
        sys.exit("WORKFLOW_POSTGRES_URL is not set: point it at a Postgres database")
    name = f"dbos_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = with_database(base, name)
    try:
        # Create the schema and the queue, and enqueue every run, in a DBOS that listens
        # to no queue of ours; then hand over to the workers.
        DBOS(config=config(url, "enqueuer"))
        DBOS.listen_queues([])
        DBOS.launch()
        queue = DBOS.register_queue(
            QUEUE, worker_concurrency=CONCURRENCY, polling_interval_sec=POLL
        )
        for i in range(runs):
            queue.enqueue(ten, i)
        DBOS.destroy()
        procs = [
            subprocess.Popen([sys.executable, __file__, "--worker", url, f"w{i}"])
            for i in range(workers)
        ]
        try:
            seconds = wait(url, runs)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait()
        print(
            f"dbos workers={workers} concurrency={CONCURRENCY} runs={runs} "
            f"seconds={seconds:.3f} runs_per_s={runs / seconds:.1f}",
            flush=True,
        )
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def wait(url: str, runs: int) -> float:
    """Waits until all runs succeeded; the seconds from the first start to the last end."""
    with psycopg.connect(url, autocommit=True) as db:
        deadline = time.monotonic() + 600
        while True:
            done, started, ended, failed = db.execute(
                "SELECT count(*) FILTER (WHERE status = 'SUCCESS'), "
                "min(started_at_epoch_ms), max(updated_at) FILTER (WHERE status = 'SUCCESS'), "
                "count(*) FILTER (WHERE status IN ('ERROR', 'CANCELLED', "
                "'MAX_RECOVERY_ATTEMPTS_EXCEEDED')) "
                "FROM dbos.workflow_status WHERE queue_name = %s",
                (QUEUE,),
            ).fetchone()
            if failed:
                sys.exit(f"{failed} DBOS runs failed")
            if done == runs:
                return (ended - started) / 1000
            if time.monotonic() > deadline:
                sys.exit(f"only {done} of {runs} DBOS runs finished in 10 minutes")
            time.sleep(0.05)


if __name__ == "__main__":
    main()
