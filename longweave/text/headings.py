"""Which section a piece of text sits in: the trail of Markdown headings above an offset.

A passage cut from a long document often no longer says what it is about: "Set n to 4 for
quartiles (the default)" is about ``statistics.quantiles`` only because the heading above it
says so. Retrieval and reading both do better when each passage carries the headings it sits
under (the "contextual chunk headers" of retrieval practice; Anthropic's "Contextual
Retrieval", 2024, prepends a generated context for the same reason). `Headings` finds the ATX
headings of a text (``#`` to ``######``, as Markdown files have them and as
`longweave.text.html.html_to_text` writes them) and answers, for any offset, the headings in
force there, outermost first.

Deliberately not here: setext headings (a line underlined with ``===``), which are rare in
long documents and ambiguous with tables, and headings guessed from layout (all-caps lines,
numbered lines) in plain text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)
TRAIL_SEPARATOR = " › "
_SECTION = "(Section: "


@dataclass(frozen=True, slots=True)
class Heading:
    """One heading: where its line starts, its level (1 for ``#``) and its title."""

    start: int
    level: int
    title: str


class Headings:
    """The headings of one text, and the trail of them above any offset.

    Example:
        >>> h = Headings("# Guide\\n\\n## Install\\n\\nRun pip.\\n\\n## Use\\n\\nRun it.")
        >>> h.trail(h.text.index("Run pip"))
        ['Guide', 'Install']
        >>> h.label(h.text.index("Run it"))
        'Guide › Use'
    """

    def __init__(self, text: str) -> None:
        self.text = text
        fenced = _fenced_spans(text)
        self.headings = [
            Heading(m.start(), len(m.group(1)), m.group(2).strip())
            for m in _ATX.finditer(text)
            if not _inside(m.start(), fenced)
        ]
        self._starts = [h.start for h in self.headings]
        # The trail in force after each heading, so a lookup is one bisect.
        self._trails: list[tuple[Heading, ...]] = []
        trail: list[Heading] = []
        for h in self.headings:
            trail = [t for t in trail if t.level < h.level] + [h]
            self._trails.append(tuple(trail))

    def trail(self, offset: int, *, before: bool = False) -> list[str]:
        """Titles of the headings in force at `offset`, outermost first.

        Args:
            before: leave out a heading whose line starts exactly at `offset` (a passage that
                begins with its own heading shows it already).
        """
        i = bisect_right(self._starts, offset - 1 if before else offset)
        return [h.title for h in self._trails[i - 1]] if i else []

    def label(self, offset: int, *, before: bool = False, last: int = 3) -> str:
        """The trail at `offset` as one line, its `last` innermost headings joined by " › "."""
        return TRAIL_SEPARATOR.join(self.trail(offset, before=before)[-last:])


def on_heading_line(text: str, offset: int) -> bool:
    """Whether `offset` falls on a heading line of `text` (``#`` to ``######``).

    Example:
        >>> text = "## f(x)\\n\\nDoes things."
        >>> on_heading_line(text, 4), on_heading_line(text, text.index("Does"))
        (True, False)
    """
    return _ATX.match(text, text.rfind("\n", 0, offset) + 1) is not None


def section_line(heading: str) -> str:
    """How a reader is told the section a passage or quote sits in: ``(Section: heading)``."""
    return f"{_SECTION}{heading})"


def without_section_lines(text: str) -> str:
    """`text` less every `section_line` in it (and the line break or space after one).

    A model may copy a section line into a quote, which then matches nothing in the source;
    and a quote's own words, not its section, tell whether it bears on a question. Headings
    may hold parentheses ("shutil.rmtree(path, onerror=None)"), so each line is matched by
    counting them.

    Example:
        >>> without_section_lines("(Section: A › f(x)) Deletes a tree (all of it).")
        'Deletes a tree (all of it).'
    """
    out, i = [], 0
    while (at := text.find(_SECTION, i)) >= 0:
        depth, j = 0, at
        while j < len(text) and text[j] != "\n":
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        if depth:  # not closed on its line: not one of ours
            out.append(text[i : at + 1])
            i = at + 1
            continue
        out.append(text[i:at])
        i = j + 1 if j < len(text) and text[j] in " \n" else j
    out.append(text[i:])
    return "".join(out)


def _fenced_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each fenced code block, so a "# comment" in code is not a heading."""
    marks = [m.start() for m in _FENCE.finditer(text)]
    spans = [(a, b) for a, b in zip(marks[0::2], marks[1::2], strict=False)]
    if len(marks) % 2:  # an unclosed fence runs to the end
        spans.append((marks[-1], len(text)))
    return spans


def _inside(offset: int, spans: list[tuple[int, int]]) -> bool:
    i = bisect_right(spans, (offset, len(spans) and spans[-1][1]))  # spans are sorted, disjoint
    return bool(i) and spans[i - 1][0] <= offset < spans[i - 1][1]


__all__ = [
    "TRAIL_SEPARATOR",
    "Heading",
    "Headings",
    "on_heading_line",
    "section_line",
    "without_section_lines",
]
