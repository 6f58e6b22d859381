"""L2MAC on a fixed scripted task, and the sandbox's start-up overhead.

The task: a package of N modules, one instruction each, each module with its own test file;
module 3 is written with a bug that the control unit's test run catches and the agent fixes.
The scripted model answers instantly, so the seconds are longweave's own overhead plus the
sandboxed test runs (one per completed step, plus the final check).

Run: ``python benchmarks/bench_l2mac.py [--modules 6] [--repeats 10]``
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time

from longweave.agents.sandbox import SandboxLimits, network_namespace_prefix, run_pytest, run_sandboxed
from longweave.llm import ScriptedLLM
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    rows = {**bench_pipeline(args.modules), **bench_sandbox(args.repeats)}
    width = max(map(len, rows))
    print(f"{'measure':<{width}}  value")
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
