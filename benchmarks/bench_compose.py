"""Composition benchmarks: what running pipelines as nodes of a user's graph costs.

    python benchmarks/bench_compose.py

Part 1: the overhead of `as_node` — Chain of Agents on a 32k-token needle task, run directly
(``pipeline.run``) and as the one node of a user's graph, with the rule-based reader.
Part 2: parallel fan-out — the custom pipeline example (summarise N files with Chain of Agents,
one ``Send`` per file, then AgentWrite) with a scripted model that sleeps 50 ms a call, at
``max_concurrency`` 1 and 8: the summaries of 8 files run side by side.
Part 3: checkpoint size — the same example with LangGraph's SQLite checkpointer: the user's
graph checkpoints hold summaries and counts, the 4,000-word text lives in AgentWrite's own store.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

import custom_pipeline  # noqa: E402
import rule_models  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402

from longweave import ChainOfAgents, as_node, make_needle_task  # noqa: E402
from longweave.eval.rule_reader import rule_reader  # noqa: E402


class ReadState(TypedDict, total=False):
    document: str
    query: str
    answer: str


def table(rows: list[list], header: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) + " |")


def bench_overhead(repeats: int = 5) -> None:
    print("\n## as_node overhead: Chain of Agents on a 32k-token needle task (rule-based reader)\n")
    task = make_needle_task(32_000, hops=2, depths=(0.2, 0.7), seed=5)
    pipeline = ChainOfAgents(rule_reader())
    graph = StateGraph(ReadState)
    graph.add_node("read", as_node(pipeline))
    graph.add_edge(START, "read")
    graph.add_edge("read", END)
    app = graph.compile()
    direct, nested = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        a = pipeline.run(task.document, task.question).answer
        direct.append(time.perf_counter() - started)
        started = time.perf_counter()
        b = asyncio.run(app.ainvoke({"document": task.document, "query": task.question}))["answer"]
        nested.append(time.perf_counter() - started)
        assert a == b == task.answer
    d, n = statistics.median(direct), statistics.median(nested)
    table(
        [["pipeline.run", f"{d * 1000:.0f}"], ["as_node in a StateGraph", f"{n * 1000:.0f}"]],
        ["how", f"ms (median of {repeats})"],
    )
    print(f"\noverhead: {(n - d) * 1000:+.0f} ms ({n / d:.2f}x); both answers correct")


def corpus(folder: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        text = [f"River {chr(65 + i)} winds past meadows and quiet towns." * 6] * 6
        text[3] += f" Gauges record {100 + i} tonnes of silt each day."
        path = folder / f"river{i}.md"
        path.write_text("\n\n".join(text))
        paths.append(str(path))
    return paths


async def fan_out(paths: list[str], concurrency: int) -> float:
    llm = rule_models.rule_summarise_then_write(latency=0.05)
    graph = custom_pipeline.build_graph(llm)
    started = time.perf_counter()
    await graph.ainvoke(
        {"paths": paths, "topic": "rivers", "target_words": 200 * len(paths)},
        {"max_concurrency": concurrency},
    )
    return time.perf_counter() - started


def bench_fan_out() -> None:
    print("\n## Parallel summaries: 8 files, 50 ms per model call, then AgentWrite (8 sections)\n")
    with tempfile.TemporaryDirectory() as tmp:
        paths = corpus(Path(tmp), 8)
        rows = [[c, f"{asyncio.run(fan_out(paths, c)):.2f}"] for c in (1, 8)]
    table(rows, ["max_concurrency", "seconds"])
    print(f"\nspeed-up: {float(rows[0][1]) / float(rows[1][1]):.1f}x (writing stays sequential by design)")


def bench_checkpoint() -> None:
    print("\n## Checkpoint sizes: 10 files summarised, then 4,000 words written, SQLite checkpoints\n")
    with tempfile.TemporaryDirectory() as tmp:
        paths = corpus(Path(tmp), 10)
        db = str(Path(tmp) / "run.sqlite")
        llm = rule_models.rule_summarise_then_write()
        state = asyncio.run(custom_pipeline.review(llm, paths, "rivers", 4000, checkpoint=db))
        rows = []
        for name, path in (("user's graph", db), ("AgentWrite's own", f"{db}.write")):
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            count, size = conn.execute("SELECT count(*), sum(length(checkpoint)) FROM checkpoints").fetchone()
            texts = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'lw_texts'").fetchone()[0]
            text_bytes = conn.execute("SELECT sum(length(text)) FROM lw_texts").fetchone()[0] if texts else 0
            rows.append([name, count, f"{size:,}", f"{text_bytes or 0:,}", f"{Path(path).stat().st_size:,}"])
            conn.close()
    table(rows, ["checkpoint", "snapshots", "snapshot bytes", "text-store bytes", "file bytes"])
    print(f"\nthe text: {len(state['text'].encode()):,} bytes, {len(state['text'].split()):,} words")


if __name__ == "__main__":
    bench_overhead()
    bench_fan_out()
    bench_checkpoint()
