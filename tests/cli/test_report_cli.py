"""`longweave report`: one line and exit 2 on a user's mistake; real runs on the rule-based model."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from longweave.eval.report_tasks import citation_precision, make_report_corpus

ROOT = Path(__file__).resolve().parents[2]

# The CLI takes a model spec, so the subprocess registers one for the rule-based reporter.
SITE = """
import longweave.llm.registry as registry
from longweave.eval.rule_reporter import rule_reporter

from longweave.llm.scripted import ScriptedLLM, prompt_text

def ghost(messages):  # copies its passage list, then cites a file that does not exist
    text = prompt_text(messages)
    if "Break down the following report request" in text or "could not be used" in text:
        return "1. Title: The sites - Main Point: what the sites are - Word Count: 300 words"
    if "does not hold" in text:
        return "DROP"
    if "Does the passage state" in text:
        return "no"
    return ("Source passages for this section, each after its citation:\\n<passages>\\n"
            "[sites/site_001.txt, ¶1] Survey of a site.\\n</passages>\\n"
            "The ledger lists 7,341 shipments [archive/ghost.txt, ¶3].")

_load = registry.load_llm
def load_llm(spec, **options):
    if spec == "rule-reporter":
        return rule_reporter(fabricate=True)
    if spec == "ghost-reporter":
        return ScriptedLLM(ghost)
    return _load(spec, **options)
registry.load_llm = load_llm
import longweave.llm
longweave.llm.load_llm = load_llm
"""


def run(tmp_path, *args, stdin=None, index_cache=None):
    (tmp_path / "sitecustomize.py").write_text(SITE)
    index_cache = index_cache or os.environ["LONGWEAVE_INDEX_CACHE"]  # never the user's own cache
    return subprocess.run(
        [sys.executable, "-m", "longweave.cli.main", "report", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=ROOT,
        env={
            "PYTHONPATH": f"{tmp_path}:{ROOT}",
            "PATH": "/usr/bin:/bin",
            "LONGWEAVE_INDEX_CACHE": index_cache,
        },
        timeout=60,
    )


def one_line_error(res, *fragments):
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def corpus_dir(tmp_path):
    folder = tmp_path / "sites"
    folder.mkdir()
    for name, text in make_report_corpus(6, 0, seed=3).corpus.items():
        (folder / Path(name).name).write_text(text)
    return folder


@pytest.mark.slow
def test_user_mistakes_are_one_line_and_status_2(tmp_path, corpus_dir):
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["Only an instruction."], ["files or folders to read, then the instruction"]),
        ([str(tmp_path / "missing.txt"), "Review."], ["does not exist"]),
        ([str(empty), "Review."], ["holds no files"]),
        ([str(binary), "Review."], ["blob.txt"]),
        ([str(corpus_dir), "  "], ["instruction", "empty"]),
        ([str(corpus_dir), "Review.", "--words", "0"], ["--words"]),
        ([str(corpus_dir), "Review.", "-o", "/no/such/dir/r.md"], ["cannot write the output"]),
        ([str(corpus_dir), "Review.", "--checkpoint", str(tmp_path)], ["checkpoint path"]),
        ([str(corpus_dir), "Review.", "--model", "nonsense:thing"], ["unknown model spec"]),
    ]
    for args, fragments in cases:
        one_line_error(run(tmp_path, *args), *fragments)


@pytest.mark.slow
def test_a_report_run_writes_cited_text_progress_and_resumes(tmp_path, corpus_dir):
    out, cp = tmp_path / "report.md", tmp_path / "run.db"
    args = [str(corpus_dir), "Write a 900-word survey of the sites.", "-o", str(out), "--checkpoint", str(cp)]
    res = run(tmp_path, *args, "--model", "rule-reporter")
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert "## Sources" in text and "ghost.txt" not in text
    corpus = {f"sites/{p.name}": p.read_text() for p in corpus_dir.iterdir()}
    precision, count = citation_precision(text, corpus)
    assert precision == 1.0 and count > 10
    assert "indexed 6 file(s)" in res.stderr and "plan (model)" in res.stderr
    assert "citations:" in res.stderr and "dropped" in res.stderr and "failed" in res.stderr
    again = run(tmp_path, *args, "--model", "rule-reporter")
    assert again.returncode == 0 and out.read_text() == text and "calls: 0" in again.stderr


@pytest.mark.slow
def test_the_index_cache_is_used_unless_turned_off(tmp_path, corpus_dir):
    args = [str(corpus_dir), "Write a 300-word note on the sites.", "--model", "rule-reporter"]
    on = run(tmp_path, *args, "-o", str(tmp_path / "on.md"), index_cache=str(tmp_path / "on"))
    assert on.returncode == 0, on.stderr
    off = run(
        tmp_path, *args, "-o", str(tmp_path / "off.md"), "--no-index-cache", index_cache=str(tmp_path / "off")
    )
    assert off.returncode == 0, off.stderr
    assert (tmp_path / "on" / "passages.db").exists() and not (tmp_path / "off").exists()
    assert (tmp_path / "on.md").read_text() == (tmp_path / "off.md").read_text()


@pytest.mark.slow
def test_dry_run_prints_the_plan_and_the_instruction_can_come_from_stdin(tmp_path, corpus_dir):
    res = run(
        tmp_path, str(corpus_dir), "-", "--dry-run", "--model", "rule-reporter", stdin="Survey the sites."
    )
    assert res.returncode == 0, res.stderr
    assert '"title"' in res.stdout and "sections" in res.stderr and "## " not in res.stdout


@pytest.mark.slow
def test_a_report_whose_every_citation_failed_is_not_a_success(tmp_path, corpus_dir):
    out = tmp_path / "report.md"
    res = run(
        tmp_path, str(corpus_dir), "Write a 300-word survey.", "-o", str(out), "--model", "ghost-reporter"
    )
    assert res.returncode == 1, res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: no citation held")
    text = out.read_text()  # kept, and free of the copied passage list
    assert "Source passages" not in text and "[sites/site_001.txt, ¶1]" not in text and "ghost" not in text
