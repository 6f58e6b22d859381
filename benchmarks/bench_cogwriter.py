"""CogWriter benchmarks: constraint completion vs AgentWrite vs one call; wall time vs concurrency.

    python benchmarks/bench_cogwriter.py                       # all parts
    python benchmarks/bench_cogwriter.py --skip-model          # no embedded model
    flock /tmp/longweave-cpu.lock python benchmarks/bench_cogwriter.py --only model

Part 1 (rule-based writer): on generated LongGenBench-style tasks (diary, skyscraper, menu; 12
units each, 3 seeds), LongGenBench's completion rate and single / range / periodic rates for
CogWriter, AgentWrite and a single call. The scripted writer is *literal*: it honours a
constraint only when its prompt states it for the unit being written ("In week 8, ..." while
writing week 8, or CogWriter's per-unit "must mention" lines); it never works out ranges or
periods itself. So the figures measure what each pipeline routes to each unit, not model skill.

Part 2 (embedded model, Gemma 3 270M base): one 12-unit diary task, 30 words a unit, the same
three methods; constraint rates plus seconds and tokens. A 270M base model follows little.

Part 3: wall time vs ``concurrency`` (1, 2, 4, 8, 16) for a 16-unit task against
`FakeOpenAIServer` (a real OpenAI-compatible HTTP server on loopback) with a fixed latency per
call, and AgentWrite on the same plan.

Part 4: tokens spent on monitoring (judge) and revision as a share of the total, for a rule-based
writer whose first drafts miss their constraints and for the embedded model run of part 2.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longweave import AgentWrite, CogWriter, ScriptedLLM, load_llm  # noqa: E402
from longweave.agents.cog_planner import unit_structure  # noqa: E402
from longweave.eval.constraints import TASK_NAMES, Task, check_constraints, generate_task  # noqa: E402
from longweave.llm.scripted import prompt_text  # noqa: E402
from longweave.testing import FakeOpenAIServer, Reply  # noqa: E402


def literal_reply(p: str, *, violate_first: set | None = None) -> str:
    """The literal writer: a reply that depends only on the prompt (see the module docstring)."""
    if "single | UNIT" in p:
        return "none"
    if "Break down" in p:  # AgentWrite's planner: one section per unit
        label, n = re.search(r"heading '(\w+) N'", p)[1], unit_structure(p)[1]
        each = int(re.search(r"about (\d+) words each", p)[1])
        return "\n".join(f"{k}. Title: {label} {k} - Main Point: {label} {k} - Word Count: {each} words"
                         for k in range(1, n + 1))  # fmt: skip
    if "updated summary" in p or "summary" in p.lower() and "Newest section" in p:
        return "Things happened."
    words = int(re.findall(r"about (\d+) (?:more )?words", p)[-1])
    if "more words" in p:
        return _pad([], words, 1000 + p.count("Hour "))
    unit = re.search(r'(?:unit|section) \d+ of \d+[:,] "([^"]+)"', p, re.I)
    if unit is None:  # the single call: every unit in one reply
        label, n = re.search(r"heading '(\w+) N'", p)[1], unit_structure(p)[1]
        return "\n\n".join(_unit(p, f"{label} {k}", words) for k in range(1, n + 1))
    title = unit[1]
    if violate_first is not None and title not in violate_first and "Current draft" not in p:
        violate_first.add(title)
        return _pad([title + "."], words, 0)
    return _unit(p, title, words)


def _unit(p: str, title: str, words: int) -> str:
    label, number = title.rsplit(" ", 1)
    terms = []
    for group in re.findall(r"must mention: ([^)]+)\)", p):
        terms += [t.strip() for t in group.split(",")]
    for m in re.finditer(rf"\bIn {label.lower()} {number}, ([^.]+)\.", p, re.I):  # literal singles
        terms.append(m[1])
    return _pad([f"{title}."] + [f"There was {t}." for t in terms], words, 0)


def _pad(parts: list[str], words: int, start: int) -> str:
    out, k = " ".join(parts).split(), start
    while len(out) < words:
        out += f"Hour {k} passed slowly.".split()
        k += 1
    return " ".join(out)


def literal_llm(**kwargs) -> ScriptedLLM:
    return ScriptedLLM(lambda messages: literal_reply(prompt_text(messages)), **kwargs)


async def single_call(llm, task: Task) -> str:
    reply = await llm.complete(
        task.instruction, role="single", max_tokens=int(task.n_units * task.words_per_unit * 2)
    )
    return reply.text


def run_methods(llm, task: Task, **cog_opts) -> dict[str, dict]:
    from longweave._sync import run_sync

    out = {}
    for name in ("cogwriter", "agentwrite", "single"):
        started = time.monotonic()
        before = llm.usage.total.completion_tokens + llm.usage.total.prompt_tokens
        if name == "cogwriter":
            text = CogWriter(llm, **cog_opts).run(task.instruction).text
        elif name == "agentwrite":
            text = AgentWrite(llm).run(task.instruction, plan=_units_plan(task)).text
        else:
            text = run_sync(single_call(llm, task))
        report = check_constraints(text, task.constraints, task.n_units, task.label)
        out[name] = {
            "completion": report.completion_rate,
            **{k: v for k, v in report.rates.items() if v is not None},
            "seconds": time.monotonic() - started,
            "tokens": llm.usage.total.completion_tokens + llm.usage.total.prompt_tokens - before,
        }
    return out


def _units_plan(task: Task) -> list[dict]:
    """AgentWrite gets the same units as CogWriter (its own planner merges sections below 200 words)."""
    return [{"title": f"{task.label} {k}", "words": task.words_per_unit} for k in range(1, task.n_units + 1)]


def table(title: str, rows: list[tuple], header: tuple) -> None:
    print(f"\n{title}")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for r in rows:
        print(" | ".join(f"{x:.2f}" if isinstance(x, float) else str(x) for x in r))


def part_rule_based(seeds: int = 3) -> None:
    sums: dict[str, dict[str, float]] = {}
    runs = 0
    for name in TASK_NAMES:
        for seed in range(seeds):
            task = generate_task(name, n_units=12, words_per_unit=40, seed=seed)
            for method, r in run_methods(literal_llm(), task).items():
                acc = sums.setdefault(method, {})
                for k in ("completion", "single", "range", "periodic"):
                    acc[k] = acc.get(k, 0.0) + r[k]
            runs += 1
    rows = [
        (m, *(v[k] / runs for k in ("completion", "single", "range", "periodic"))) for m, v in sums.items()
    ]
    table(f"Part 1: rule-based literal writer, {runs} tasks of 12 units (mean rates)", rows,
          ("method", "completion", "single", "range", "periodic"))  # fmt: skip


def part_model(model: str) -> None:
    task = generate_task("diary", n_units=12, words_per_unit=30, seed=0)
    llm = load_llm(model)
    try:
        results = run_methods(llm, task, concurrency=2)
        cog = CogWriter(llm, concurrency=2)
        share = tokens_share(cog, task)
    finally:
        llm.close()
    rows = [(m, r["completion"], r["single"], r["range"], r["periodic"], r["seconds"], r["tokens"])
            for m, r in results.items()]  # fmt: skip
    table(f"Part 2: {model}, diary of 12 weeks x 30 words", rows,
          ("method", "completion", "single", "range", "periodic", "seconds", "tokens"))  # fmt: skip
    print_share(f"Part 4b: token shares, {model} (a second CogWriter run)", share)


def tokens_share(cog: CogWriter, task: Task) -> dict:
    result = cog.run(task.instruction)
    total = result.usage.total.prompt_tokens + result.usage.total.completion_tokens
    by = {r: s.prompt_tokens + s.completion_tokens for r, s in result.usage.by_role.items()}
    revisions = sum(r.get("revisions", 0) for r in result.reviews)
    return {"total": total, "by_role": by, "revisions": revisions, "units": len(result.reviews)}


def print_share(title: str, share: dict) -> None:
    total = share["total"] or 1
    rows = [(role, tokens, tokens / total) for role, tokens in sorted(share["by_role"].items())]
    rows.append(("revisions / units", f"{share['revisions']} / {share['units']}", ""))
    table(title, rows, ("role", "tokens", "share"))


def part_concurrency(latency: float) -> None:
    task = generate_task("skyscraper", n_units=16, words_per_unit=40, seed=1)

    def responder(request: dict, n: int):
        return Reply(literal_reply("\n\n".join(m["content"] for m in request["messages"])))

    rows = []
    with FakeOpenAIServer(responder, latency=latency) as server:
        for c in (1, 2, 4, 8, 16):
            llm = load_llm(f"openai:bench@{server.url}", max_concurrency=c)
            try:
                started = time.perf_counter()
                r = CogWriter(llm, concurrency=c).run(task.instruction)
                seconds = time.perf_counter() - started
            finally:
                llm.close()
            ideal = latency * (1 + -(-16 // c))
            rate = check_constraints(r.text, task.constraints, 16, task.label).overall
            rows.append((f"cogwriter c={c}", seconds, ideal, seconds / ideal, r.usage.total.calls, rate))
        llm = load_llm(f"openai:bench@{server.url}")
        try:
            started = time.perf_counter()
            r = AgentWrite(llm).run(task.instruction, plan=_units_plan(task))
            seconds = time.perf_counter() - started
        finally:
            llm.close()
        calls = r.usage.total.calls
        rate = check_constraints(r.text, task.constraints, 16, task.label).overall
        rows.append(("agentwrite", seconds, latency * calls, seconds / (latency * calls), calls, rate))
    table(f"Part 3: 16 units, {latency:.2f} s per call (FakeOpenAIServer)", rows,
          ("run", "seconds", "ideal", "ratio", "calls", "constraints met"))  # fmt: skip


def part_share_rule() -> None:
    task = generate_task("diary", n_units=12, words_per_unit=40, seed=2)
    seen: set = set()
    llm = ScriptedLLM(lambda m: literal_reply(prompt_text(m), violate_first=seen))
    print_share("Part 4a: token shares, rule-based writer whose first drafts all miss (12 units)",
                tokens_share(CogWriter(llm), task))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="local")
    ap.add_argument("--skip-model", action="store_true")
    ap.add_argument("--only", choices=["rules", "model", "concurrency", "share"])
    ap.add_argument("--latency", type=float, default=0.2)
    args = ap.parse_args()
    if args.only in (None, "rules"):
        part_rule_based()
    if args.only in (None, "concurrency"):
        part_concurrency(args.latency)
    if args.only in (None, "share"):
        part_share_rule()
    if args.only == "model" or (args.only is None and not args.skip_model):
        part_model(args.model)


if __name__ == "__main__":
    main()
