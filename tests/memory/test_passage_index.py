"""The passage index: passages keep where they came from; search, save and load agree."""

import pytest

from longweave.errors import InputError
from longweave.memory import RAGIndex, reorder_passages
from longweave.text.documents import Corpus, Document


def test_reorder_puts_the_strongest_at_both_ends():
    assert reorder_passages([1, 2, 3, 4, 5]) == [1, 3, 5, 4, 2]
    assert reorder_passages([1, 2, 3, 4]) == [1, 3, 4, 2]
    assert reorder_passages([1]) == [1] and reorder_passages([]) == []


def test_passages_are_spans_of_their_files_and_survive_save_and_load(tmp_path):
    corpus = Corpus.from_documents(
        [Document("a.txt", "Filler words here. " * 120), Document("b.md", "The jade key opens the red door.")]
    )
    index = RAGIndex.build(corpus, embedder="hash", chunk_tokens=64, index_cache=False)
    for p in index.passages:
        name, offset = corpus.locate(p.start)
        assert corpus.text[p.start : p.end] == p.text and name == p.source
    best = index.search("Which door does the jade key open?", 1)[0]
    assert best.source == "b.md" and best.rank == 1
    loaded = RAGIndex.load(index.save(tmp_path / "idx"))
    assert [p.start for p in loaded.search("jade key", 3)] == [p.start for p in index.search("jade key", 3)]


def test_an_empty_document_is_refused():
    with pytest.raises(InputError, match="empty"):
        RAGIndex.build("   ", embedder="hash", index_cache=False)
