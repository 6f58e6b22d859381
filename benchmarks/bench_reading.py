"""Reading benchmarks: accuracy and prompt tokens of CoA, RAG, RTR and full context on needle tasks.

Sections (run all, or pick with --only):

- rule:     the rule-based reader (answers only from its prompt) on generated needle tasks at
            8k, 32k, 128k and 512k tokens, one- and two-hop, needles at three depths.
- local:    the same with the embedded model (Gemma 3 270M via llama.cpp) at 4k-16k tokens;
            run under ``flock /tmp/longweave-cpu.lock`` on shared machines.
- overhead: Chain of Agents over a 1M-token input with a zero-latency model: wall time beyond
            tokenisation (chunking).
- rag:      RAG indexing speed and search latency (hashing and MiniLM embedders).

Usage:
    python benchmarks/bench_reading.py [--only rule,overhead,rag,local]
"""

from __future__ import annotations

import argparse
import statistics
import time

from longweave.errors import BudgetError
from longweave.eval.needles import make_needle_task
from longweave.eval.qa import exact_match, normalize_answer
from longweave.eval.rule_reader import rule_reader
from longweave.llm import LLM, Completion
from longweave.memory import RAGIndex
from longweave.pipelines import RAG, ChainOfAgents, FullContext, RetrieveThenReason
from longweave.text import chunk, get_tokenizer

DEPTHS = (0.1, 0.5, 0.9)


def tasks_for(length: int, hops=(1, 2), depths=DEPTHS, seed: int = 0):
    out = []
    for h in hops:
        for i, d in enumerate(depths):
            where = d if h == 1 else (d * 0.5, d * 0.5 + 0.45)
            out.append(make_needle_task(length, hops=h, depths=where, seed=seed + 10 * h + i))
    return out


def run_method(name: str, make, task) -> dict:
    started = time.monotonic()
    try:
        result = make().run(task.document, task.question)
    except BudgetError:
        return {"ok": None, "prompt": 0, "seconds": time.monotonic() - started}
    return {
        "ok": exact_match(result.answer, task.answer),
        "prompt": result.usage.total.prompt_tokens,
        "seconds": time.monotonic() - started,
    }


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) + " |")


def summarise(method: str, length: int, runs: list[dict], doc_tokens: float, hops_runs) -> list[str]:
    done = [r for r in runs if r["ok"] is not None]
    if not done:
        return [method, f"{length // 1000}k", "does not fit", "-", "-", "-", "-"]
    acc1 = [r["ok"] for r, h in zip(runs, hops_runs, strict=True) if h == 1 and r["ok"] is not None]
    acc2 = [r["ok"] for r, h in zip(runs, hops_runs, strict=True) if h == 2 and r["ok"] is not None]
    prompt = statistics.mean(r["prompt"] for r in done)
    return [
        method,
        f"{length // 1000}k",
        f"{int(sum(acc1))}/{len(acc1)}",
        f"{int(sum(acc2))}/{len(acc2)}",
        f"{prompt:,.0f}",
        f"{prompt / doc_tokens:.2f}",
        f"{statistics.mean(r['seconds'] for r in done):.2f}",
    ]


def bench_rule(lengths=(8_000, 32_000, 128_000, 512_000)) -> None:
    print("\n## Rule-based reader: needle accuracy and prompt tokens (8k window unless noted)\n")
    methods = {
        "coa": lambda: ChainOfAgents(rule_reader()),
        "rag (hash, k=5)": lambda: RAG(rule_reader(), embedder="hash"),
        "rtr (hash, k=8)": lambda: RetrieveThenReason(rule_reader(), embedder="hash"),
        "full (8k window)": lambda: FullContext(rule_reader()),
        "full (200k window)": lambda: FullContext(rule_reader(context_window=200_000)),
    }
    rows = []
    for length in lengths:
        tasks = tasks_for(length)
        doc_tokens = statistics.mean(t.tokens for t in tasks)
        for name, make in methods.items():
            runs = [run_method(name, make, t) for t in tasks]
            rows.append(summarise(name, length, runs, doc_tokens, [t.hops for t in tasks]))
    table(rows, ["method", "doc", "1-hop", "2-hop", "prompt tokens (mean)", "prompt / doc", "s/task"])


def bench_local(lengths=(4_000, 8_000, 16_000)) -> None:
    from longweave.llm import load_llm

    print("\n## Embedded model (Gemma 3 270M, llama.cpp, 2 cores): one-hop needle at depth 0.5\n")
    llm = load_llm("local")
    methods = {
        "coa": lambda: ChainOfAgents(llm, cu_tokens=128, answer_tokens=24),
        "rag (minilm, k=5)": lambda: RAG(llm, embedder="minilm", answer_tokens=24),
        "rtr (minilm, k=8)": lambda: RetrieveThenReason(
            llm, embedder="minilm", quote_tokens=160, answer_tokens=24
        ),
        "full": lambda: FullContext(llm, answer_tokens=24),
    }
    rows = []
    for length in lengths:
        task = make_needle_task(length, hops=1, depths=0.5, seed=7, tokenizer=llm.tokenizer)
        for name, make in methods.items():
            started = time.monotonic()
            try:
                result = make().run(task.document, task.question)
            except BudgetError:
                rows.append([name, f"{length // 1000}k", "does not fit", "-", "-", "-", "-", "-"])
                continue
            rows.append(
                [
                    name,
                    f"{length // 1000}k",
                    f"{exact_match(result.answer, task.answer):.0f}",
                    "yes" if normalize_answer(task.answer) in normalize_answer(result.answer) else "no",
                    f"{result.usage.total.prompt_tokens:,}",
                    f"{result.usage.total.prompt_tokens / task.tokens:.2f}",
                    f"{time.monotonic() - started:.1f}",
                    repr(" ".join(result.answer.split())[:48]),
                ]
            )
            print("  ", rows[-1], flush=True)
    llm.close()
    header = [
        "method",
        "doc",
        "EM",
        "gold in answer",
        "prompt tokens",
        "prompt / doc",
        "seconds",
        "answer (start)",
    ]
    table(rows, header)


class _Instant(LLM):
    """A zero-latency model that counts nothing: the framework's cost alone remains."""

    model = "instant"

    async def generate(self, messages, **params) -> Completion:
        return Completion(text="notes so far", prompt_tokens=1, completion_tokens=1)


def bench_overhead(tokens: int = 1_000_000) -> None:
    print(f"\n## Chain of Agents framework overhead over a {tokens // 1000}k-token input\n")
    task = make_needle_task(tokens, seed=1)
    coa = ChainOfAgents(_Instant())
    size = coa.plan_chunk_tokens(task.question)
    started = time.monotonic()
    chunks = chunk(task.document, size, get_tokenizer())
    chunking = time.monotonic() - started
    started = time.monotonic()
    result = coa.run(task.document, task.question)
    total = time.monotonic() - started
    rows = [
        [
            f"{task.tokens:,}",
            len(chunks),
            f"{chunking:.2f}",
            f"{total:.2f}",
            f"{total - chunking:.2f}",
            result.chunks,
        ]
    ]
    table(rows, ["doc tokens", "chunks", "tokenise+chunk s", "run s", "overhead s", "worker calls"])


def bench_rag() -> None:
    print("\n## RAG indexing speed and search latency\n")
    rows = []
    specs = [("hash", 128_000), ("hash", 512_000), ("minilm", 32_000)]
    for spec, length in specs:
        task = make_needle_task(length, seed=2)
        rag = RAG(rule_reader(), embedder=spec)
        _ = rag.embedder  # model loading is not indexing
        started = time.monotonic()
        index = rag.index(task.document)
        build = time.monotonic() - started
        queries = [t.question for t in tasks_for(4_000)] * 10
        lat = []
        for q in queries:
            t0 = time.perf_counter()
            index.search(q, 5)
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        rows.append(
            [
                spec,
                f"{task.tokens:,}",
                len(index),
                f"{build:.2f}",
                f"{len(index) / build:,.0f}",
                f"{task.tokens / build:,.0f}",
                f"{lat[len(lat) // 2]:.2f}",
                f"{lat[int(len(lat) * 0.95)]:.2f}",
            ]
        )
        assert isinstance(index, RAGIndex)
    table(
        rows,
        [
            "embedder",
            "doc tokens",
            "passages",
            "index s",
            "passages/s",
            "tokens/s",
            "search p50 ms",
            "p95 ms",
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="rule,overhead,rag,local", help="comma-separated sections")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    print(f"bench_reading, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if "rule" in wanted:
        bench_rule()
    if "overhead" in wanted:
        bench_overhead()
    if "rag" in wanted:
        bench_rag()
    if "local" in wanted:
        bench_local()


if __name__ == "__main__":
    main()
