"""L2MAC on a fixed scripted task, and the sandbox's start-up overhead; or, with ``--model``,
five small package tasks written by a real model.

Scripted (default): a package of N modules, one instruction each, each module with its own test
file; module 3 is written with a bug that the control unit's test run catches and the agent
fixes. The scripted model answers instantly, so the seconds are longweave's own overhead plus
the sandboxed test runs (one per completed step, plus the final check).

Real model (``--model local:1.5b``): each of `TASKS` is planned and written from scratch; per
task the table says whether the model's own tests exist and all pass, whether a hidden
acceptance check passes (it finds the functions wherever the model put them), the steps that
failed, the best-of-n draws (per draw: step, file, candidate kept or "-", candidates drawn),
the steps reported ok although they changed nothing they had to (should be 0), model calls,
tokens and seconds. Bounds are small so five tasks fit in about 15 minutes on 2 cores.

Run: ``python benchmarks/bench_l2mac.py [--modules 6] [--repeats 10]``
     ``python benchmarks/bench_l2mac.py --model local:1.5b [--tasks textstats,roman] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from longweave.agents.prompt_program import may_change_nothing
from longweave.agents.sandbox import SandboxLimits, network_namespace_prefix, run_pytest, run_sandboxed
from longweave.llm import ScriptedLLM, load_llm
from longweave.pipelines.l2mac import L2MAC

FENCE = "```"


def agent(messages):
    if "planner" in messages[0]["content"]:
        n = int(re.search(r"(\d+) modules", messages[-1]["content"])[1])
        return "\n".join(
            f"{i}. Write mod{i}.py with f{i}() returning {i} and its test." for i in range(1, n + 1)
        )
    i = int(re.search(r"Instruction (\d+) of", messages[1]["content"])[1])
    fixed = "the tests failed" in messages[-1]["content"]
    value = i if (i != 3 or fixed) else -1
    return (
        f"ACTION: write_file\npath: mod{i}.py\n{FENCE}\ndef f{i}():\n    return {value}\n{FENCE}\n"
        f"ACTION: write_file\npath: test_mod{i}.py\n{FENCE}\nfrom mod{i} import f{i}\n\n\n"
        f"def test_f{i}():\n    assert f{i}() == {i}\n{FENCE}\nACTION: complete\nsummary: mod{i} written"
    )


def bench_pipeline(modules: int) -> dict:
    llm = ScriptedLLM(agent)
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        result = L2MAC(llm, workdir=workdir).run(f"Build a package of {modules} modules")
        seconds = time.perf_counter() - started
    assert result.test_report.ok and len(result.files) == 2 * modules, result.test_report.feedback()
    return {
        "instructions": len(result.registry),
        "agent turns": result.turns,
        "fix rounds": result.fix_rounds,
        "model calls": result.usage.total.calls,
        "prompt tokens": result.usage.total.prompt_tokens,
        "completion tokens": result.usage.total.completion_tokens,
        "sandboxed test runs": modules + result.fix_rounds + 1,
        "seconds": round(seconds, 2),
    }


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_sandbox(repeats: int) -> dict:
    py = [sys.executable, "-c", "pass"]
    with tempfile.TemporaryDirectory() as d:
        open(f"{d}/test_one.py", "w").write("def test_one():\n    assert True\n")
        plain = timed(lambda: subprocess.run(py, capture_output=True), repeats)
        no_ns = timed(lambda: run_sandboxed(py, d, SandboxLimits(network=True)), repeats)
        with_ns = timed(lambda: run_sandboxed(py, d), repeats)
        pytest_sb = timed(lambda: run_pytest(d), repeats)
        pytest_plain = timed(
            lambda: subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=d,
                                   capture_output=True), max(1, repeats // 3))  # fmt: skip
    return {
        "network namespace": " ".join(network_namespace_prefix() or ("none",)),
        "python -c pass, plain subprocess (ms)": round(plain * 1000, 1),
        "python -c pass, sandbox without netns (ms)": round(no_ns * 1000, 1),
        "python -c pass, sandbox with netns (ms)": round(with_ns * 1000, 1),
        "pytest 1 test, sandbox (ms)": round(pytest_sb * 1000, 1),
        "pytest 1 test, plain, plugins autoloaded (ms)": round(pytest_plain * 1000, 1),
    }


# -- real model: five small package tasks, each with a hidden acceptance check ----------------
TASKS = {
    "textstats": (
        "A small Python package 'textstats' with word_count, sentence_count and top_words(text, n), "
        "plus pytest tests",
        "assert word_count('one two three') == 3\n"
        "assert sentence_count('Hi there. How are you? Fine!') == 3\n"
        "top = top_words('b a b c b a', 2)\n"
        "assert [t[0] if isinstance(t, tuple) else t for t in top][:2] == ['b', 'a']",
    ),
    "roman": (
        "A Python module roman.py with to_roman(n) and from_roman(s) converting between integers "
        "1..3999 and Roman numerals, plus pytest tests",
        "assert to_roman(1994) == 'MCMXCIV' and to_roman(4) == 'IV'\n"
        "assert from_roman('MCMXCIV') == 1994 and from_roman('XLII') == 42",
    ),
    "structures": (
        "A Python module structures.py with a Stack class (push, pop, peek, is_empty) and a Queue "
        "class (enqueue, dequeue, is_empty), plus pytest tests",
        "s = Stack(); s.push(1); s.push(2)\nassert s.peek() == 2 and s.pop() == 2 and s.pop() == 1\n"
        "assert s.is_empty()\nq = Queue(); q.enqueue(1); q.enqueue(2)\n"
        "assert q.dequeue() == 1 and not q.is_empty()",
    ),
    "temperature": (
        "A Python module temperature.py with celsius_to_fahrenheit, fahrenheit_to_celsius and "
        "celsius_to_kelvin, plus pytest tests",
        "assert abs(celsius_to_fahrenheit(100) - 212) < 1e-6\n"
        "assert abs(fahrenheit_to_celsius(32)) < 1e-6\n"
        "assert abs(celsius_to_kelvin(0) - 273.15) < 1e-6",
    ),
    "ini": (
        "A Python module iniparse.py with parse_ini(text) that reads INI text ([section] headers, "
        "key = value lines, ; or # comments) into a dict of dicts of strings, plus pytest tests",
        "d = parse_ini('; c\\n[server]\\nhost = example.org\\nport=8080\\n\\n[user]\\nname = ada\\n')\n"
        "assert d == {'server': {'host': 'example.org', 'port': '8080'}, 'user': {'name': 'ada'}}",
    ),
}

# Imports every non-test module of the store and runs the check with their names in scope, so
# the check passes wherever the model put the functions (textstats/core.py, roman.py, ...).
_HIDDEN = """import importlib, pathlib, sys
sys.path.insert(0, '.')
scope = {}
for path in sorted(pathlib.Path('.').rglob('*.py')):
    if path.name.startswith(('test_', 'conftest')) or 'tests' in path.parts:
        continue
    name = '.'.join(path.with_suffix('').parts).removesuffix('.__init__')
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        print('cannot import', name, exc)
        continue
    scope.update({k: v for k, v in vars(module).items() if not k.startswith('_')})
exec(compile(CHECK, 'hidden_check', 'exec'), scope)
print('hidden check passed')
"""


#: Bounds of the real-model runs: small, so that five tasks take about 15 minutes on 2 cores.
#: 16 agent calls a task: up to 5 planned steps of one or two turns, best-of-n draws (2 a step,
#: 3 candidates each) and the control unit's repairs (2, the default) after them; 10 calls (the
#: first run's bound) ended textstats before its test step. The 1.5B coder rewrote the same
#: broken file in conversational fix rounds (the runs before ``samples``), hence the draws.
REAL_BOUNDS = dict(max_instructions=5, max_turns_per_step=4, max_fix_rounds=2, samples=3, max_steps=16,
                   max_repairs=2, reply_tokens=600, limits=SandboxLimits(timeout=30))  # fmt: skip


def hidden_check(workdir: str, check: str) -> bool:
    script = f"CHECK = {check!r}\n{_HIDDEN}"
    return run_sandboxed([sys.executable, "-c", script], workdir, SandboxLimits(timeout=30)).ok


def bench_model(spec: str, names: list[str], native: bool | None, keep: str | None = None) -> list[dict]:
    llm = load_llm(spec)
    rows = []
    for name in names:
        task, check = TASKS[name]
        steps: list[dict] = []

        def on_event(event, steps=steps):
            if event.kind == "step_start":
                steps.append({"instruction": event.instruction})
            elif event.kind == "step_done":
                steps[-1].update(index=event.index, ok=event.ok, reason=event.reason, **event.details)
            elif event.kind == "sampled":
                steps[-1].setdefault("draws", []).append(event.details)

        with tempfile.TemporaryDirectory() as workdir:
            pipe = L2MAC(llm, workdir=workdir, native_tools=native, **REAL_BOUNDS)
            started = time.perf_counter()
            result = pipe.run(task, on_event=on_event)
            seconds = time.perf_counter() - started
            report = run_pytest(workdir, SandboxLimits(timeout=60))
            passed = re.search(r"(\d+) passed", report.output)
            hidden = hidden_check(workdir, check)
            if keep:  # the files, every call's prompt and reply, and the steps, to see why a task failed
                shutil.copytree(workdir, Path(keep) / name, dirs_exist_ok=True)
                calls = [{"role": r.role, "messages": r.messages, "reply": r.text, "finish": r.finish_reason,
                          "tokens": [r.prompt_tokens, r.completion_tokens], "seconds": round(r.seconds, 1)}
                         for r in result.trace]  # fmt: skip
                (Path(keep) / name / "trace.json").write_text(json.dumps(calls, indent=1), "utf-8")
                (Path(keep) / name / "steps.json").write_text(json.dumps(steps, indent=1), "utf-8")
        # ok without effect: reported ok, yet neither changed nor wrote a file although it had to
        silent = [s for s in steps if s.get("ok") and not s.get("changed") and not s.get("written")]
        silent = [s for s in silent if not may_change_nothing(s["instruction"])]
        rows.append({
            "task": name,
            "all tests pass": "yes" if report.ok and passed else "no",
            "tests passed": int(passed[1]) if passed else 0,
            "hidden check": "yes" if hidden else "no",
            "steps": len(result.registry) - result.repairs,
            "repairs": result.repairs,
            "failed steps": ", ".join(result.failures) or "-",
            "draws": "; ".join(f"{s['index'] + 1}: {d['target']} {d['kept'] or '-'}/{len(d['scores'])}"
                               for s in steps for d in s.get("draws", [])) or "-",
            "ok without effect": len(silent),
            "files": len(result.files),
            "calls": result.usage.total.calls,
            "tokens": f"{result.usage.total.prompt_tokens}+{result.usage.total.completion_tokens}",
            "seconds": round(seconds),
        })  # fmt: skip
        print(" | ".join(str(v) for v in rows[-1].values()), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--model", help="run the package tasks with this model instead, e.g. local:1.5b")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated, of: " + ", ".join(TASKS))
    parser.add_argument("--text-actions", action="store_true", help="no native tool calls")
    parser.add_argument("--keep", help="copy each task's files and trace.json under this folder")
    args = parser.parse_args()
    if args.model:
        rows = bench_model(args.model, args.tasks.split(","), False if args.text_actions else None, args.keep)
        print("| " + " | ".join(rows[0]) + " |\n|" + "---|" * len(rows[0]))
        for row in rows:
            print("| " + " | ".join(str(v) for v in row.values()) + " |")
        done = sum(r["all tests pass"] == "yes" for r in rows)
        print(f"\n{done} of {len(rows)} tasks end with every test passing; "
              f"{sum(r['ok without effect'] for r in rows)} steps reported ok without effect")  # fmt: skip
        return
    rows = {**bench_pipeline(args.modules), **bench_sandbox(args.repeats)}
    width = max(map(len, rows))
    print(f"{'measure':<{width}}  value")
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
