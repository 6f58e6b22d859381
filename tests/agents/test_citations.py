import pytest

from longweave.agents.citations import CitationRules, CorpusMap, parse_sentence, split_sentences, supports
from longweave.text.documents import Corpus, Document

TEXT = (
    "Harbour report.\n\nThe Orla harbour moved 4,812 tonnes in 2024.\nIt was a record.\n\n  \n\n"
    "Cranes: three."
)


@pytest.fixture
def cmap():
    docs = [
        Document("reports/q3.txt", TEXT),
        Document("notes/q3.txt", "Other text."),
        Document("a.md", "Alpha."),
    ]
    return CorpusMap(Corpus.from_documents(docs))


def test_paragraphs_lines_and_chars_point_into_the_right_file(cmap):
    text = cmap.corpus.text
    spans = [text[a:b] for a, b in cmap.paragraphs("reports/q3.txt")]
    assert spans == [
        "Harbour report.",
        "The Orla harbour moved 4,812 tonnes in 2024.\nIt was a record.",
        "Cranes: three.",
    ]
    a, b = cmap.span("reports/q3.txt", "¶2")
    assert text[a:b] == spans[1]
    a, b = cmap.span("reports/q3.txt", "¶1-3")
    assert text[a:b].startswith("Harbour") and text[a:b].endswith("three.")
    a, b = cmap.span("reports/q3.txt", "lines 3-4")
    assert text[a:b] == spans[1]
    a, b = cmap.span("a.md", "chars 0-5")
    assert text[a:b] == "Alpha"
    assert "has 3 paragraphs" in cmap.span("reports/q3.txt", "¶4")
    assert "not of the form" in cmap.span("reports/q3.txt", "page two")


def test_source_names_resolve_exactly_by_case_or_by_unique_suffix(cmap):
    assert cmap.resolve("reports/q3.txt") == "reports/q3.txt"
    assert cmap.resolve("Reports/Q3.txt") == "reports/q3.txt"
    assert cmap.resolve("md") is None and cmap.resolve("a.md") == "a.md"
    assert cmap.resolve("q3.txt") is None  # two files end so: ambiguous, not guessed


def test_sentences_keep_their_citations_and_claims_lose_them():
    text = (
        'Orla moved 4,812 tonnes [reports/q3.txt, ¶2]. It was "a record". [q3.txt, ¶2; a.md, ¶1] Done [sic].'
    )
    sentences = split_sentences(text)
    assert sentences == [
        "Orla moved 4,812 tonnes [reports/q3.txt, ¶2].",
        'It was "a record". [q3.txt, ¶2; a.md, ¶1]',
        "Done [sic].",
    ]
    first, second, third = map(parse_sentence, sentences)
    assert first.claim == "Orla moved 4,812 tonnes." and first.cited[0][1:] == ("reports/q3.txt", "¶2")
    assert [c[1:] for c in second.cited] == [("q3.txt", "¶2"), ("a.md", "¶1")]
    assert third.cited == [] and third.claim == "Done [sic]."


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("The Orla harbour moved 4,812 tonnes.", None),
        ("Orla's harbour moved 4812 tonnes in 2024.", None),
        ('The harbour called it "a record".', None),
        ("The Orla harbour moved 4,813 tonnes.", "does not contain 4,813"),
        ("The Kessel harbour moved 4,812 tonnes.", "does not name Kessel"),
        ('The harbour called it "a disaster".', "quoted text"),
        ("Shipping volumes fell sharply during storms.", "shares 0 of"),
    ],
)
def test_support_is_strict_on_numbers_names_and_quotes(claim, reason):
    passage = "The Orla harbour moved 4,812 tonnes in 2024.\nIt was a record."
    found = supports(claim, passage)
    assert found is None if reason is None else reason in found


def test_rules_check_each_citation_of_a_sentence(cmap):
    rules = CitationRules(cmap)
    sentence = parse_sentence(
        "The Orla harbour moved 4,812 tonnes "
        "[reports/q3.txt, ¶2; reports/q3.txt, ¶1; ghost.txt, ¶1; a.md, ¶9]."
    )
    checks = rules.check(sentence, section=3)
    assert [c.verified for c in checks] == [True, False, False, False]
    good = checks[0]
    assert good.passage == cmap.corpus.text[good.start : good.end] and "4,812" in good.passage
    assert good.section == 3 and good.label == "[reports/q3.txt, ¶2]"
    assert "does not contain 4,812" in checks[1].reason
    assert checks[2].reason == "no such file in the corpus"
    assert "a.md has 1 paragraphs" in checks[3].reason
