"""Memory benchmarks (issue: memory stream, controller, memory bank, chat).

Measures, in one run on this machine:
  1. `VectorIndex` search latency (median single-query top-10) at 10k, 100k and 1M items, with the
     exact index and with the approximate one (IVF), and recall@10 of the approximate index
     against exact search. Vectors: 384-dim, clustered (2,000 Gaussian clusters, unit-normalised;
     queries drawn from the same clusters, not in the index), the shape sentence embeddings
     have. Build time of each index is reported too.
  2. Ingest rate of `MemoryStream.add_many` (SQLite + embedding + index) with the hashing and
     the MiniLM embedder, on generated sentences; and of `LongMemBank.add`.
  3. Recall of facts planted 10, 100 and 1,000 turns back in a `MemoryChat` with a rule-based
     model that answers only from its prompt (hashing embedder; MiniLM too with --minilm-chat).
  4. Response-prompt tokens vs history length in that chat (should be flat).

Run: python benchmarks/bench_memory.py [--sizes 10000,100000,1000000] [--skip-index]
     [--skip-ingest] [--skip-chat] [--json out.json]
Heavy: wrap it in `flock /tmp/longweave-cpu.lock` on shared machines.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time

import faiss
import numpy as np
from rich.console import Console
from rich.table import Table

from longweave.llm import ScriptedLLM
from longweave.memory import HashingEmbedder, LongMemBank, MemoryStream, VectorIndex
from longweave.pipelines.memory_chat import MemoryChat

console = Console()
DIM = 384

# -- 1. vector index ------------------------------------------------------------------------


def clustered(
    n: int, *, clusters: int = 2000, seed: int = 0, centers: np.ndarray | None = None
) -> np.ndarray:
    """Unit vectors around `clusters` random centres (intra-cluster cosine ~0.5, like sentence embeddings)."""
    rng = np.random.default_rng(seed)
    if centers is None:
        centers = np.random.default_rng(12345).standard_normal((clusters, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        which = rng.integers(0, len(centers), m)
        x = centers[which] + rng.standard_normal((m, DIM)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def median_latency_ms(index, queries: np.ndarray, k: int = 10) -> float:
    """One query at a time on one thread (a chat's access pattern; spares the shared cores)."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    times = []
    for q in queries:
        started = time.perf_counter()
        index.search(q[None, :], k)
        times.append(time.perf_counter() - started)
    faiss.omp_set_num_threads(threads)
    return 1000 * statistics.median(times)


def hashed_sentences(n: int, seed: int) -> np.ndarray:
    """Hashing-embedder vectors (384 dims) of generated sentences: sparse, real embedder output."""
    embedder = HashingEmbedder(DIM)
    texts = sentences(n, seed=seed)
    return np.concatenate([embedder.embed(texts[s : s + 50_000]) for s in range(0, n, 50_000)])


def index_bench(n: int, n_queries: int = 500, vectors: str = "clustered") -> dict:
    if vectors == "clustered":
        data, queries = clustered(n, seed=1), clustered(n_queries, seed=2)
    else:
        data, queries = hashed_sentences(n, seed=1), hashed_sentences(n_queries, seed=2)
    exact = faiss.IndexFlatIP(DIM)
    started = time.perf_counter()
    exact.add(data)
    exact_build = time.perf_counter() - started
    truth_scores, truth = exact.search(queries, 10)
    exact_ms = median_latency_ms(exact, queries[:200])
    del exact
    started = time.perf_counter()
    index = VectorIndex(DIM, kind="ivf")
    for s in range(0, n, 100_000):
        index.add(data[s : s + 100_000])
    build = time.perf_counter() - started
    rows = []
    default_nprobe = index.nprobe
    for nprobe in sorted({default_nprobe, 16, 32, 64, 128}):
        index.nprobe = nprobe
        _, found = index.search(queries, 10)
        # Tie-aware recall@10: a hit is any returned item scoring at least the exact 10th best
        # (generated sentences have many exact ties, which plain id overlap would count as misses).
        scores = np.einsum("qd,qkd->qk", queries, data[np.maximum(found, 0)])
        ok = (found >= 0) & (scores >= truth_scores[:, -1:] - 1e-5)
        recall = float(ok.sum(axis=1).clip(max=10).mean() / 10)
        rows.append({"nprobe": nprobe, "recall@10": float(recall), "ms": median_latency_ms(index, queries)})
    index.nprobe = default_nprobe
    nlist = faiss.extract_index_ivf(index._index).nlist
    return {
        "n": n,
        "vectors": vectors,
        "exact_build_s": exact_build,
        "exact_ms": exact_ms,
        "ivf_build_s": build,
        "nlist": nlist,
        "default_nprobe": default_nprobe,
        "probes": rows,
    }


# -- 2. ingest ---------------------------------------------------------------------------------

WORDS = (
    "river market song garden engine letter window castle meadow harbor lantern winter summer "
    "bridge forest teacher doctor village kitchen mountain ocean train station museum library"
).split()


def sentences(n: int, seed: int = 0) -> list[str]:
    rng, moods, acts = random.Random(seed), ["quiet", "busy", "old", "new"], ["opened", "closed", "moved"]
    return [
        f"The {rng.choice(WORDS)} near the {rng.choice(WORDS)} was {rng.choice(moods)} "
        f"on day {i}, and the {rng.choice(WORDS)} {rng.choice(acts)} at {rng.randint(1, 12)}."
        for i in range(n)
    ]


def ingest_bench(embedder: str, n: int) -> dict:
    texts = sentences(n)
    with tempfile.TemporaryDirectory() as tmp:
        stream = MemoryStream(tmp, embedder=embedder)
        stream.add_many(texts[:64], role="note")  # load the model, warm up
        started = time.perf_counter()
        for s in range(64, n, 256):
            stream.add_many(texts[s : s + 256], role="note")
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        for q in texts[:100]:
            stream.search(q, k=10)
        search_ms = 1000 * (time.perf_counter() - started) / 100
        stream.close()
    return {"embedder": embedder, "items": n - 64, "items_per_s": (n - 64) / seconds, "search_ms": search_ms}


def bank_bench(n: int) -> dict:
    text = "\n".join(sentences(n, seed=3))
    bank = LongMemBank(HashingEmbedder(DIM), chunk_tokens=4, capacity_tokens=10**9)
    started = time.perf_counter()
    bank.add(text)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    for q in sentences(50, seed=4):
        bank.retrieve(q, k=16)
    return {
        "chunks": len(bank),
        "tokens": bank.tokens,
        "tokens_per_s": bank.tokens / seconds,
        "retrieve_ms": 1000 * (time.perf_counter() - started) / 50,
    }


# -- 3 + 4. chat recall and prompt size -------------------------------------------------------

KEYS = ["locker", "bike lock", "safe", "garage", "alarm"]


def _decide(match, messages):
    message = messages[-1]["content"].split("User input:", 1)[1].split("Does replying", 1)[0]
    return "yes" if "?" in message else "no"


def _answer(match, messages):
    asked = re.search(r"What is the ([a-z ]+) code\?", messages[-1]["content"])
    if asked is None:  # the question sits in a recalled memory, not in the user's message
        return "OK."
    found = re.search(rf"the {re.escape(asked[1])} code is (\d+)", messages[0]["content"])
    return f"The {asked[1]} code is {found[1]}." if found else "I do not know."


def chat_model() -> ScriptedLLM:
    return ScriptedLLM(
        rules=[
            (r"Answer yes or no\.", _decide),
            (r"Summarize this memory", lambda m, msgs: msgs[-1]["content"].split("Memory:")[1][:120]),
            (r"What is the ([a-z ]+) code\?", _answer),
            (r".", "OK."),
        ]
    )


def filler(rng: random.Random, i: int) -> str:
    kinds = [
        f"The dress code for party {i} is {rng.choice(['casual', 'formal'])}.",
        f"Tell me about the {rng.choice(WORDS)} and the {rng.choice(WORDS)}, thought {i}.",
        f"My {rng.choice(WORDS)} was {rng.choice(['late', 'early', 'lovely'])} today ({i}).",
        f"Remember to buy {rng.randint(2, 9)} apples for the {rng.choice(WORDS)}.",
    ]
    return kinds[i % len(kinds)]


def chat_bench(distance: int, embedder: str = "hash", trials: int = 5) -> dict:
    rng = random.Random(distance)
    llm = chat_model()
    with tempfile.TemporaryDirectory() as tmp:
        chat = MemoryChat(llm, path=tmp, embedder=embedder)
        codes = {}
        for i, key in enumerate(
            KEYS[:trials]
        ):  # plant one fact per trial, `distance` turns before its question
            codes[key] = str(1000 + rng.randint(0, 8999))
            chat.send(f"Please remember: the {key} code is {codes[key]}.")
            if i < trials - 1:
                chat.send(filler(rng, i))
        turns = chat.stream.turn
        sizes: dict[int, int] = {}
        for i in range(distance):
            r = chat.run(filler(rng, turns + i))
            sizes[chat.stream.turn] = r.prompt_tokens
        hits = 0
        started = time.perf_counter()
        for key in KEYS[:trials]:
            hits += chat.send(f"What is the {key} code?") == f"The {key} code is {codes[key]}."
        ask_ms = 1000 * (time.perf_counter() - started) / trials
        chat.close()
    return {
        "distance": distance,
        "embedder": embedder,
        "recall": hits / trials,
        "max_prompt_tokens": max(sizes.values()),
        "sizes": sizes,
        "ask_ms": ask_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--vectors", default="clustered", choices=["clustered", "hash"])
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-chat", action="store_true")
    parser.add_argument("--minilm-chat", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    out: dict = {"faiss_threads": faiss.omp_get_max_threads()}

    if not args.skip_index:
        table = Table(
            f"items ({args.vectors})",
            "exact ms",
            "IVF build s",
            "nlist",
            "nprobe",
            "IVF ms (median)",
            "recall@10",
        )
        out["index"] = []
        for n in [int(s) for s in args.sizes.split(",")]:
            r = index_bench(n, vectors=args.vectors)
            out["index"].append(r)
            for p in r["probes"]:
                mark = " (default)" if p["nprobe"] == r["default_nprobe"] else ""
                table.add_row(
                    f"{n:,}",
                    f"{r['exact_ms']:.2f}",
                    f"{r['ivf_build_s']:.1f}",
                    str(r["nlist"]),
                    f"{p['nprobe']}{mark}",
                    f"{p['ms']:.3f}",
                    f"{p['recall@10']:.3f}",
                )
            console.print(table) if n == int(args.sizes.split(",")[-1]) else None
    if not args.skip_ingest:
        table = Table("embedder", "items", "items/s (stream add)", "search ms")
        out["ingest"] = [ingest_bench("hash", 20_064), ingest_bench("minilm", 2_064)]
        for r in out["ingest"]:
            table.add_row(r["embedder"], str(r["items"]), f"{r['items_per_s']:.0f}", f"{r['search_ms']:.2f}")
        console.print(table)
        b = out["bank"] = bank_bench(5_000)
        console.print(
            f"LongMemBank (hash-384, 4-token chunks): {b['chunks']} chunks, "
            f"{b['tokens_per_s']:.0f} tokens/s, retrieve {b['retrieve_ms']:.2f} ms"
        )
    if not args.skip_chat:
        table = Table(
            "facts planted", "embedder", "recall", "max prompt tokens", "prompt tokens at turn ~10/100/1000"
        )
        out["chat"] = []
        embedders = ["hash", "minilm"] if args.minilm_chat else ["hash"]
        for embedder in embedders:
            for distance in (10, 100, 1000):
                r = chat_bench(distance, embedder)
                out["chat"].append({k: v for k, v in r.items() if k != "sizes"})
                sizes = r["sizes"]
                marks = [min(sizes, key=lambda t, m=m: abs(t - m)) for m in (10, 100, 1000)]
                table.add_row(
                    f"{distance} turns back",
                    embedder,
                    f"{r['recall']:.0%}",
                    str(r["max_prompt_tokens"]),
                    " / ".join(str(sizes[t]) for t in marks),
                )
        console.print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
