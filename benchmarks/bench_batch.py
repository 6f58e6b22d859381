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

Run: flock /tmp/longweave-cpu.lock env PYTHONPATH=$PWD python benchmarks/bench_batch.py [--items 1000,100]
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


def one_batch(urls: list[str], items: int, latency: float, per_server: int, concurrency: int) -> dict:
    """Run one batch in this process; what it measured."""
    from longweave import AgentWrite, load_llm
    from longweave.pipelines.batch import run_many

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    inputs = work / "in.jsonl"
    with inputs.open("w") as f:
        for k in range(items):
            instruction = f"Write a 2000-word guide to river {k}.{SECTIONS}"
            f.write(json.dumps({"id": f"b{k}", "instruction": instruction}) + "\n")
    llm = load_llm("openai:bench@" + ",".join(urls), max_concurrency=per_server)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = run_many(AgentWrite(llm), inputs, output=work / "out.jsonl", checkpoint=work / "cp.db",
                      concurrency=concurrency)  # fmt: skip
    wall = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    per_endpoint = llm.endpoint_usage()
    llm.close()
    calls = sum(e["calls"] for e in per_endpoint)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    ideal = calls * latency / (len(urls) * per_server)
    return {
        "items": items,
        "done": result.done,
        "failed": result.failed,
        "words": result.words,
        "mean_S_l": result.mean_length_score,
        "calls": calls,
        "calls_per_endpoint": [e["calls"] for e in per_endpoint],
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "throughput_ratio": round(ideal / wall, 3),
        "items_per_s": round(items / wall, 1),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_call": round(1000 * cpu / max(1, calls), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "checkpoint_mb": round((work / "cp.db").stat().st_size / 1e6, 1),
        "output_mb": round((work / "out.jsonl").stat().st_size / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", default="1000,100", help="batch sizes, each in a fresh process")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--per-server", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=80, help="items in flight")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one batch, print JSON
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.child:
        urls = args.child.split(",")
        print(json.dumps(one_batch(urls, int(args.items), args.latency, args.per_server, args.concurrency)))
        return
    server = subprocess.Popen(
        [sys.executable, "-m", "longweave.testing", "--count", str(args.servers),
         "--latency", str(args.latency), "--model", f"{ROOT}/examples/rule_models.py:rule_writer"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        urls = [server.stdout.readline().strip() for _ in range(args.servers)]
        rows = []
        for n in [int(x) for x in args.items.split(",")]:
            out = subprocess.run(
                [sys.executable, __file__, "--child", ",".join(urls), "--items", str(n),
                 "--latency", str(args.latency), "--per-server", str(args.per_server),
                 "--concurrency", str(args.concurrency)],
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
