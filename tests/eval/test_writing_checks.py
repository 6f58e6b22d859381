from longweave.eval.writing_checks import language_share, prompt_echoes, repeated_passages


def test_prompt_echoes_finds_our_wording_and_plan_lines_but_not_prose():
    text = (
        "## Harbors\n\nThe harbor woke at dawn. This section continues from where it stops, with about "
        "968 more words.\n3. The storm (400 words): waves\n\nOutput only the prose of this section: no "
        "title. Gulls cried over the pier."
    )
    found = prompt_echoes(text)
    assert len(found) == 3 and not any("harbor woke" in f or "Gulls" in f for f in found)
    assert prompt_echoes("The keeper lit the lamp. The ship came home.") == []


def test_repeated_passages_finds_sentences_and_headings_written_twice():
    once = "The keeper lit the lamp before the storm came in."
    text = f"## One\n\n{once} A gull cried.\n\n## One\n\n{once} Rain fell on the old stone wall at night."
    assert repeated_passages(text) == ["# One", "the keeper lit the lamp before the storm came in"]
    assert repeated_passages("A gull cried. A gull cried.") == []  # too short to count


def test_language_share_by_script_and_function_words():
    assert language_share("杭州西湖的春天很美。", "zh") == 1.0
    assert language_share("The lake is lovely in spring.", "zh") == 0.0
    assert language_share("Der See ist im Frühling schön und die Luft ist klar.", "de") > 0.9
    assert language_share("The lake is lovely and the air is clear.", "de") == 0.0
