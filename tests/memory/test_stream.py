import pytest

from longweave.errors import ConfigError, InputError
from longweave.memory import HashingEmbedder
from longweave.memory.stream import MemoryStream


def test_items_keep_turn_role_tokens_and_survive_a_reopen(tmp_path, tokenizer):
    with MemoryStream(tmp_path) as stream:
        a = stream.add("User: my locker code is 4812", role="dialogue")
        b = stream.add_many(["chapter one text", "chapter two text"], role="document", source="book.txt")
        stream.set_summary(a.id, "locker code 4812")
    assert (a.turn, [x.turn for x in b]) == (1, [2, 3])
    again = MemoryStream(tmp_path)
    item = again.get(a.id)
    assert item.role == "dialogue" and item.tokens == tokenizer.count(item.content)
    assert item.summary == "locker code 4812" and item.summary_tokens == tokenizer.count("locker code 4812")
    assert again.get(b[1].id).source == "book.txt" and again.turn == 3 and len(again) == 3
    hit, score = again.search("what is the locker code", k=1)[0]
    assert hit.id == a.id and 0 < score <= 1.0001


def test_index_ids_are_rowids_and_a_stale_index_file_is_rebuilt(tmp_path):
    stream = MemoryStream(tmp_path)
    stream.add_many([f"note number {i} about apples" for i in range(20)], role="note")
    stream.flush()
    late = stream.add("the secret word is zebra", role="note")  # never flushed
    del stream  # the process "dies" without close()
    again = MemoryStream(tmp_path)
    assert late.id in again.index and len(again.index) == 21
    assert again.search("secret word", k=1)[0][0].id == late.id
    # the stored blob is exactly the embedding
    vec = HashingEmbedder().embed(["the secret word is zebra"])
    _, ids = again.index.search(vec, k=1)
    assert ids[0, 0] == late.id


def test_search_excludes_filters_and_deletes(tmp_path):
    stream = MemoryStream(None)
    items = stream.add_many(["cats purr", "cats sleep a lot", "dogs bark"], role="note")
    stream.add("cats in a document", role="document")
    found = [it.id for it, _ in stream.search("cats", k=10, exclude={items[0].id}, roles={"note"})]
    assert found == [items[1].id, items[2].id]
    assert stream.delete([items[1].id]) == 1
    assert items[1].id not in [it.id for it, _ in stream.search("cats", k=10)]
    assert [it.content for it in stream.recent(2)] == ["dogs bark", "cats in a document"]
    assert [it.id for it in stream.at_turn(items[2].turn)] == [items[2].id]


def test_mistakes_get_clear_errors(tmp_path):
    MemoryStream(tmp_path / "m", embedder=HashingEmbedder(256)).close()
    with pytest.raises(ConfigError, match="hash-256"):
        MemoryStream(tmp_path / "m", embedder="hash")
    assert MemoryStream(tmp_path / "m").embedder.dim == 256  # reopened with the recorded embedder
    with pytest.raises(InputError, match="empty"):
        MemoryStream(None).add("   ")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="folder"):
        MemoryStream(tmp_path / "file")
    assert MemoryStream(None).search("anything", k=3) == []
