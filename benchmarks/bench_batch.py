"""Batch runs (issue 16): throughput against 4 servers, orchestrator CPU per call, memory vs batch size.

One run measures, on this machine:
  - 1,000 AgentWrite items of 2,000 words (4 sections of 500), rule-based writer, through
    `run_many` with a SQLite checkpoint, against 4 loopback `FakeOpenAIServer`s (100 ms per
    call) behind one `EndpointPool` spec, 16 requests at a time each;
  - throughput as a ratio of the server-bound ideal measured in the same run: the calls made
    times 100 ms, over 4 x 16 slots (target: at least 0.9);
  - the orchestrator's CPU seconds (user + system, this process only: the servers run in a
    child process) per model call;
  - peak resident memory of a batch of 100 and of 1,000 items, each in a fresh process
    (target: flat, not growing with the batch).

  - the same with the items spread over N local processes (`run_many(processes=N)`), each
    with its own pool at 16 / N requests per server, so the servers' load is the same.

Run (options: --items 1000,100 --processes 1,2):
    flock /tmp/longweave-cpu.lock env PYTHONPATH=$PWD python benchmarks/bench_batch.py
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = "\n- Source: where the river starts\n- Towns: who lives on its banks\n" \
           "- Bridges: how people cross\n- Delta: where it meets the sea"  # fmt: skip


def one_batch(urls: list[str], items: int, latency: float, per_server: int, concurrency: int,
              processes: int = 1) -> dict:  # fmt: skip
    """Run one batch from this process (and `processes` - 1 forked helpers); what it measured.

    Each process has its own pool, so each sends a server at most ``per_server / processes``
    requests at once: the servers' load, and so the ideal, is the same for any `processes`.
    """
    from longweave import AgentWrite, load_llm
    from longweave.pipelines.batch import run_many

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    inputs = work / "in.jsonl"
    with inputs.open("w") as f:
        for k in range(items):
            instruction = f"Write a 2000-word guide to river {k}.{SECTIONS}"
            f.write(json.dumps({"id": f"b{k}", "instruction": instruction}) + "\n")
    llm = load_llm("openai:bench@" + ",".join(urls), max_concurrency=max(1, per_server // processes))
    cpu0 = _cpu()
    started = time.perf_counter()
    result = run_many(AgentWrite(llm), inputs, output=work / "out.jsonl", checkpoint=work / "cp.db",
                      concurrency=concurrency, processes=processes)  # fmt: skip
    wall = time.perf_counter() - started
    cpu = _cpu() - cpu0  # this process and its helpers (joined by then); the servers run elsewhere
    per_endpoint = llm.endpoint_usage()  # this process's share only, when processes > 1
    llm.close()
    calls = result.usage.calls
    ideal = calls * latency / (len(urls) * per_server)
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return {
        "items": items,
        "processes": processes,
        "done": result.done,
        "failed": result.failed,
        "words": result.words,
        "mean_S_l": result.mean_length_score,
        "calls": calls,
        "calls_per_endpoint": [e["calls"] for e in per_endpoint],  # of this process
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "throughput_ratio": round(ideal / wall, 3),
        "items_per_s": round(items / wall, 1),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_call": round(1000 * cpu / max(1, calls), 3),
        "peak_rss_mb": round(peak / 1024, 1),  # the largest one process reached
        "checkpoint_mb": round((work / "cp.db").stat().st_size / 1e6, 1),
        "output_mb": round((work / "out.jsonl").stat().st_size / 1e6, 1),
    }


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its waited-for children."""
    return sum(
        r.ru_utime + r.ru_stime
        for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", default="1000,100", help="batch sizes, each in a fresh process")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--per-server", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=80, help="items in flight (all processes)")
    parser.add_argument("--processes", default="1,2", help="process counts, each run for every batch size")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one batch, print JSON
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.child:
        urls = args.child.split(",")
        row = one_batch(
            urls, int(args.items), args.latency, args.per_server, args.concurrency, int(args.processes)
        )
        print(json.dumps(row))
        return
    server = subprocess.Popen(
        [sys.executable, "-m", "longweave.testing", "--count", str(args.servers),
         "--latency", str(args.latency), "--model", f"{ROOT}/examples/rule_models.py:rule_writer"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        urls = [server.stdout.readline().strip() for _ in range(args.servers)]
        rows = []
        runs = [(int(n), int(p)) for n in args.items.split(",") for p in args.processes.split(",")]
        for n, processes in runs:
            out = subprocess.run(
                [sys.executable, __file__, "--child", ",".join(urls), "--items", str(n),
                 "--latency", str(args.latency), "--per-server", str(args.per_server),
                 "--concurrency", str(args.concurrency), "--processes", str(processes)],
                capture_output=True, text=True, cwd=ROOT, check=True,
            )  # fmt: skip
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
