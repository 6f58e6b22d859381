import numpy as np
import pytest

from longweave.errors import InputError
from longweave.memory import HashingEmbedder, VectorIndex


def _unit(n, dim, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_search_finds_each_vector_itself():
    x = _unit(500, 32)
    index = VectorIndex(32)
    ids = index.add(x, ids=np.arange(1000, 1500))
    _, found = index.search(x[:50], k=1)
    assert found[:, 0].tolist() == ids[:50].tolist()
    assert not index.approximate


def test_switches_to_approximate_past_threshold_with_high_recall():
    x = _unit(6000, 32, seed=1)
    index = VectorIndex(32, approximate_after=5000, nprobe=16)
    index.add(x)
    assert index.approximate and len(index) == 6000
    _, found = index.search(x[:200], k=1)
    assert (found[:, 0] == np.arange(200)).mean() >= 0.95


def test_delete_save_load_roundtrip(tmp_path):
    x = _unit(100, 16, seed=2)
    index = VectorIndex(16)
    index.add(x)
    assert index.delete([3, 4, 999]) == 2 and 3 not in index and len(index) == 98
    index.save(tmp_path / "v.faiss")
    again = VectorIndex.load(tmp_path / "v.faiss")
    assert len(again) == 98 and 3 not in again and 5 in again
    _, found = again.search(x[5], k=1)
    assert found[0, 0] == 5
    assert again.add(x[:1]).tolist() == [100]  # next id continues after a reload


def test_bad_shapes_and_duplicate_ids_are_refused():
    index = VectorIndex(4)
    with pytest.raises(InputError, match=r"shape \(n, 4\)"):
        index.add(np.zeros((2, 3), dtype="float32"))
    index.add(_unit(2, 4), ids=[1, 2])
    with pytest.raises(InputError, match="unique"):
        index.add(_unit(1, 4), ids=[2])
    scores, ids = VectorIndex(4).search(_unit(1, 4), k=3)
    assert ids.tolist() == [[-1, -1, -1]]


def test_hashing_embedder_is_stable_and_matches_terms():
    emb = HashingEmbedder(256)
    docs = ["The vault code is 7421.", "Bananas are yellow.", "Rivers flow to the sea."]
    vecs = emb.embed(docs)
    assert vecs.shape == (3, 256) and np.allclose(np.linalg.norm(vecs, axis=1), 1)
    assert np.array_equal(vecs, HashingEmbedder(256).embed(docs))
    index = VectorIndex(256)
    index.add(vecs)
    _, ids = index.search(emb.embed(["what is the vault code?"]), k=1)
    assert ids[0, 0] == 0


@pytest.mark.real
def test_minilm_embedder_runs_offline_and_ranks_by_meaning():
    from longweave.memory import MiniLMEmbedder

    emb = MiniLMEmbedder()
    docs = ["A recipe for baking bread at home.", "The stock market fell sharply today."]
    vecs = emb.embed(docs)
    assert vecs.shape == (2, 384) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    query = emb.embed(["How do I make a loaf of sourdough?"])
    assert int(np.argmax(vecs @ query[0])) == 0
