"""`longweave ask` / `summarize` as a user runs them: a real subprocess, with the rule-based reader."""

import os
import subprocess
import sys

import pytest

from longweave.eval.needles import make_needle_task

# Runs the real CLI entry point with load_llm answering every spec with the rule-based reader.
_LAUNCH = (
    "import sys, longweave.llm as L; from longweave.eval.rule_reader import rule_reader; "
    "L.load_llm = lambda spec, **k: rule_reader(); from longweave.cli.main import main; "
    "sys.argv = ['longweave', *sys.argv[1:]]; main()"
)


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-c", _LAUNCH, *map(str, args)], capture_output=True, text=True, env=env
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    task = make_needle_task(30_000, hops=2, depths=(0.2, 0.8), seed=5)
    half = task.needles[1].start  # the two halves of the fact end up in different files
    (folder / "part1.txt").write_text(task.document[:half])
    (folder / "part2.md").write_text(task.document[half:])
    one = make_needle_task(3_000, hops=1, seed=6)
    (folder / "codes.html").write_text(f"<html><body><p>{one.document}</p></body></html>")
    return folder, task, one


def test_ask_with_chain_of_agents_across_two_files(corpus):
    folder, task, one = corpus
    res = run("ask", folder / "part1.txt", folder / "part2.md", task.question)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == task.answer
    assert "longweave: reading chunks" in res.stderr  # plain log lines when not on a terminal
    assert "worker" in res.stderr and "manager" in res.stderr and "total" in res.stderr


def test_ask_rtr_shows_evidence_with_file_names(corpus):
    folder, task, one = corpus
    files = [folder / "part1.txt", folder / "codes.html"]
    res = run("ask", *files, one.question, "--method", "rtr", "--embedder", "hash")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == one.answer
    assert f"evidence {folder / 'codes.html'}:" in res.stderr and one.needles[0].text in res.stderr


def test_ask_reads_a_folder_and_the_second_question_comes_from_the_index_cache(corpus, tmp_path):
    folder, task, one = corpus
    (folder / ".hidden.txt").write_text(f"The secret code for the {one.question[28:-1]} is decoy-0000.")
    env = {**os.environ, "LONGWEAVE_INDEX_CACHE": str(tmp_path / "cache")}
    args = ["ask", folder, one.question, "--method", "rag", "--embedder", "hash"]
    first, second = run(*args, env=env), run(*args, env=env)
    for res in (first, second):
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == one.answer
        assert "loaded 3 file(s)" in res.stderr
    assert "embedding passages" in first.stderr and "index cache" not in first.stderr
    assert "passages from the index cache" in second.stderr and "embedding passages" not in second.stderr
    assert (tmp_path / "cache" / "passages.db").exists()
    off = run(*args, "--no-index-cache", env={**env, "LONGWEAVE_INDEX_CACHE": str(tmp_path / "off")})
    assert off.returncode == 0 and "embedding passages" in off.stderr and not (tmp_path / "off").exists()


def test_ask_takes_folders_and_files_together_and_names_skipped_files(corpus, tmp_path):
    folder, task, one = corpus
    other = tmp_path / "more"
    other.mkdir()
    (other / "picture.png").write_bytes(bytes(range(256)) * 4)
    (other / "codes.md").write_text(one.document)
    res = run("ask", other, folder / "part1.txt", one.question, "--method", "rtr", "--embedder", "hash")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == one.answer
    assert "loaded 2 file(s)" in res.stderr and "skipped 1 file(s) that are not text" in res.stderr
    assert "evidence more/codes.md:" in res.stderr


def test_summarize_reads_a_folder(corpus):
    folder, _, _ = corpus
    res = run("summarize", folder, "--quiet")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() and res.stderr == ""


def test_summarize_runs(corpus):
    folder, _, _ = corpus
    res = run("summarize", folder / "part1.txt", "--quiet")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() and res.stderr == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["ask", "missing.txt", "Q?"], "does not exist"),
        (["ask", "FILE", "Q?", "--method", "magic"], "unknown method"),
        (["ask", "FILE", "Q?", "--method", "full"], "window holds"),
        (["ask", "BINARY", "Q?"], "binary"),
        (["ask", "FILE", " "], "question is empty"),
        (["ask", "NO_TEXT", "Q?", "--method", "rag"], "no text to read"),
        (["summarize", "NO_TEXT"], "no text to read"),
        (["ask", "EMPTY", "Q?"], "holds no files"),
    ],
)
def test_user_mistakes_are_one_line_and_status_2(corpus, tmp_path, args, message):
    folder, _, _ = corpus
    (tmp_path / "b.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "no-text").mkdir()
    (tmp_path / "no-text" / "b.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "no-text" / "blank.txt").write_text("  \n")
    (tmp_path / "empty").mkdir()
    paths = {"FILE": folder / "part1.txt", "BINARY": tmp_path / "b.bin"}
    paths |= {"NO_TEXT": tmp_path / "no-text", "EMPTY": tmp_path / "empty"}
    args = [paths.get(a, a) for a in args]
    res = run(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("error:") and message in lines[-1]
    assert sum(line.startswith("error:") for line in lines) == 1
    assert "Traceback" not in res.stderr


@pytest.mark.real
@pytest.mark.slow
def test_ask_runs_cleanly_with_the_embedded_model(tmp_path):
    pytest.importorskip("llama_cpp")
    doc = tmp_path / "notes.md"
    doc.write_text("# Notes\n\nThe meeting is on Tuesday in room 4.\n\nLunch is at noon.\n")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "longweave.cli.main",
            "ask",
            str(doc),
            "When is the meeting?",
            "--model",
            "local",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() and "worker" in res.stderr and "Traceback" not in res.stderr


def test_a_huge_single_text_file_is_streamed_for_coa(tmp_path, monkeypatch):
    from longweave.cli import ask

    big = tmp_path / "big.txt"
    big.write_text("Some text. " * 1000)
    monkeypatch.setattr(ask, "_STREAM_BYTES", 1000)
    reporter = ask._Reporter(enabled=False)
    stream = ask._load([big], "coa", reporter)
    assert hasattr(stream, "read")
    stream.close()
    assert not hasattr(ask._load([big], "rag", reporter), "read")  # retrieval needs it whole
