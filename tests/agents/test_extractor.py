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
