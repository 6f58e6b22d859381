"""The passage index cache: a corpus is embedded once; a changed file alone is embedded again."""

import doctest
import sqlite3
import threading

import numpy as np
import pytest

import longweave.memory.index_cache as index_cache_module
from longweave.memory import RAGIndex
from longweave.memory.embedders import HashingEmbedder, OpenAIEmbedder
from longweave.memory.index_cache import FILE_NAME, CachedFile, IndexCache, embedder_key
from longweave.text.documents import Corpus, Document
from tests.memory.counting_embedder import CountingEmbedder


def test_docstring_example_runs():
    assert doctest.testmod(index_cache_module).failed == 0


def _text(topic: str, n: int) -> str:
    return "\n\n".join(
        f"Paragraph {i} about {topic}: the {topic} record {i * 7} is kept here." for i in range(n)
    )


def _corpus(**files: str) -> Corpus:
    return Corpus.from_documents([Document(name, text) for name, text in files.items()])


FILES = {"a.txt": _text("harbour", 60), "b.md": _text("lighthouse", 60), "c.txt": _text("orchard", 60)}


def _build(corpus, cache, embedder=None, chunk_tokens=64):
    embedder = embedder or CountingEmbedder()
    index = RAGIndex.build(corpus, embedder=embedder, chunk_tokens=chunk_tokens, index_cache=cache)
    return index, embedder


def _spans(index):
    return [(p.text, p.start, p.end, p.source) for p in index.passages]


def test_a_second_build_on_an_unchanged_corpus_embeds_nothing(tmp_path):
    first, emb1 = _build(_corpus(**FILES), tmp_path)
    assert len(emb1.texts) == len(first) > 30
    second, emb2 = _build(_corpus(**FILES), tmp_path)
    assert emb2.texts == []
    assert _spans(second) == _spans(first)
    query = "where is the lighthouse record 140 kept?"
    assert [p.start for p in second.search(query, 5)] == [p.start for p in first.search(query, 5)]
    assert (tmp_path / FILE_NAME).exists() and IndexCache(tmp_path).count() == 3


def test_editing_one_file_embeds_only_its_passages(tmp_path):
    _build(_corpus(**FILES), tmp_path)
    edited = dict(FILES, **{"b.md": FILES["b.md"] + "\n\nA new paragraph: the lamp was replaced in 1998."})
    index, emb = _build(_corpus(**edited), tmp_path)
    assert emb.texts == [p.text for p in index.passages if p.source == "b.md"]
    assert index.search("when was the lamp replaced?", 1)[0].source == "b.md"
    fresh, _ = _build(_corpus(**edited), False)
    assert _spans(index) == _spans(fresh)  # offsets shift after the edit; the cache keeps up


def test_a_removed_file_drops_out_and_a_moved_one_is_reused(tmp_path):
    _build(_corpus(**FILES), tmp_path)
    index, emb = _build(_corpus(**{"c.txt": FILES["c.txt"], "renamed.txt": FILES["a.txt"]}), tmp_path)
    assert emb.texts == []  # keyed by content, not by name
    assert {p.source for p in index.passages} == {"c.txt", "renamed.txt"}


def test_other_settings_have_their_own_entries(tmp_path):
    _build(_corpus(**FILES), tmp_path)
    for embedder, chunk_tokens in [
        (CountingEmbedder(128), 64),  # another size
        (CountingEmbedder(256), 32),  # other passages
    ]:
        index, emb = _build(_corpus(**FILES), tmp_path, embedder, chunk_tokens)
        assert len(emb.texts) == len(index)
    assert IndexCache(tmp_path).count() == 9
    _, again = _build(_corpus(**FILES), tmp_path, CountingEmbedder(128))
    assert again.texts == []


def test_embedder_keys_name_what_decides_the_vectors():
    keys = {
        embedder_key(HashingEmbedder(512)),
        embedder_key(HashingEmbedder(1024)),
        embedder_key(HashingEmbedder(1024, bigrams=False)),
        embedder_key(CountingEmbedder(256)),
        embedder_key(OpenAIEmbedder("m", base_url="http://a:1/v1")),
        embedder_key(OpenAIEmbedder("m", base_url="http://b:1/v1")),
    }
    assert len(keys) == 6


def test_a_corrupt_cache_file_is_rebuilt(tmp_path):
    _build(_corpus(**FILES), tmp_path)
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"{FILE_NAME}{suffix}").unlink(missing_ok=True)
    index, emb = _build(_corpus(**FILES), tmp_path)
    assert len(emb.texts) == len(index)
    _, again = _build(_corpus(**FILES), tmp_path)
    assert again.texts == []


def test_a_damaged_entry_is_embedded_again(tmp_path):
    first, _ = _build(_corpus(**FILES), tmp_path)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        keys = [k for (k,) in db.execute("SELECT key FROM entries ORDER BY key")]
        db.execute("UPDATE entries SET vectors = x'00ff' WHERE key = ?", (keys[0],))
        db.execute("UPDATE entries SET spans = zeroblob(16 * passages) WHERE key = ?", (keys[1],))
    index, emb = _build(_corpus(**FILES), tmp_path)
    redone = {p.source for p in index.passages if p.text in set(emb.texts)}
    assert len(redone) == 2 and len(emb.texts) < len(index)
    assert _spans(index) == _spans(first)


def test_a_cache_that_cannot_be_written_warns_and_is_bypassed(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.warns(RuntimeWarning, match="index_cache=False"):
        index, emb = _build(_corpus(**FILES), tmp_path / "a-file" / "cache")
    assert len(emb.texts) == len(index)


def test_concurrent_builds_share_the_cache(tmp_path):
    corpora = [_corpus(**{f"{k}.txt": _text(f"topic{k}", 30)}) for k in range(6)]
    errors, results = [], {}

    def build(k):
        try:
            results[k] = _spans(_build(corpora[k % 3], tmp_path)[0])
        except Exception as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(results[k] == results[k % 3] for k in range(6))
    assert IndexCache(tmp_path).count() == 3


def test_store_and_load_round_trip(tmp_path):
    cache = IndexCache(tmp_path)
    vectors = np.eye(3, 4, dtype=np.float32)
    cache.store(["abcdefghij"], "s", [CachedFile(np.array([[0, 3], [3, 6], [6, 10]]), vectors)])
    [hit, miss] = cache.load(["abcdefghij", "abc"], "s")
    assert miss is None and hit.spans.tolist() == [[0, 3], [3, 6], [6, 10]]
    assert np.array_equal(hit.vectors, vectors)
    assert cache.load(["abcdefghij"], "other settings") == [None]
    assert cache.load(["abcdefghij"], "s", dim=8) == [None]  # another vector size is a miss
    assert cache.clear() == 1 and cache.count() == 0
