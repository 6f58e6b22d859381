"""The real-model memory benchmark: its facts are well formed and its script runs (oracle model)."""

import importlib.util
import json
from pathlib import Path

from longweave.eval.qa import contains_answer

ROOT = Path(__file__).parents[1] / "benchmarks"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_memory_real", ROOT / "bench_memory_real.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_facts_hold_their_gold_and_questions_do_not():
    bench = _bench()
    assert len(bench.FACTS) == 5 and len({f["id"] for f in bench.FACTS}) == 5
    for fact in bench.FACTS:
        assert contains_answer(fact["tell"], fact["answers"]) and not contains_answer(
            fact["ask"], fact["answers"]
        )
        assert all(not contains_answer(u + " " + r, fact["answers"]) for u, r in bench.FILLER)


def test_the_script_runs_with_the_oracle(tmp_path, capsys):
    out = tmp_path / "out.json"
    argv = ["--model", "oracle", "--embedder", "hash", "--ask-mode", "--json", str(out)]
    assert _bench().main(argv) == 0
    result = json.loads(out.read_text())
    rows = {r["run"]: r for r in result["summary"]}
    assert sorted(result["turns"].values()) == [1, 3, 5, 7, 9]
    memory = result["runs"]["MemoryChat after restart"]
    assert all(r["turns_back"] >= 50 for r in memory)
    # The hashing embedder misses "dog" for "beagle": 4 of 5 reach the prompt, and the oracle
    # answers exactly those. Without memory, or with a window of recent turns, none.
    chat = rows["MemoryChat after restart"]
    assert chat["recalled"] == "4/5" == chat["reached"]
    assert rows["MemoryChat, mode ask (SCM), after restart"]["recalled"] == "4/5"
    assert rows["no memory (mode never) after restart"]["recalled"] == "0/5"
    assert rows["plain chat, last 1024 tokens"]["recalled"] == "0/5"
    assert rows["plain chat, full history, no restart"]["recalled"] == "5/5"
    assert "| MemoryChat after restart" in capsys.readouterr().out
