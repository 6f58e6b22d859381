from longweave.eval.needles import make_needle_task
from longweave.eval.rule_reader import rule_reader
from longweave.pipelines import RetrieveThenReason
from longweave.text.documents import Corpus, Document
from tests.memory.counting_embedder import CountingEmbedder

FAKE = "The secret code for the teal medallion is zephyr-0000."


def test_a_fabricated_quote_is_dropped_and_reported(middle_100k):
    task = middle_100k
    llm = rule_reader(fabricate=FAKE)
    result = RetrieveThenReason(llm, embedder="hash").run(task.document, task.question)
    assert result.answer == task.answer
    assert [d.quote for d in result.dropped] == [FAKE]
    assert all(FAKE not in e.text for e in result.evidence)
    needle = task.needles[0]
    ev = next(e for e in result.evidence if e.text == needle.text)
    assert (ev.start, ev.end) == (needle.start, needle.start + len(needle.text)) and ev.match == "exact"
    reasoner = result.trace.by_role("reasoner")[0].messages[-1]["content"]
    assert FAKE not in reasoner and needle.text in reasoner
    assert len(result.passages) == 8 and result.chunks > 300


def test_fabrication_would_have_changed_the_answer():
    # The fake fact claims the real thing's code: only verification keeps the answer right.
    task = make_needle_task(3_000, hops=1, seed=21)
    thing = task.question.removeprefix("What is the secret code for the ").rstrip("?")
    fake = f"The secret code for the {thing} is zephyr-0000."
    llm = rule_reader(fabricate=fake)
    document = task.document.replace(task.needles[0].text, "")  # the real fact is gone
    result = RetrieveThenReason(llm, embedder="hash").run(document, task.question)
    assert result.answer == "unknown" and result.dropped[0].quote == fake


def test_whole_document_when_it_fits_so_two_hops_work():
    task = make_needle_task(4_000, hops=2, seed=22)
    result = RetrieveThenReason(rule_reader(), embedder="hash").run(task.document, task.question)
    assert result.answer == task.answer and result.passages == []
    assert sorted(e.text for e in result.evidence) == sorted(n.text for n in task.needles)


def test_evidence_names_its_file():
    corpus = Corpus.from_documents(
        [
            Document("notes.txt", "Nothing here. " * 20),
            Document("key.md", "The secret code for the jade key is ember-1234."),
        ]
    )
    result = RetrieveThenReason(rule_reader(), embedder="hash").run(
        corpus, "What is the secret code for the jade key?"
    )
    assert result.answer == "ember-1234"
    assert result.evidence[0].source == "key.md"
    assert corpus.text[result.evidence[0].start : result.evidence[0].end] == result.evidence[0].text


def test_graph_shape():
    mermaid = RetrieveThenReason(rule_reader(), embedder="hash").graph.get_graph().draw_mermaid()
    assert "extract --> verify" in mermaid and "verify -.-> reason" in mermaid
    assert "verify -.-> read" in mermaid and "reason -.-> read" in mermaid and "read --> __end__" in mermaid


def test_no_verified_evidence_means_the_reader_answers_from_the_text_not_the_reasoner():
    from longweave.llm import ScriptedLLM

    llm = ScriptedLLM(
        rules=[
            (r"<document>", "> The moon is made of cheese."),
            (r"<passages>.*Grass is green.*</passages>", "unknown"),
        ]
    )
    result = RetrieveThenReason(llm, embedder="hash").run(
        "The sky is blue. Grass is green.", "What is the moon?"
    )
    # Reasoning over nothing invites invention: the reasoner is never called without evidence;
    # the reader sees the real text instead, and here it does not know either.
    assert result.answer == "unknown" and result.evidence == [] and len(result.dropped) == 1
    assert result.trace.by_role("reasoner") == [] and len(result.trace.by_role("reader")) == 1


def test_retrieval_reuses_the_index_cache(tmp_path):
    task = make_needle_task(8_000, hops=1, seed=23)
    answers, embedded = [], []
    for _ in range(2):
        emb = CountingEmbedder()
        rtr = RetrieveThenReason(rule_reader(), embedder=emb, window=3_000, index_cache=tmp_path)
        result = rtr.run(task.document, task.question)
        answers.append(result.answer)
        embedded.append(emb.texts)
    assert answers == [task.answer] * 2 and result.passages
    assert len(embedded[0]) > 20 and embedded[1] == [task.question]
