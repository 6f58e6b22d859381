"""Passages carry the headings they sit under, so a paragraph that does not name its subject
can still be read for it (issue 15: "Delete an entire directory tree" under the entry
``shutil.rmtree(...)``, cut apart by the chunker)."""

import asyncio
import re

from longweave.agents.reasoner import reason_over_evidence
from longweave.llm import ScriptedLLM
from longweave.llm.scripted import prompt_text
from longweave.memory import RAGIndex
from longweave.memory.embedders import HashingEmbedder
from longweave.memory.passage_index import Passage, section_at
from longweave.pipelines import RAG, RetrieveThenReason
from longweave.prompts import load_prompt
from longweave.text.headings import without_section_lines


def llm_reason(llm, quotes, query):
    return asyncio.run(
        reason_over_evidence(llm, load_prompt("reasoner"), quotes=quotes, query=query, max_tokens=32)
    )


FILLER = " ".join(f"Line {i} of the reference says nothing in particular about trees." for i in range(60))
DOC = (
    "# filetools reference\n\n## Directory operations\n\n"
    f"### filetools.prune(path)\n\n{FILLER}\n\nDelete an entire directory tree, and every file in it.\n\n"
    f"### filetools.touch(path)\n\n{FILLER}\n\nCreate an empty file.\n"
)
QUESTION = "Which filetools function deletes an entire directory tree?"


def retrieving_rtr(respond) -> RetrieveThenReason:
    """RetrieveThenReason with a window too small for DOC whole, so it reads 3 retrieved passages."""
    return RetrieveThenReason(
        ScriptedLLM(respond),
        embedder=HashingEmbedder(256),
        chunk_tokens=64,
        index_cache=False,
        top_k=3,
        window=600,
        quote_tokens=64,
    )


def section_reader() -> ScriptedLLM:
    """Answers with the function named in the section line of the passage that holds the fact,
    as a reader must when the passage's own words do not name it; "unknown" otherwise."""

    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "<evidence>" in text:
            m = re.search(r"\(Section: (?:[^)]*› )?(filetools\.\w+)\([^)]*\)\) Delete an entire", text)
        else:
            m = re.search(
                r"\(Section: [^\n]*?(filetools\.\w+)\(path\)\)\n(?:[^\[]*\n)?Delete an entire", text
            )
        return m[1] if m else "unknown"

    return ScriptedLLM(respond, model="section-reader")


def test_passages_know_their_headings_and_keep_them_through_save(tmp_path):
    index = RAGIndex.build(DOC, embedder=HashingEmbedder(256), chunk_tokens=64, index_cache=False)
    holding = next(p for p in index.passages if "Delete an entire" in p.text)
    assert "filetools.prune" not in holding.text  # the chunker cut it from its heading
    assert holding.heading == "filetools reference › Directory operations › filetools.prune(path)"
    assert holding.shown.startswith(f"(Section: {holding.heading})\n")
    assert RAGIndex.load(index.save(tmp_path / "idx")).passages == index.passages
    # A passage that opens with its own heading does not repeat it in its section line.
    assert index.passages[0].text.startswith("# filetools reference") and index.passages[0].heading == ""


def test_rag_reads_the_section_line_of_a_passage():
    result = RAG(section_reader(), embedder=HashingEmbedder(256), chunk_tokens=64, index_cache=False).run(
        DOC, QUESTION
    )
    assert result.answer == "filetools.prune"


def test_rtr_shows_the_reasoner_where_each_quote_was_found():
    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "<evidence>" in text:
            return section_reader().complete_sync(text).text
        # The extractor copies the section line along with the sentence, as small models do.
        line = re.search(r"\(Section: [^\n]*prune[^\n]*\)", text)
        return f"> {line[0]}\n> Delete an entire directory tree, and every file in it." if line else "> NONE"

    result = retrieving_rtr(respond).run(DOC, QUESTION)
    assert [e.text for e in result.evidence] == ["Delete an entire directory tree, and every file in it."]
    assert result.answer == "filetools.prune" and not result.trace.by_role("reader")


def test_section_helpers():
    p = Passage("intro\n\n## Inner\n\nbody", 100, 121, heading="Top › Outer")
    assert section_at([p], 102) == "Outer" and section_at([p], 118) == "Inner" and section_at([p], 5) == ""
    assert without_section_lines("(Section: A › B)\ntext") == "text"
    # Headings hold parentheses; the text after a section line may too.
    assert without_section_lines("(Section: f(x, y=None)) Deletes (all).") == "Deletes (all)."
    assert without_section_lines("(Section: not closed\nnext") == "(Section: not closed\nnext"


def test_a_quote_judged_off_topic_by_its_own_words_not_its_section():
    # The 1.5B model's s05 miss: asked for the period of the random module's generator, it quoted
    # "The underlying implementation in C is both fast and threadsafe."; the section line names
    # the random module, but the quote itself shares no word with the question.
    quote = "(Section: random — Generate pseudo-random numbers) It is both fast and threadsafe."
    llm = ScriptedLLM(lambda messages: "both fast and threadsafe")
    answer = llm_reason(llm, [quote], "What is the period of the random module's core generator?")
    assert answer == "unknown"


def test_rtr_over_a_whole_document_also_tells_the_reasoner_the_section():
    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "<evidence>" in text:
            return section_reader().complete_sync(text).text
        return "> Delete an entire directory tree, and every file in it."

    result = RetrieveThenReason(ScriptedLLM(respond), embedder=HashingEmbedder(256)).run(DOC, QUESTION)
    assert result.chunks == 1 and result.answer == "filetools.prune"


def test_rtr_reads_the_passages_when_only_headings_were_quoted():
    # The extractor quotes two signatures and no sentence; the reasoner would guess between them.
    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "<evidence>" in text:
            return "filetools.touch"
        if "<document>" in text:
            return "> filetools.prune(path)\n> filetools.touch(path)"
        return section_reader().complete_sync(text).text

    result = retrieving_rtr(respond).run(DOC, QUESTION)
    assert not result.evidence and {d.reason for d in result.dropped} == {"only headings quoted"}
    assert result.answer == "filetools.prune" and result.trace.by_role("reader")
