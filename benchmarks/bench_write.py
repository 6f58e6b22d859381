"""AgentWrite benchmarks: length score, time and tokens on a real model; bounded vs full context.

    python benchmarks/bench_write.py                      # embedded model, 500..10000 words
    python benchmarks/bench_write.py --sizes 500,2000 --model local
    python benchmarks/bench_write.py --skip-model         # only the context comparison (seconds)

Part 1 runs AgentWrite on the model for each requested length and prints S_l (LongBench-Write's
length score), seconds, calls, prompt and completion tokens, and the checkpoint's size. On a
llama.cpp model it also reads llama.cpp's own counters over the run: the decode speed, the pure
decoding time (completion tokens / that speed), the prompt-evaluation time, and wall time over
pure decoding time (the target for 10,000 words: <= 1.3x).
Part 2 compares the writer's prompt tokens of the bounded context and of ``context="full"`` (the
original AgentWrite) on a 20-section, 10,000-word plan. It uses a scripted model that writes
exactly the words asked for, because the full context does not fit the embedded model's
8,192-token window; prompt sizes depend only on the plan and the text lengths, not on quality.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longweave import AgentWrite, length_score, load_llm  # noqa: E402
from longweave.llm import ScriptedLLM  # noqa: E402

INSTRUCTION = "Write a {n}-word story about a lighthouse keeper who finds a message in a bottle."


def checkpoint_sizes(path: Path) -> dict:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    q = lambda sql: conn.execute(sql).fetchone()[0] or 0  # noqa: E731
    out = {
        "file_bytes": path.stat().st_size,
        "graph_checkpoints": q("SELECT count(*) FROM checkpoints"),
        "graph_bytes": q("SELECT sum(length(checkpoint)) + sum(length(metadata)) FROM checkpoints")
        + q("SELECT sum(length(value)) FROM writes"),
        "largest_checkpoint_bytes": q("SELECT max(length(checkpoint)) FROM checkpoints"),
        "text_bytes": q("SELECT sum(length(CAST(text AS BLOB))) FROM lw_texts"),
    }
    conn.close()
    return out


def run_model(model: str, sizes: list[int]) -> list[dict]:
    llm = load_llm(model)
    rows = []
    try:
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                cp = Path(tmp) / "run.db"
                before = llm.timings() if hasattr(llm, "timings") else None
                started = time.monotonic()
                result = AgentWrite(llm, checkpoint=cp).run(INSTRUCTION.format(n=n))
                seconds = time.monotonic() - started
                u = result.usage.total
                engine = {}
                if before is not None:
                    after = llm.timings()
                    d = {k: after[k] - before[k] for k in after}
                    rate = d["decode_tokens"] / (d["decode_ms"] / 1000)
                    pure = u.completion_tokens / rate
                    engine = {
                        "decode_tokens_per_s": round(rate, 1),
                        "pure_decode_s": round(pure, 1),
                        "prompt_eval_s": round(d["prompt_ms"] / 1000, 1),
                        "prompt_tokens_evaluated": d["prompt_tokens"],
                        "wall_over_decode": round(seconds / pure, 2),
                    }
                rows.append(
                    {
                        "target": n,
                        "words": result.words,
                        "S_l": round(length_score(n, result.words), 1),
                        "seconds": round(seconds, 1),
                        "sections": len(result.plan),
                        "plan": result.plan_source,
                        "calls": u.calls,
                        "prompt_tokens": u.prompt_tokens,
                        "completion_tokens": u.completion_tokens,
                        "tokens_per_s": round(u.completion_tokens / seconds, 1),
                        **engine,
                        **{f"cp_{k}": v for k, v in checkpoint_sizes(cp).items()},
                    }
                )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        llm.close()
    return rows


def exact_writer(window: int) -> ScriptedLLM:

    def write(m, _):
        n = int(m["words"])
        return " ".join(f"{m['title']} sentence {k} tells of harbor light." for k in range(n // 8 + 1))

    return ScriptedLLM(
        rules=[
            (r"Break down|could not be used", "\n".join(f"{i}. Part {i} (500 words)" for i in range(1, 21))),
            (r'Now write section \d+ of \d+, "(?P<title>[^"]+)".*Write about (?P<words>\d+) words', write),
            (
                r'(?:section \d+ of \d+, |the section )"(?P<title>[^"]+)".*about (?P<words>\d+) more words',
                write,
            ),
            (r"updated summary", lambda m, _: " ".join(["The keeper read the message."] * 40)),
        ],
        context_window=window,
        model="exact-writer",
    )


def compare_context() -> dict:
    out = {}
    for mode in ("bounded", "full"):
        llm = exact_writer(200_000)
        result = AgentWrite(llm, context=mode).run(INSTRUCTION.format(n=10_000))
        writer = [r.prompt_tokens for r in result.trace.by_role("writer")]
        summarizer = result.usage.by_role.get("summarizer")
        out[mode] = {
            "words": result.words,
            "writer_calls": len(writer),
            "writer_prompt_tokens": sum(writer),
            "summarizer_prompt_tokens": summarizer.prompt_tokens if summarizer else 0,
            "all_prompt_tokens": result.usage.total.prompt_tokens,
            "first_step_prompt": writer[0],
            "last_step_prompt": writer[-1],
        }
    out["ratio_writer"] = round(
        out["bounded"]["writer_prompt_tokens"] / out["full"]["writer_prompt_tokens"], 3
    )
    out["ratio_all"] = round(out["bounded"]["all_prompt_tokens"] / out["full"]["all_prompt_tokens"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="local")
    parser.add_argument("--sizes", default="500,2000,5000,10000")
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "model": args.model}
    figures["context"] = compare_context()
    c = figures["context"]
    print("\nBounded vs full context, 20 sections x 500 words (scripted exact writer):")
    print(
        f"{'mode':8} {'words':>6} {'writer prompt tok':>18} {'all prompt tok':>15} {'first':>6} {'last':>6}"
    )
    for mode in ("bounded", "full"):
        m = c[mode]
        print(
            f"{mode:8} {m['words']:>6} {m['writer_prompt_tokens']:>18} {m['all_prompt_tokens']:>15} "
            f"{m['first_step_prompt']:>6} {m['last_step_prompt']:>6}"
        )
    print(f"bounded/full: writer {c['ratio_writer']:.1%}, all calls {c['ratio_all']:.1%}")
    if not args.skip_model:
        sizes = [int(s) for s in args.sizes.split(",")]
        figures["runs"] = run_model(args.model, sizes)
        print(f"\nAgentWrite on {args.model}:")
        print(
            f"{'target':>6} {'words':>6} {'S_l':>5} {'seconds':>8} {'sections':>8} {'plan':>9} {'calls':>5} "
            f"{'prompt tok':>10} {'compl tok':>9} {'tok/s':>6} {'checkpoint':>10} {'graph part':>10} "
            f"{'decode t/s':>10} {'pure dec s':>10} {'wall/dec':>8}"
        )
        for r in figures["runs"]:
            print(
                f"{r['target']:>6} {r['words']:>6} {r['S_l']:>5} {r['seconds']:>8} {r['sections']:>8} "
                f"{r['plan']:>9} {r['calls']:>5} {r['prompt_tokens']:>10} {r['completion_tokens']:>9} "
                f"{r['tokens_per_s']:>6} {r['cp_file_bytes']:>10} {r['cp_graph_bytes']:>10} "
                f"{r.get('decode_tokens_per_s', '-'):>10} {r.get('pure_decode_s', '-'):>10} "
                f"{r.get('wall_over_decode', '-'):>8}"
            )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
