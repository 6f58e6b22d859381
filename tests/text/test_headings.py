from longweave.text.headings import Headings


def test_the_trail_follows_levels_up_and_down():
    text = "# Guide\n\n## Install\n\npip.\n\n### Linux\n\napt.\n\n## Use\n\nrun.\n\n# Appendix\n\nmore."
    h = Headings(text)
    assert h.trail(text.index("pip.")) == ["Guide", "Install"]
    assert h.trail(text.index("apt.")) == ["Guide", "Install", "Linux"]
    assert h.trail(text.index("run.")) == ["Guide", "Use"]  # a sibling replaces the deeper ones
    assert h.trail(text.index("more.")) == ["Appendix"]
    assert h.trail(0) == ["Guide"] and h.trail(0, before=True) == []


def test_before_leaves_out_a_heading_that_starts_at_the_offset():
    text = "# A\n\n## B\n\nbody"
    h = Headings(text)
    assert h.trail(text.index("## B"), before=True) == ["A"]
    assert h.label(text.index("body")) == "A › B"


def test_text_without_headings_or_with_hashes_elsewhere_has_no_trail():
    text = "Plain text.\n#hashtag is not a heading\n```\n# nor is code\n```\n    ## nor indented code\nEnd."
    assert Headings(text).headings == []
    assert Headings(text).label(len(text) - 1) == ""


def test_closing_hashes_and_an_unclosed_fence():
    h = Headings("## Title ##\n\ntext\n```\n# inside\n")
    assert [x.title for x in h.headings] == ["Title"]
