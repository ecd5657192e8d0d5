#!/usr/bin/env python3
"""Where a client's round trips to a database go, from a trace of its system calls.

Reads `perf script -F tid,time,event,trace` output of `raw_syscalls:sys_enter` and
`raw_syscalls:sys_exit` (standard input), takes the socket that sent the most (`sendto`),
and, over the second half of the trace (the measured part of a benchmark that sets up
first), prints:

- for each size of request, how long the answer took: from the `sendto` to the end of the
  first `recvfrom` that returned data (the server's work, the network and the wake-ups);
- how long the client took from an answer to its next request.

    perf record -e raw_syscalls:sys_enter -e raw_syscalls:sys_exit -o trace.data -- BENCH
    perf script -i trace.data -F tid,time,event,trace | scripts/round_trips.py

BENCHMARKS.md ("Workers on Postgres") uses it on `benches/throughput.rs`.
"""

import collections
import re
import statistics
import sys

SENDTO, RECVFROM = 44, 45  # x86-64 system call numbers
LINE = re.compile(r"\s*(\d+)\s+([\d.]+):\s+raw_syscalls:sys_(enter|exit):\s+NR (\d+) (.*)")


def calls(lines):
    """(start, end, number, fd, length asked, result) of each sendto and recvfrom."""
    entered = {}
    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        tid, time, kind, number, rest = match.groups()
        time, number = float(time), int(number)
        if number not in (SENDTO, RECVFROM):
            continue
        if kind == "enter":
            args = rest.strip("()").split(",")
            entered[tid] = (time, number, int(args[0], 16), int(args[2], 16))
        elif tid in entered:
            start, number, fd, length = entered.pop(tid)
            result = int(rest.split("=")[1]) if "=" in rest else 0
            yield start, time, number, fd, length, result


def main():
    trace = sorted(calls(sys.stdin))
    if not trace:
        sys.exit("no sendto or recvfrom in the trace: record raw_syscalls:sys_enter and sys_exit")
    sends = collections.Counter(call[3] for call in trace if call[2] == SENDTO)
    socket = sends.most_common(1)[0][0]
    ours = [call for call in trace if call[3] == socket]
    ours = ours[len(ours) // 2 :]
    answers, answered_bytes, client = collections.defaultdict(list), {}, []
    asked = answered = None
    for start, end, number, _, length, result in ours:
        if number == SENDTO:
            if answered is not None:
                client.append(start - answered)
            asked, answered = (start, length), None
        elif result > 0 and asked is not None:
            size = asked[1] // 64 * 64
            answers[size].append(end - asked[0])
            answered_bytes.setdefault(size, []).append(result)
            asked, answered = None, end
    print(f"socket {socket}: {sum(map(len, answers.values()))} round trips")
    for size in sorted(answers):
        times = answers[size]
        if len(times) < 20:
            continue
        print(
            f"  request {size:5}-{size + 63:5} B: {len(times):6} answers, "
            f"mean {1e6 * statistics.mean(times):6.1f} us, "
            f"median {1e6 * statistics.median(times):6.1f} us, "
            f"answer {statistics.median(answered_bytes[size]):.0f} B"
        )
    if client:
        print(
            f"  answer to next request: mean {1e6 * statistics.mean(client):.1f} us, "
            f"median {1e6 * statistics.median(client):.1f} us"
        )


if __name__ == "__main__":
    main()
