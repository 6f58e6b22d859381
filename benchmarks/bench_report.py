"""Report benchmarks: citation precision, planted-fact coverage, tokens and seconds vs corpus size.

    python benchmarks/bench_report.py                     # all parts, rule-based model
    python benchmarks/bench_report.py --sizes 1,10,100 --words 3000
    python benchmarks/bench_report.py --embedder minilm   # the MiniLM embedder for retrieval

Part 1 (quality, rule-based model that cites only what its prompt holds, with fabricated and
misattributed citations injected): citation precision of the writer's drafts and of the final
text, measured by `longweave.eval.citation_precision` (the share of citations whose passage is
in the corpus and contains the cited sentence; independent of the pipeline's checker), and the
coverage of facts planted in 5 of 30 files, for a report asked about those facts.

Part 2 (cost): calls, prompt and completion tokens and seconds of a report from 1, 10 and 100
files of the generated corpus, split into indexing and the rest. The model is rule-based
(instant), so the seconds are longweave's own overhead: chunking, embedding, faiss, checking,
checkpoints; a real model adds its generation time to the tokens shown.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longweave import Report  # noqa: E402
from longweave.eval import citation_precision, fact_coverage, make_report_corpus, rule_reporter  # noqa: E402

ASK = "Write a {n}-word review of the grain reserves held at the sites."


def quality(words: int, embedder: str, seeds: range) -> list[dict]:
    rows = []
    for seed in seeds:
        task = make_report_corpus(30, 5, seed=seed)
        llm = rule_reporter(fabricate=True)
        result = Report(llm, embedder=embedder).run(task.corpus, ASK.format(n=words))
        drafts = "\n\n".join(r.text for r in result.trace if r.role == "writer")
        before, n_before = citation_precision(drafts, task.corpus)
        after, n_after = citation_precision(result.text, task.corpus)
        rows.append(
            {
                "seed": seed,
                "draft_precision": before,
                "draft_citations": n_before,
                "final_precision": after,
                "final_citations": n_after,
                "failed": len(result.citations) - len(result.verified),
                "dropped": len(result.dropped),
                "coverage": fact_coverage(result, task.facts),
                "sections": len(result.plan),
            }
        )
    return rows


def cost(sizes: list[int], words: int, embedder: str) -> list[dict]:
    rows = []
    for n in sizes:
        task = make_report_corpus(n, min(5, n), seed=100 + n)
        events: dict[str, float] = {}
        started = time.monotonic()

        def on_event(e, events=events) -> None:
            if e.kind == "indexed":
                events["index_s"] = e.details["seconds"]
                events["passages"] = e.details["passages"]

        result = Report(rule_reporter(), embedder=embedder).run(
            task.corpus, ASK.format(n=words), on_event=on_event
        )
        u = result.usage.total
        rows.append(
            {
                "files": n,
                "corpus_words": sum(len(t.split()) for t in task.corpus.values()),
                "passages": events.get("passages", 0),
                "calls": u.calls,
                "prompt_tokens": u.prompt_tokens,
                "completion_tokens": u.completion_tokens,
                "index_s": events.get("index_s", 0.0),
                "total_s": time.monotonic() - started,
                "words": result.words,
                "citations": len(result.verified),
            }
        )
    return rows


def table(rows: list[dict], fmt: dict[str, str]) -> str:
    keys = list(rows[0])
    head = "| " + " | ".join(keys) + " |\n|" + "---|" * len(keys)
    lines = ["| " + " | ".join(format(r[k], fmt.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join([head, *lines])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10,100", help="corpus sizes in files")
    ap.add_argument("--words", type=int, default=3000, help="report length")
    ap.add_argument("--embedder", default="hash", help="hash or minilm")
    ap.add_argument("--seeds", type=int, default=5, help="corpora for the quality part")
    args = ap.parse_args()

    print(
        f"## Part 1: citations and planted facts (30 files, 5 facts, {args.words} words, {args.embedder})\n"
    )
    rows = quality(args.words, args.embedder, range(args.seeds))
    print(table(rows, {"draft_precision": ".3f", "final_precision": ".3f", "coverage": ".2f"}))
    mean = lambda k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
    print(
        f"\nmean: draft precision {mean('draft_precision'):.3f}, final precision "
        f"{mean('final_precision'):.3f}, planted-fact coverage {mean('coverage'):.2f}\n"
    )
    print(f"## Part 2: cost against corpus size ({args.words} words, {args.embedder})\n")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(table(cost(sizes, args.words, args.embedder), {"index_s": ".2f", "total_s": ".2f"}))


if __name__ == "__main__":
    main()
