"""Reading quality on real documents: the Python 3.11 library reference, questions with gold phrases.

The documents are 15 pages of the library reference as Debian's ``python3.11-doc`` installs
them (``apt-get install -y python3.11-doc``; HTML under /usr/share/doc/python3.11/html),
read with longweave's own loader; the questions and gold answers are in
``benchmarks/data/reading_real.json`` (21 single-hop: the answer is one phrase of one page;
8 multi-hop: it needs two facts from different places). No one here wrote the documents.

Per method (ChainOfAgents, RAG, RetrieveThenReason, FullContext where the text fits the
window) and question set, it reports:

- EM: normalised exact match (SQuAD v1.1), and F1;
- contains: the gold phrase (every part of it, for a two-part answer) appears as whole words
  in an answer of at most 30 words, so a chatty but right reply counts and a copied passage
  does not;
- reached: the gold phrase appeared in the text the answering call was shown (RAG, RTR, full
  context: any prompt of the run; CoA: the manager's notes), which separates retrieval from
  reading;
- unknown: answers that were "unknown";
- prompt tokens and seconds per question (the index is built once and timed apart).

RAG and RetrieveThenReason both read the top 5 passages of 256 tokens (RTR's own default is
8), answers get 64 tokens, quotes 256. "reached" is loose for one-digit golds (s07, s20): a
passage marker "[4]" holds the digit too.

``--model oracle`` is a scripted model that answers with the gold whenever the gold phrase is
in its prompt: a ceiling for the retrieval and notes, and a quick check of the script itself.

Usage:
    python benchmarks/bench_reading_real.py [--model local] [--methods rag,rtr,coa,full]
        [--set single|multi|all] [--limit N] [--scope corpus|pages] [--embedder minilm]
        [--json out.json] [--verbose]
Run real models under ``flock /tmp/longweave-cpu.lock`` on shared machines.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

from longweave.errors import BudgetError
from longweave.eval.qa import contains_answer, exact_match, f1_score
from longweave.eval.tables import markdown_table
from longweave.llm import LLM, ScriptedLLM
from longweave.llm.scripted import prompt_text
from longweave.memory import RAGIndex
from longweave.memory.embedders import load_embedder
from longweave.memory.index_cache import passage_settings
from longweave.pipelines import RAG, ChainOfAgents, FullContext, RetrieveThenReason
from longweave.text import get_tokenizer, load_corpus

DATA = Path(__file__).parent / "data" / "reading_real.json"
METHODS = ("rag", "rtr", "coa", "full")
CONTAINS_MAX_WORDS = 30


def load_questions(path: Path = DATA) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def corpus_for(root: Path, pages: list[str]):
    missing = [p for p in pages if not (root / p).exists()]
    if missing:
        sys.exit(
            f"{root} lacks {', '.join(missing)}: install the docs with `apt-get install -y python3.11-doc` "
            "or pass --docs to a folder holding the library reference's HTML pages."
        )
    return load_corpus([root / p for p in pages])


def golds(question: dict) -> tuple[list[str], list[str]]:
    """(aliases of the whole answer, parts that must all appear for "contains")."""
    return question["answers"], question.get("parts") or []


def contains(answer: str, question: dict) -> float:
    if len(answer.split()) > CONTAINS_MAX_WORDS:
        return 0.0
    aliases, parts = golds(question)
    if parts:
        return float(all(contains_answer(answer, p) for p in parts))
    return contains_answer(answer, aliases)


def reached(text: str, question: dict) -> bool:
    aliases, parts = golds(question)
    if parts:
        return all(contains_answer(text, p) for p in parts)
    return bool(contains_answer(text, aliases))


def oracle(question: dict) -> ScriptedLLM:
    """Answers with the gold when the gold phrase is in its prompt; quotes and notes keep its lines."""

    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "<source>" in text or "<document>" in text:
            tag = "source" if "<source>" in text else "document"
            body = text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]
            keep = [line.strip() for line in body.splitlines() if line.strip() and reached(line, question)]
            if tag == "document":
                return "\n".join(f"> {line}" for line in keep) or "> NONE"
            previous = text.split("<previous_notes>", 1)[1].split("</previous_notes>", 1)[0].strip()
            previous = "" if previous.startswith("(") else previous
            return "\n".join([previous, *keep]).strip() or "Nothing relevant."
        return question["answers"][0] if reached(text, question) else "unknown"

    return ScriptedLLM(respond, model="oracle")


def make_method(name: str, llm: LLM, embedder: str):
    if name == "rag":
        return RAG(llm, embedder=embedder, answer_tokens=64)
    if name == "rtr":
        # The same 5 passages RAG reads (the pipeline's default is 8), so the two differ only in
        # how they read them; and a 0.5B model on 2 cores reads 5 in two-thirds of the time.
        return RetrieveThenReason(llm, embedder=embedder, top_k=5, quote_tokens=256, answer_tokens=64)
    if name == "coa":
        return ChainOfAgents(llm, answer_tokens=64)
    if name == "full":
        return FullContext(llm, answer_tokens=64)
    raise SystemExit(f"unknown method {name!r}; choose from {', '.join(METHODS)}.")


def shown_text(method: str, result) -> str:
    """What the answering calls were shown: the manager's notes for CoA, every prompt otherwise."""
    calls = result.trace.by_role("manager") if method == "coa" else list(result.trace)
    return "\n".join(m["content"] for call in calls for m in call.messages)


def index_for(corpus, embedder: str, cache: Path | None) -> tuple[RAGIndex, float]:
    started = time.monotonic()
    emb = load_embedder(embedder)  # loaded once, for the cache key and the index
    if cache is not None:
        # The library's passage settings (its format version among them) are in the key, so a
        # change to chunking or embedding never reads an index built the old way.
        settings = passage_settings(emb, 256, get_tokenizer())
        key = hashlib.sha1(f"{settings}\x00{corpus.text}".encode()).hexdigest()[:16]
        folder = cache / key
        if (folder / "rag.json").exists():
            return RAGIndex.load(folder, embedder=emb), time.monotonic() - started
    index = RAGIndex.build(corpus, embedder=emb)
    if cache is not None:
        index.save(folder)
    return index, time.monotonic() - started


def run_question(method: str, llm: LLM, question: dict, corpus, index, embedder: str) -> dict:
    pipeline = make_method(method, llm, embedder)
    document = index if method in ("rag", "rtr") and index is not None else corpus
    started = time.monotonic()
    try:
        result = pipeline.run(document, question["question"])
    except BudgetError:
        return {"id": question["id"], "hops": question["hops"], "method": method, "fits": False}
    answer = " ".join(result.answer.split())
    return {
        "id": question["id"],
        "hops": question["hops"],
        "method": method,
        "fits": True,
        "answer": answer,
        "em": exact_match(answer, question["answers"]),
        "contains": contains(answer, question),
        "f1": f1_score(answer, question["answers"]),
        "reached": reached(shown_text(method, result), question),
        "unknown": answer == "unknown",
        "prompt_tokens": result.usage.total.prompt_tokens,
        "calls": result.usage.total.calls,
        "seconds": time.monotonic() - started,
        "repaired": sum(e.match == "repaired" for e in result.evidence),
        "dropped": len(result.dropped),
        "read_fallback": bool(method == "rtr" and result.trace.by_role("reader")),
        "replies": [[call.role, call.text[:300]] for call in result.trace if call.role != "worker"],
    }


def summarise(records: list[dict], methods: list[str], sets: list[tuple[str, int]]) -> list[list[str]]:
    """One row per (set, method): counts out of the questions whose text fitted the method."""
    rows = []
    for set_name, hops in sets:
        for method in methods:
            mine = [r for r in records if r["method"] == method and r["hops"] == hops]
            done = [r for r in mine if r["fits"]]
            if not mine:
                continue
            if not done:
                rows.append([set_name, method, f"0/{len(mine)} fit", "-", "-", "-", "-", "-", "-", "-"])
                continue
            n = len(done)
            rows.append(
                [
                    set_name,
                    method,
                    f"{n}" + (f" ({len(mine) - n} do not fit)" if n < len(mine) else ""),
                    f"{sum(r['em'] for r in done):.0f}/{n}",
                    f"{sum(r['contains'] for r in done):.0f}/{n}",
                    f"{statistics.mean(r['f1'] for r in done):.2f}",
                    f"{sum(r['reached'] for r in done)}/{n}",
                    f"{sum(r['unknown'] for r in done)}",
                    f"{statistics.mean(r['prompt_tokens'] for r in done):,.0f}",
                    f"{statistics.mean(r['seconds'] for r in done):.1f}",
                ]
            )
    return rows




HEADER = ["set", "method", "n", "EM", "contains", "F1", "reached", "unknown", "prompt tok", "s/q"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help='a load_llm spec, or "oracle"')
    parser.add_argument("--methods", default="rag,rtr,coa,full")
    parser.add_argument("--set", choices=("single", "multi", "all"), default="all")
    parser.add_argument("--limit", type=int, default=None, help="first N questions of each set")
    parser.add_argument("--ids", default="", help="comma-separated question ids (overrides --set/--limit)")
    parser.add_argument(
        "--scope",
        choices=("corpus", "pages"),
        default="corpus",
        help="read all 15 pages (corpus) or only the pages a question is about (pages)",
    )
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--docs", default=None, help="folder of the library reference's HTML pages")
    parser.add_argument("--index-cache", default="/tmp/longweave-bench-reading-real", help='"" for none')
    parser.add_argument("--json", default=None, help="write every answer and the summary here")
    parser.add_argument("--verbose", action="store_true", help="print each answer as it comes")
    args = parser.parse_args(argv)

    data = load_questions()
    root = Path(args.docs or data["root"])
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    sets = {"single": [("single-hop", 1)], "multi": [("multi-hop", 2)]}.get(
        args.set, [("single-hop", 1), ("multi-hop", 2)]
    )
    questions = []
    if args.ids:
        wanted = set(args.ids.split(","))
        questions = [q for q in data["questions"] if q["id"] in wanted]
        sets = [("single-hop", 1), ("multi-hop", 2)]
    else:
        for _, hops in sets:
            questions += [q for q in data["questions"] if q["hops"] == hops][: args.limit]
    cache = Path(args.index_cache) if args.index_cache else None

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"bench_reading_real, {started}, model {args.model}, scope {args.scope}, embedder {args.embedder}")
    llm = None if args.model == "oracle" else _load(args.model)
    records: list[dict] = []
    corpus = index = None
    index_seconds = 0.0
    if args.scope == "corpus":
        corpus = corpus_for(root, data["pages"])
        print(f"corpus: {len(data['pages'])} pages, {len(corpus.text.split()):,} words")
        if {"rag", "rtr"} & set(methods):
            index, index_seconds = index_for(corpus, args.embedder, cache)
            print(f"index: {len(index)} passages in {index_seconds:.1f} s")
    for q in questions:
        if args.scope == "pages":
            corpus = corpus_for(root, q["pages"])
            index = None
        for method in methods:
            model = oracle(q) if llm is None else llm
            record = run_question(method, model, q, corpus, index, args.embedder)
            records.append(record)
            if args.verbose:
                fits = record["fits"]
                marks = f"contains={record['contains']:.0f} {record['seconds']:.1f}s" if fits else ""
                print(f"  {q['id']} {method}: {record.get('answer', 'does not fit')!r} {marks}", flush=True)
    if llm is not None:
        llm.close()
    rows = summarise(records, methods, sets)
    print()
    print(markdown_table(rows, HEADER))
    if args.json:
        summary = [dict(zip(HEADER, r, strict=True)) for r in rows]
        out = {
            "date": started,
            "model": args.model,
            "scope": args.scope,
            "embedder": args.embedder,
            "index_seconds": index_seconds,
            "argv": sys.argv[1:] if argv is None else argv,
            "summary": summary,
            "records": records,
        }
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


def _load(spec: str) -> LLM:
    from longweave.llm import load_llm

    return load_llm(spec)


if __name__ == "__main__":
    raise SystemExit(main())
