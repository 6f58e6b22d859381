"""The real-documents reading benchmark: its questions are well formed and its script runs."""

import importlib.util
import json
from pathlib import Path

import pytest

from longweave.eval.qa import contains_answer

ROOT = Path(__file__).parents[1] / "benchmarks"
DATA = json.loads((ROOT / "data" / "reading_real.json").read_text())
DOCS = Path(DATA["root"])
installed = pytest.mark.skipif(
    not all((DOCS / p).exists() for p in DATA["pages"]), reason="apt-get install python3.11-doc"
)


def test_questions_are_well_formed():
    questions = DATA["questions"]
    assert len({q["id"] for q in questions}) == len(questions)
    assert sum(q["hops"] == 1 for q in questions) >= 15 and sum(q["hops"] == 2 for q in questions) >= 6
    for q in questions:
        assert q["answers"] and set(q["pages"]) <= set(DATA["pages"]), q["id"]
        assert len(q["pages"]) == q["hops"], q["id"]


@installed
def test_every_gold_phrase_is_in_its_pages():
    from longweave.text import load_document

    text = {p: load_document(DOCS / p).text for p in DATA["pages"]}
    for q in DATA["questions"]:
        for part in q.get("parts") or [q["answers"][0]]:
            assert any(contains_answer(text[p], part) for p in q["pages"]), (q["id"], part)


@installed
@pytest.mark.slow
def test_the_script_runs_with_the_oracle(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_reading_real", ROOT / "bench_reading_real.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "out.json"
    argv = [
        "--model",
        "oracle",
        "--embedder",
        "hash",
        "--index-cache",
        "",
        "--limit",
        "3",
        "--json",
        str(out),
    ]
    assert bench.main([*argv, "--methods", "rag,rtr,full"]) == 0
    result = json.loads(out.read_text())
    assert {(r["set"], r["method"]) for r in result["summary"]} == {
        (s, m) for s in ("single-hop", "multi-hop") for m in ("rag", "rtr", "full")
    }
    assert len(result["records"]) == 6 * 3 and "| single-hop | rag" in capsys.readouterr().out
