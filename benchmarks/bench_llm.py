"""Foundation benchmarks (issue: model interface, tokens, chunking).

Measures, in one run on this machine:
  1. tokens/s of the embedded model through llama.cpp and through transformers;
  2. base-class overhead per `complete` call with a zero-latency model (median of 10k calls);
  3. `generate_many`: 64 calls at concurrency 16 against a loopback server with 100 ms latency
     (ideal: 4 waves x 0.1 s = 0.4 s);
  4. `chunk` over about 1M tokens vs one raw tiktoken encode of the same text.

Run: python benchmarks/bench_llm.py [--skip-models] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from longweave import chunk, get_tokenizer, load_llm
from longweave.llm import LLM, Completion
from longweave.testing import FakeOpenAIServer

PROMPT = [
    {"role": "system", "content": "You are a careful writer."},
    {"role": "user", "content": "Write a long, detailed paragraph about the history of rivers and cities."},
]


def model_throughput(llm: LLM, runs: int = 3, max_tokens: int = 256) -> dict:
    llm.complete_sync(PROMPT, max_tokens=8, temperature=0)  # warm-up
    tokens = seconds = 0.0
    for i in range(runs):
        started = time.perf_counter()
        out = llm.complete_sync(PROMPT, max_tokens=max_tokens, temperature=0.8, seed=i)
        seconds += time.perf_counter() - started
        tokens += out.completion_tokens
    return {"tokens": int(tokens), "seconds": seconds, "tokens_per_s": tokens / seconds}


class ZeroLatency(LLM):
    async def generate(self, messages, **params):
        return Completion("ok", 10, 1)


def base_overhead(calls: int = 10_000) -> dict:
    llm = ZeroLatency()

    async def run() -> list[float]:
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            await llm.complete(PROMPT, role="bench", max_tokens=1)
            times.append(time.perf_counter() - started)
        return times

    times = asyncio.run(run())
    return {
        "calls": calls,
        "median_ms": statistics.median(times) * 1e3,
        "p99_ms": sorted(times)[int(calls * 0.99)] * 1e3,
    }


def concurrency(calls: int = 64, concurrency: int = 16, latency: float = 0.1) -> dict:
    with FakeOpenAIServer(latency=latency) as server:
        llm = load_llm(f"openai:bench@{server.url}", max_concurrency=concurrency)
        llm.complete_sync("warm-up")
        started = time.perf_counter()
        llm.generate_many_sync([f"q{i}" for i in range(calls)])
        seconds = time.perf_counter() - started
    ideal = latency * calls / concurrency
    return {"seconds": seconds, "ideal": ideal, "ratio": seconds / ideal}


def chunking(target_tokens: int = 1_000_000, max_tokens: int = 2000) -> dict:
    rng = random.Random(0)
    words = (
        "the of and to in is was for on that with as by at from his her which river mountain valley "
        "city people history water trade ancient modern bridge harbour north south"
    ).split()
    paras, approx = [], 0
    while approx < target_tokens:
        sentences = [
            " ".join(rng.choice(words) for _ in range(rng.randint(5, 25))).capitalize() + "."
            for _ in range(rng.randint(2, 8))
        ]
        para = " ".join(sentences)
        paras.append(para)
        approx += len(para.split()) + len(sentences)
    text = "\n\n".join(paras)
    tok = get_tokenizer()
    raw, ours = [], []
    for _ in range(3):  # interleaved, best of three each, so both see the same machine state
        started = time.perf_counter()
        n = len(tok.encode(text))
        raw.append(time.perf_counter() - started)
        started = time.perf_counter()
        parts = chunk(text, max_tokens)
        ours.append(time.perf_counter() - started)
    assert "".join(parts) == text
    return {
        "tokens": n,
        "chunks": len(parts),
        "raw_s": min(raw),
        "chunk_s": min(ours),
        "ratio": min(ours) / min(raw),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-models", action="store_true", help="skip the embedded-model throughput runs")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console()
    results: dict = {"cpus": os.cpu_count()}

    results["overhead"] = base_overhead()
    results["generate_many"] = concurrency()
    results["chunk"] = chunking()
    if not args.skip_models:
        llm = load_llm("local")
        results["llama_cpp"] = model_throughput(llm)
        llm.close()
        from longweave.llm.local import export_hf_folder

        cache = Path(os.environ.get("LONGWEAVE_CACHE", Path.home() / ".cache" / "longweave"))
        folder = export_hf_folder(cache / "gemma-3-270m-hf")
        started = time.perf_counter()
        hf = load_llm(f"hf:{folder}", context_window=4096)
        results["hf_load_s"] = time.perf_counter() - started
        results["transformers"] = model_throughput(hf)

    table = Table("measure", "result", "target", title="bench_llm")
    o, g, c = results["overhead"], results["generate_many"], results["chunk"]
    table.add_row(
        "base-class overhead per call", f"{o['median_ms']:.3f} ms median (p99 {o['p99_ms']:.3f})", "< 0.2 ms"
    )
    table.add_row(
        "generate_many 64 @ 16, 100 ms latency",
        f"{g['seconds']:.3f} s = {g['ratio']:.2f}x ideal 0.4 s",
        "<= 1.3x",
    )
    table.add_row(
        f"chunk {c['tokens']:,} tokens (2k chunks)",
        f"{c['chunk_s']:.2f} s vs encode {c['raw_s']:.2f} s = {c['ratio']:.2f}x",
        "<= 2x",
    )
    for key in ("llama_cpp", "transformers"):
        if key in results:
            r = results[key]
            table.add_row(
                f"embedded model via {key}", f"{r['tokens_per_s']:.1f} tokens/s ({r['tokens']} tokens)", "-"
            )
    if "hf_load_s" in results:
        table.add_row("transformers load (exported folder)", f"{results['hf_load_s']:.1f} s", "-")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
