import asyncio

from longweave.agents.citation_checker import CitationChecker
from longweave.agents.citations import CitationRules, CorpusMap
from longweave.llm import ScriptedLLM
from longweave.prompts import load_prompt
from longweave.text.documents import Corpus, Document

CORPUS = Corpus.from_documents(
    [
        Document("reports/q3.txt", "Intro.\n\nThe Orla harbour moved 4,812 tonnes in 2024."),
        Document("reports/q4.txt", "The Orla cranes lift 40 tonnes each."),
    ]
)


def checker(replies, max_revisions=1):
    llm = ScriptedLLM(replies)
    rules = CitationRules(CorpusMap(CORPUS))
    return llm, CitationChecker(llm, rules, load_prompt("citation_reviser"), max_revisions=max_revisions)


def run(c, text):
    return asyncio.run(c.check(text, "[reports/q3.txt, ¶2] The Orla harbour moved 4,812 tonnes in 2024."))


def test_failing_citations_leave_a_sentence_whose_other_citation_holds():
    llm, c = checker([])
    out = run(c, "The Orla harbour moved 4,812 tonnes [q3.txt, ¶2; reports/q4.txt, ¶1]. A note [sic].")
    assert out.text == "The Orla harbour moved 4,812 tonnes [reports/q3.txt, ¶2]. A note [sic]."
    assert [c.verified for c in out.citations] == [True, False] and out.uncited == 1
    assert not llm.calls and not out.dropped


def test_a_failing_claim_is_revised_once_then_dropped_and_nothing_is_lost():
    text = "The cranes moved 4,812 tonnes [reports/q4.txt, ¶1].\n\nOrla cranes lift 41 tonnes [q4.txt, ¶1]."
    llm, c = checker(
        ["The Orla harbour moved 4,812 tonnes [reports/q3.txt, ¶2].", "Orla cranes lift 41 tonnes."]
    )
    out = run(c, text)
    assert out.text == "The Orla harbour moved 4,812 tonnes [reports/q3.txt, ¶2]."
    assert out.revised == 1 and len(out.dropped) == 1
    dropped = out.dropped[0]
    assert (
        dropped["sentence"].startswith("Orla cranes lift 41")
        and "does not contain 41" in dropped["reasons"][0]
    )
    assert "does not contain 4,812" in llm.prompts[0]  # the model is told what was wrong
    assert len(llm.calls) == 2  # one revision each, no more


def test_a_reply_of_drop_drops_the_sentence():
    llm, c = checker(["DROP"], max_revisions=3)
    out = run(c, "Made up [ghost.txt, ¶1].")
    assert out.text == "" and out.dropped[0]["reasons"] == ["no such file in the corpus"]
    assert len(llm.calls) == 1
