"""Reading pipelines against scripted models that behave like small instruct models.

Each model answers only from its prompt (as `rule_reader` does) but with the habits the 0.5B
Qwen2.5-Coder-Instruct showed on the Python docs (issue 15): "unknown" when the fact sits among
several passages, chatty replies, paraphrased quotes, notes rewritten from the current chunk
alone. The pipelines must still get the answer out.
"""

import re

import pytest

from longweave.eval.needles import make_needle_task, solve
from longweave.eval.qa import exact_match
from longweave.eval.rule_reader import _names, _section, relevant_sentences
from longweave.llm import ScriptedLLM
from longweave.llm.scripted import prompt_text
from longweave.pipelines import RAG, ChainOfAgents, FullContext, RetrieveThenReason


def chatty(answer: str | None, where: str = "passage") -> str:
    return f"Based on the {where}, the answer is {answer}." if answer else "unknown"


def paraphrase(sentence: str) -> str:
    """A close rewording, as a small model quotes: "[2] the jade key's secret code is ember-1234"."""
    m = re.match(r"The secret code for the (.+) is ([\w-]+)\.", sentence)
    if m:
        return f"[2] the {m[1]}'s secret code is {m[2]}"
    m = re.match(r"The (.+) is kept by (\w+)\.", sentence)
    if m:
        return f"{m[2]} is the one who keeps the {m[1]}"
    m = re.match(r"(\w+) lives in the town of (\w+)\.", sentence)
    if m:
        return f"{m[1]} lives in {m[2]}, a town"
    return sentence.lower()


def instruct_reader(
    *,
    passages_at_once: int = 1,
    quotes: str = "paraphrased",
    reasoner_knows: bool = True,
    notes: str = "forgetful",
    echo: bool = False,
    restate: bool = False,
) -> ScriptedLLM:
    """A scripted small instruct model.

    Args:
        passages_at_once: the reader says "unknown" when shown more passages than this.
        quotes: "paraphrased" (close, reworded quotes), "invented" (quotes in no source).
        reasoner_knows: False: the reasoner says the evidence does not answer.
        notes: "forgetful": the worker writes notes from its own chunk alone.
        echo: where it would say "unknown", it echoes the instruction's first words instead.
        restate: where it would say "unknown", it names the question's subject ("The jade key").
    """

    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        question = _section(text, "question") or ""
        source = _section(text, "source")
        if source is not None:
            previous = _section(text, "previous_notes") or ""
            found = relevant_sentences(source, question, _names(previous))
            found += [
                s for s in relevant_sentences(source, question, _names(" ".join(found))) if s not in found
            ]
            return " ".join(found) if found else "No relevant information in this part."
        document = _section(text, "document")
        if document is not None:
            if quotes == "invented":
                return "> The answer is given in the section on keys.\n> Codes are secret."
            found = relevant_sentences(document, question)
            found += [
                s for s in relevant_sentences(document, question, _names(" ".join(found))) if s not in found
            ]
            return "\n".join(f"> {paraphrase(s)}" for s in found) or "> NONE"
        evidence = _section(text, "evidence")
        if evidence is not None:
            if not reasoner_knows:
                return "The evidence does not say what the code is."
            return chatty(solve(question, evidence), "evidence")
        notes_text = _section(text, "notes")
        if notes_text is not None:
            return chatty(solve(question, notes_text), "notes")
        passages = _section(text, "passages")
        if passages is not None:
            shown = len(re.findall(r"^\[\d+\] ", passages, re.M)) or 1
            if shown > passages_at_once:
                if restate:
                    return "The " + " ".join(question.rstrip("?").split()[-2:])
                # the instruction's first words, on the line after "Question: ..."
                instruction = text.split("</passages>", 1)[1].strip().splitlines()[1].split()
                return " ".join(instruction[:3]) if echo else "unknown"
            return chatty(solve(question, passages))
        return "unknown"

    return ScriptedLLM(respond, model="instruct-like")


@pytest.fixture(scope="module")
def one_hop():
    return make_needle_task(20_000, hops=1, depths=0.5, seed=31)


def test_rag_rereads_the_best_passages_alone_when_the_model_says_unknown(one_hop):
    llm = instruct_reader()
    result = RAG(llm, embedder="hash").run(one_hop.document, one_hop.question)
    assert result.answer == one_hop.answer  # from "Based on the passage, the answer is X."
    readers = result.trace.by_role("reader")
    assert 2 <= len(readers) <= 4
    # The first call saw all five passages; each re-read saw one of the best, in rank order.
    best = sorted(result.passages, key=lambda p: p.rank)
    for call, passage in zip(readers[1:], best, strict=False):
        shown = call.messages[-1]["content"]
        assert passage.text.strip() in shown and "[2]" not in shown


def test_an_answer_echoing_the_instructions_counts_as_not_knowing(one_hop):
    result = RAG(instruct_reader(echo=True), embedder="hash").run(one_hop.document, one_hop.question)
    first = result.trace.by_role("reader")[0]
    assert first.text.split()[0] in first.messages[-1]["content"].split("</passages>")[1]
    assert result.answer == one_hop.answer and len(result.trace.by_role("reader")) >= 2


def test_a_reply_naming_the_questions_subject_sends_rag_to_reread(one_hop):
    result = RAG(instruct_reader(restate=True), embedder="hash").run(one_hop.document, one_hop.question)
    first = result.trace.by_role("reader")[0].text
    assert first.startswith("The ") and first.split()[-1] in one_hop.question
    assert result.answer == one_hop.answer and len(result.trace.by_role("reader")) >= 2


def test_rtr_falls_back_when_its_answer_comes_from_a_quote_off_the_question(one_hop):
    # The extractor quotes a real sentence of the document that has nothing to do with the
    # question; the reasoner answers from it; the reader, shown the passages, knows better.
    off = "Its implementation is both fast and threadsafe."
    document = f"Some notes on keys. {one_hop.needles[0].text} {off}"
    llm = ScriptedLLM(
        rules=[
            (r"<document>", f"> {off}"),
            (r"<evidence>", "both fast and threadsafe"),
            (r"<passages>", lambda _, messages: chatty(solve(one_hop.question, prompt_text(messages)))),
        ]
    )
    result = RetrieveThenReason(llm, embedder="hash").run(document, one_hop.question)
    assert [e.text for e in result.evidence] == [off]
    assert result.trace.by_role("reasoner")[0].text == "both fast and threadsafe"
    assert result.answer == one_hop.answer and result.trace.by_role("reader")


def test_rag_still_says_unknown_when_no_passage_holds_the_fact(one_hop):
    document = one_hop.document.replace(one_hop.needles[0].text, "")
    result = RAG(instruct_reader(), embedder="hash").run(document, one_hop.question)
    assert result.answer == "unknown" and len(result.trace.by_role("reader")) == 4


def test_full_context_extracts_the_phrase_from_a_chatty_reply():
    doc = "Filler words here. " * 20 + "The secret code for the jade key is ember-1234."
    llm = ScriptedLLM(rules=[(r"<passages>", "Based on the passage, the answer is ember-1234.")])
    answer = FullContext(llm).run(doc, "What is the secret code for the jade key?").answer
    assert answer == "ember-1234" and exact_match(answer, "ember-1234") == 1.0


@pytest.mark.parametrize("size", [3_000, 20_000])  # read whole, and through retrieved passages
def test_rtr_repairs_paraphrased_quotes_to_the_source_sentence(size):
    task = make_needle_task(size, hops=1, depths=0.4, seed=32)
    result = RetrieveThenReason(instruct_reader(), embedder="hash").run(task.document, task.question)
    assert result.answer == task.answer
    needle = task.needles[0]
    assert result.evidence and all(e.match == "repaired" for e in result.evidence)
    ev = next(e for e in result.evidence if e.text == needle.text)
    assert (ev.start, ev.end) == (needle.start, needle.start + len(needle.text))
    # The reasoner saw the source's sentence, not the model's paraphrase.
    reasoner = result.trace.by_role("reasoner")[0].messages[-1]["content"]
    assert needle.text in reasoner and ev.quote not in reasoner
    assert result.trace.by_role("reader") == []


def test_rtr_two_hop_paraphrases_are_both_repaired():
    task = make_needle_task(4_000, hops=2, depths=(0.2, 0.8), seed=33)
    result = RetrieveThenReason(instruct_reader(), embedder="hash").run(task.document, task.question)
    assert result.answer == task.answer
    assert sorted(e.text for e in result.evidence) == sorted(n.text for n in task.needles)


def test_a_paraphrase_that_changes_the_number_is_not_repaired(one_hop):
    thing = one_hop.question.removeprefix("What is the secret code for the ").rstrip("?")
    wrong = f"> the {thing}'s secret code is zephyr-0000"
    llm = ScriptedLLM(rules=[(r"<document>", wrong), (r"<passages>", "unknown")])
    result = RetrieveThenReason(llm, embedder="hash").run(one_hop.document, one_hop.question)
    assert result.evidence == [] and result.dropped[0].quote == wrong[2:]
    # The number was changed: the quote stays dropped, and the reader (not the reasoner) answers.
    assert result.trace.by_role("reasoner") == [] and len(result.trace.by_role("reader")) == 4


def test_rtr_falls_back_to_the_passages_when_every_quote_is_invented(one_hop):
    llm = instruct_reader(quotes="invented")
    result = RetrieveThenReason(llm, embedder="hash").run(one_hop.document, one_hop.question)
    assert result.answer == one_hop.answer
    assert result.evidence == [] and len(result.dropped) == 2
    assert result.trace.by_role("reasoner") == [] and result.trace.by_role("reader")


def test_rtr_falls_back_when_the_reasoner_does_not_know(one_hop):
    llm = instruct_reader(reasoner_knows=False)
    result = RetrieveThenReason(llm, embedder="hash").run(one_hop.document, one_hop.question)
    assert result.answer == one_hop.answer
    assert result.evidence and len(result.trace.by_role("reasoner")) == 1


def test_rtr_is_never_worse_than_rag_with_an_instruct_like_model():
    for seed in range(40, 46):
        task = make_needle_task(12_000, hops=1, depths=0.1 + 0.15 * (seed - 40), seed=seed)
        for llm_options in ({}, {"quotes": "invented"}, {"reasoner_knows": False}):
            rag = RAG(instruct_reader(**llm_options), embedder="hash").run(task.document, task.question)
            rtr = RetrieveThenReason(instruct_reader(**llm_options), embedder="hash").run(
                task.document, task.question
            )
            assert exact_match(rtr.answer, task.answer) >= exact_match(rag.answer, task.answer), (
                seed,
                llm_options,
            )
            assert rtr.answer != "unknown"


def test_coa_keeps_the_bridge_fact_a_forgetful_worker_drops():
    task = make_needle_task(30_000, hops=2, depths=(0.1, 0.9), seed=34)
    result = ChainOfAgents(instruct_reader()).run(task.document, task.question)
    assert result.chunks >= 4
    assert result.answer == task.answer  # "Based on the notes, the answer is X." -> X
    last = result.communication_units[-1]
    assert all(n.text in last for n in task.needles)
    # Chunks with nothing relevant left the notes as they were, not "No relevant information".
    assert not any("No relevant information" in cu for cu in result.communication_units)
