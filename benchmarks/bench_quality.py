"""Long-writing quality on a real model: AgentWrite against one call and the full-history loop.

    python benchmarks/bench_quality.py                          # embedded model, every prompt
    python benchmarks/bench_quality.py --max-words 3000         # prompts up to 3,000 words
    python benchmarks/bench_quality.py --only email-100,zh-800 --model local:1.5b
    python benchmarks/bench_quality.py --methods agentwrite --json out.json

A committed set of writing instructions of the kinds users ask (emails, letters, stories,
reports, guides, papers, speeches), with the length stated in words, in pages, in 字 or not at
all, from 100 to 10,000 words, three of them not in English. Each runs through:

- ``agentwrite``: `AgentWrite` with its defaults (bounded context);
- ``single``: the same model called once with the instruction (the baseline LongBench-Write's
  S_l figures are quoted against: GPT-4o alone 65.3, LongWriter-9B-DPO 82.6);
- ``full``: `AgentWrite(context="full", single_call_words=0)`, the published loop: it always
  plans, and shows every step all the text so far (where the piece outgrows the model's
  window it fails, and is reported so).

Per prompt and method: words, S_l (LongBench-Write's length score; none where no length is
stated), calls, prompt and completion tokens, seconds, plan source, and three script checks
(`longweave.eval.writing_checks`): sentences copying our prompts' wording, repeated passages or
headings, and the share of the text in the instruction's language. A summary per method
follows: mean S_l, the share of prompts with the model's own plan, echo and repeat counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longweave import AgentWrite, length_score, load_llm  # noqa: E402
from longweave.eval.writing_checks import language_share, prompt_echoes, repeated_passages  # noqa: E402
from longweave.text import count_words  # noqa: E402

# id, instruction, the length it asks for in words (None: not stated), its language.
PROMPTS: list[tuple[str, str, int | None, str]] = [
    (
        "email-100",
        "Write a 100-word thank-you email to the bank teller who explained our savings options.",
        100,
        "en",
    ),
    (
        "email-free",
        "Write a short email to my landlord asking when the broken heater will be repaired.",
        None,
        "en",
    ),
    (
        "letter-1page",
        "Write a 1-page cover letter for a junior data analyst position at a logistics firm.",
        500,
        "en",
    ),
    ("speech-600", "Write a 600-word wedding toast for my sister, warm and a little funny.", 600, "en"),
    (
        "story-1500",
        "Write a 1500-word short story about a lighthouse keeper who finds a message in a bottle.",
        1500,
        "en",
    ),
    ("blog-2000", "Write a 2000-word blog post on how to start a vegetable garden on a balcony.", 2000, "en"),
    ("guide-3000", "Write a 3000-word travel guide to the rivers of central Europe.", 3000, "en"),
    ("report-2pages", "Write a 2-page report on the causes and effects of urban heat islands.", 1000, "en"),
    (
        "paper-5000",
        "Write a 5000-word survey paper on methods for long-form text generation with language models.",
        5000,
        "en",
    ),
    (
        "story-10000",
        "Write a 10000-word adventure story about a voyage across the Pacific on a raft.",
        10000,
        "en",
    ),
    ("zh-800", "写一篇800字的短文，介绍杭州西湖的四季景色。", 800, "zh"),
    (
        "de-400",
        "Schreibe einen Brief von etwa 400 Wörtern an einen alten Freund, in dem du von "
        "deinem Umzug nach Hamburg erzählst.",
        400,
        "de",
    ),
    (
        "es-700",
        "Escribe un artículo de 700 palabras sobre los beneficios de caminar todos los días.",
        700,
        "es",
    ),
]


def _checks(text: str, lang: str) -> dict:
    return {
        "echoes": len(prompt_echoes(text)),
        "repeats": len(repeated_passages(text)),
        "language": round(language_share(text, lang), 2),
    }


def run_agentwrite(llm, instruction: str, lang: str, context: str) -> dict:
    # The published loop always plans; the length is read from the instruction, as the CLI does.
    single = {"single_call_words": 0} if context == "full" else {}
    result = AgentWrite(llm, context=context, **single).run(instruction)
    u = result.usage.total
    return {
        "words": result.words,
        "plan": result.plan_source,
        "sections": len(result.plan),
        "calls": u.calls,
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "text": result.text,
        **_checks(result.text, lang),
        "trace": [_call(c) for c in result.trace.calls],
    }


def _call(call) -> dict:
    """One model call as the JSON keeps it: enough to see why a section came out short."""
    return {
        "role": call.role,
        "prompt_end": call.messages[-1]["content"][-400:],
        "finish": call.finish_reason,
        "completion_tokens": call.completion_tokens,
        "reply": call.text,
    }


def run_single(llm, instruction: str, target: int | None, lang: str) -> dict:
    # Capped where S_l reaches 0 (four times the length asked): a small model that loops would
    # otherwise fill its window (a 1,500-word story ran 8,105 tokens, 1,135 s, S_l 0).
    room = llm.context_window - llm.count_tokens(instruction) - 64
    cap = room if not target else min(room, int(4 * target * 1.4) + 64)
    reply = llm.complete_sync(instruction, role="single", max_tokens=cap, temperature=0.7)
    return {
        "words": count_words(reply.text),
        "plan": "-",
        "sections": 1,
        "calls": 1,
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "text": reply.text,
        **_checks(reply.text, lang),
    }


def run_one(llm, method: str, pid: str, instruction: str, target: int | None, lang: str) -> dict:
    started = time.monotonic()
    try:
        if method == "single":
            row = run_single(llm, instruction, target, lang)
        else:
            row = run_agentwrite(llm, instruction, lang, "full" if method == "full" else "bounded")
        error = ""
    except Exception as exc:  # a method that fails on a prompt is a result, not a crash
        row, error = {"words": 0, "text": ""}, f"{type(exc).__name__}: {exc}"[:200]
    row.update(id=pid, method=method, target=target, lang=lang, error=error)
    row["seconds"] = round(time.monotonic() - started, 1)
    row["S_l"] = round(length_score(target, row["words"]), 1) if target else None
    return row


def summarize(rows: list[dict]) -> dict:
    out = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        scored = [r["S_l"] for r in mine if r["S_l"] is not None]
        planned = [r for r in mine if r.get("plan") not in (None, "-", "single")]
        out[method] = {
            "prompts": len(mine),
            "mean_S_l": round(sum(scored) / len(scored), 1) if scored else None,
            "min_S_l": min(scored) if scored else None,
            "own_plan": f"{sum(r['plan'] in ('model', 'repaired') for r in planned)}/{len(planned)}",
            "clean_model_plan": sum(r.get("plan") == "model" for r in planned),
            "single_call": sum(r.get("plan") == "single" for r in mine),
            "echoes": sum(r.get("echoes", 0) for r in mine),
            "repeats": sum(r.get("repeats", 0) for r in mine),
            "errors": sum(bool(r["error"]) for r in mine),
            "seconds": round(sum(r["seconds"] for r in mine), 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="local")
    parser.add_argument("--methods", default="agentwrite,single,full")
    parser.add_argument("--only", help="comma-separated prompt ids")
    parser.add_argument("--max-words", type=int, default=None, help="skip prompts asking for more")
    parser.add_argument("--full-max-words", type=int, default=3000, help="skip the full loop above this")
    parser.add_argument("--json", type=Path, help="write every row (texts included) here")
    args = parser.parse_args()
    prompts = [p for p in PROMPTS if not args.only or p[0] in args.only.split(",")]
    if args.max_words:
        prompts = [p for p in prompts if (p[2] or 0) <= args.max_words]
    methods = args.methods.split(",")
    llm = load_llm(args.model)
    rows = []
    try:
        for pid, instruction, target, lang in prompts:
            for method in methods:
                if method == "full" and (target or 0) > args.full_max_words:
                    continue
                rows.append(run_one(llm, method, pid, instruction, target, lang))
                shown = {k: v for k, v in rows[-1].items() if k not in ("text", "trace")}
                print(json.dumps(shown, ensure_ascii=False), file=sys.stderr, flush=True)
    finally:
        llm.close()
    figures = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "model": args.model,
        "rows": rows,
        "summary": summarize(rows),
    }
    print(f"\nLong writing on {args.model}:")
    print(
        f"{'prompt':14} {'method':10} {'target':>6} {'words':>6} {'S_l':>5} {'plan':>8} {'calls':>5} "
        f"{'prompt tok':>10} {'compl tok':>9} {'seconds':>7} {'echo':>4} {'rep':>3} {'lang':>4}  error"
    )
    for r in rows:
        print(
            f"{r['id']:14} {r['method']:10} {r['target'] or '-':>6} {r['words']:>6} {r['S_l'] or '-':>5} "
            f"{r.get('plan', '-'):>8} {r.get('calls', 0):>5} {r.get('prompt_tokens', 0):>10} "
            f"{r.get('completion_tokens', 0):>9} {r['seconds']:>7} {r.get('echoes', '-'):>4} "
            f"{r.get('repeats', '-'):>3} {r.get('language', '-'):>4}  {r['error'][:60]}"
        )
    print("\nSummary:")
    for method, s in figures["summary"].items():
        print(f"{method:10} " + ", ".join(f"{k} {v}" for k, v in s.items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
