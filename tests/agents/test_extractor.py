from longweave.agents.extractor import DroppedQuote, Evidence, QuoteVerifier, parse_quotes

SOURCE = "Intro text here.\n\nThe  amber lantern is kept by Zorvath. Other things happened after that day."


def verify(quote):
    return QuoteVerifier([(SOURCE, 100)]).verify(quote)


def test_exact_quote_gets_its_position_in_the_source():
    ev = verify("Other things happened after that day.")
    assert isinstance(ev, Evidence) and ev.match == "exact"
    assert SOURCE[ev.start - 100 : ev.end - 100] == "Other things happened after that day."


def test_case_and_whitespace_differences_are_normalised():
    ev = verify("the amber lantern is KEPT by Zorvath.")
    assert ev.match == "normalized" and ev.text == "The  amber lantern is kept by Zorvath."


def test_small_slips_match_fuzzily_but_names_cannot_change():
    ev = verify("Other things happend after that day")
    assert isinstance(ev, Evidence) and ev.match == "fuzzy" and ev.score >= 0.9
    dropped = verify("The amber lantern is kept by Mara.")
    assert isinstance(dropped, DroppedQuote) and "mara" in dropped.reason


def test_fabrications_are_dropped():
    dropped = verify("The silver key is kept by Mara.")
    assert isinstance(dropped, DroppedQuote) and dropped.score < 0.9


def test_parse_quotes_reads_marked_lines_and_ignores_none():
    assert parse_quotes('Quotes:\n> "The a b."\n> NONE\n> The a b.\nchatter') == ["The a b."]
    assert parse_quotes("1. First one.\n- Second one.") == ["First one.", "Second one."]
    assert parse_quotes("> NONE") == []


DOCS = (
    "heapq.heappop(heap)\n\nPop and return the smallest item from the heap, maintaining the heap\n"
    "invariant. If the heap is empty, IndexError is raised. To access the\nsmallest item without "
    "popping it, use heap[0].\n\nheapq.heapify(x)\n\nTransform list x into a heap, in-place, in linear time."
)


def test_a_paraphrased_quote_is_repaired_to_the_source_sentence():
    verifier = QuoteVerifier([(DOCS, 40)], repair=0.6)
    ev = verifier.verify("If the heap is empty, heappop raises an IndexError")
    assert isinstance(ev, Evidence) and ev.match == "repaired" and ev.score >= 0.6
    assert ev.text == "If the heap is empty, IndexError is raised."
    assert DOCS[ev.start - 40 : ev.end - 40] == ev.text


def test_repair_is_off_by_default_and_keeps_names_and_numbers():
    quote = "If the heap is empty, heappop raises an IndexError"
    assert isinstance(QuoteVerifier([(DOCS, 0)]).verify(quote), DroppedQuote)
    verifier = QuoteVerifier([(DOCS, 0)], repair=0.6)
    assert isinstance(verifier.verify("If the heap is empty, heappop raises a ValueError"), DroppedQuote)
    assert isinstance(verifier.verify("Transform list x into a heap in 3 steps"), DroppedQuote)
    assert isinstance(verifier.verify("Sorting is stable in Python."), DroppedQuote)  # unrelated


def test_parse_quotes_drops_copied_passage_markers():
    assert parse_quotes("> [2] If the heap is empty.\n> Passage 3: Transform list x.") == [
        "If the heap is empty.",
        "Transform list x.",
    ]
