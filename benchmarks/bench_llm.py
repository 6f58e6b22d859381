"""Foundation benchmarks (issue: model interface, tokens, chunking).

Measures, in one run on this machine:
  1. each installed embedded model through llama.cpp: decode and prompt tokens/s (llama.cpp's
     own counters) with the extra-buffer setting chosen for this CPU and, where it is safe to
     try, the other one; and a small role check (answer from a passage, plan a piece, call a
     tool) that, with the speeds, picks the default; plus the Gemma weights through transformers;
  2. base-class overhead per `complete` call with a zero-latency model (median of 10k calls);
  3. `generate_many`: 64 calls at concurrency 16 against a loopback server with 100 ms latency
     (ideal: 4 waves x 0.1 s = 0.4 s);
  4. `chunk` over about 1M tokens vs one raw tiktoken encode of the same text.

Run: python benchmarks/bench_llm.py [--skip-models] [--models 0.5b,1.5b,gemma-270m] [--json out.json]
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


LONG_PROMPT = " ".join(
    "The river carried timber, grain and salt past the towns that grew along its banks." for _ in range(60)
)


def llama_speeds(llm, runs: int = 3, max_tokens: int = 192) -> dict:
    """Decode and prompt tokens/s from llama.cpp's own counters (no Python or sampling time).

    Each run's prompt starts with a different number so the prefix cache cannot skip it.
    """
    llm.complete_sync(PROMPT, max_tokens=8, temperature=0)  # warm-up
    before = llm.timings()
    for i in range(runs):
        llm.complete_sync(f"{i + 1}. {LONG_PROMPT}\n\nSummarise the text above.", max_tokens=1, temperature=0)
        llm.complete_sync(PROMPT, max_tokens=max_tokens, temperature=0.8, seed=i)
    after = llm.timings()
    d = {k: after[k] - before[k] for k in after}
    return {
        "decode_tokens_per_s": round(d["decode_tokens"] / (d["decode_ms"] / 1000), 1),
        "prompt_tokens_per_s": round(d["prompt_tokens"] / (d["prompt_ms"] / 1000), 1),
        "decode_tokens": d["decode_tokens"],
        "prompt_tokens": d["prompt_tokens"],
    }


# A small check of the roles the pipelines give a model. The reading passages are our own text.
QA = [
    ("The Varn bridge was finished in 1871 by the engineer Ada Kessel; it has nine arches.",
     "Who finished the Varn bridge?", "Ada Kessel"),
    ("Moss Harbour ships mostly tin. Its lighthouse, the Grey Finger, was lit in 1902.",
     "What is the lighthouse of Moss Harbour called?", "Grey Finger"),
    ("The treaty of Lerna was signed by four cities in 1530; Calda refused to sign it.",
     "Which city refused to sign the treaty of Lerna?", "Calda"),
    ("In the Orlen valley the main crop is barley, though rye grows on the higher slopes.",
     "What grows on the higher slopes of the Orlen valley?", "rye"),
    ("The ferry from Tesk to Amarin takes forty minutes and leaves every two hours.",
     "How long does the ferry from Tesk to Amarin take?", "forty minutes"),
    ("Professor Ilse Marr catalogued 312 species of moth in the Dunwood reserve.",
     "How many species of moth did Ilse Marr catalogue?", "312"),
]  # fmt: skip
PLANS = [
    "Write a 1500-word guide to keeping bees in a city garden.",
    "Write a 3000-word history of the lighthouse at a small fishing port.",
]
TOOL_TASKS = [
    ("Write a file named hello.py whose content is: print('hello')", "hello.py"),
    ("Save the text 'milk, eggs' to a file called list.txt.", "list.txt"),
    ("Create notes.md containing '# Notes'.", "notes.md"),
]


def role_check(llm) -> dict:
    """Answers right of 6, plans of 2 taken from the model (as given or repaired), tool calls right
    of 3, and seconds."""
    import json as _json

    from longweave import AgentWrite
    from longweave.agents.tools import TOOL_SPECS
    from longweave.eval import exact_match

    started = time.perf_counter()
    answers = 0
    for passage, question, gold in QA:
        messages = [
            {"role": "system", "content": "Answer from the passage only, with a short phrase."},
            {"role": "user", "content": f"Passage: {passage}\n\nQuestion: {question}"},
        ]
        reply = llm.complete_sync(messages, max_tokens=24, temperature=0).text
        answers += bool(exact_match(reply, gold)) or gold.lower() in reply.lower()
    plans = 0
    for instruction in PLANS:
        outcome = asyncio.run(AgentWrite(llm).aplan(instruction))
        plans += outcome.source in ("model", "repaired")  # the model's own plan, not the fallback
    tools, write = 0, [t for t in TOOL_SPECS if t["function"]["name"] == "write_file"]
    supports = getattr(llm, "supports_tools", False)
    for task, path in TOOL_TASKS if supports else []:
        out = llm.complete_sync(task, tools=write, max_tokens=96, temperature=0)
        try:
            tools += any(_json.loads(c["arguments"]).get("path") == path for c in out.tool_calls)
        except ValueError:
            pass
    return {
        "answers": f"{answers}/{len(QA)}",
        "plans": f"{plans}/{len(PLANS)}",
        "tool_calls": f"{tools}/{len(TOOL_TASKS)}" if supports else "-",
        "seconds": round(time.perf_counter() - started, 1),
    }


def embedded(variants: list[str]) -> list[dict]:
    """Speeds with each setting that is safe here, and the role check with the chosen one."""
    from longweave.llm.llamacpp import LlamaCpp
    from longweave.llm.llamacpp_cpu import amx_in_use
    from longweave.llm.local import embedded_model, embedded_model_path

    rows = []
    for variant in variants:
        try:
            path = embedded_model_path(variant)
        except Exception as exc:  # not installed: say so and go on
            rows.append({"model": variant, "skipped": str(exc)})
            continue
        model = embedded_model(variant)
        llm = LlamaCpp(path, model=model.name, context_window=model.context_window)
        chosen = llm.settings["extra_buffers"]
        row = {"model": model.name, "chosen": chosen, "why": llm.settings["why"]}
        row[f"extra_buffers={chosen}"] = llama_speeds(llm)
        row["roles"] = role_check(llm)
        llm.close()
        if chosen or not amx_in_use():  # extra buffers on would crash where AMX is in use
            other = LlamaCpp(
                path, model=model.name, context_window=model.context_window, extra_buffers=not chosen
            )
            row[f"extra_buffers={not chosen}"] = llama_speeds(other)
            other.close()
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


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
    parser.add_argument("--models", default="0.5b,1.5b,gemma-270m", help="embedded models to measure")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console()
    results: dict = {"cpus": os.cpu_count()}

    results["overhead"] = base_overhead()
    results["generate_many"] = concurrency()
    results["chunk"] = chunking()
    if not args.skip_models:
        results["embedded"] = embedded(args.models.split(","))
        from longweave.llm.local import cache_dir, export_hf_folder

        folder = export_hf_folder(cache_dir() / "gemma-3-270m-hf", "gemma-270m")
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
    for row in results.get("embedded", []):
        if "skipped" in row:
            table.add_row(f"{row['model']} via llama.cpp", f"skipped: {row['skipped']}", "-")
            continue
        for setting in (True, False):
            r = row.get(f"extra_buffers={setting}")
            if r:
                mark = " (chosen)" if setting == row["chosen"] else ""
                table.add_row(
                    f"{row['model']}, extra buffers {'on' if setting else 'off'}{mark}",
                    f"decode {r['decode_tokens_per_s']} tokens/s, prompt {r['prompt_tokens_per_s']} tokens/s",
                    "-",
                )
        q = row["roles"]
        table.add_row(
            f"{row['model']} roles",
            f"answers {q['answers']}, model plans {q['plans']}, "
            f"tool calls {q['tool_calls']} ({q['seconds']} s)",
            "-",
        )
    if "transformers" in results:
        r = results["transformers"]
        table.add_row(
            "gemma-3-270m via transformers", f"{r['tokens_per_s']:.1f} tokens/s ({r['tokens']} tokens)", "-"
        )
    if "hf_load_s" in results:
        table.add_row("transformers load (exported folder)", f"{results['hf_load_s']:.1f} s", "-")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
