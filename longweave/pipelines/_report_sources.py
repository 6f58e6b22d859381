"""What a report is made of: each section's passages, labelled by paragraph, its bibliography,
and the `ReportResult` they add up to.

A section's passages are retrieved twice, for its own title and point and for the request
(leaving out passages earlier sections were given, so the request's evidence spreads over the
report), merged by rank, and cut to a token budget; each becomes one entry per paragraph it
covers, so a citation names its own ``[source, ¶N]``.

Deliberately not here: checking citations (``agents/citations.py``) and the index itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from longweave.agents.citations import Citation, CorpusMap
from longweave.agents.plan import Section
from longweave.pipelines.base import Result

_CITATION = re.compile(r"\s?\[[^\[\]\n]*,[^\[\]\n]*\]")


@dataclass
class ReportResult(Result):
    """What a report run produced.

    Attributes:
        text: the report in Markdown: a ``##`` heading per section, then ``## Sources``.
        citations: every citation checked, in order (`Citation`: source, location, passage,
            claim, verified, reason); those with ``verified`` are the ones in `text`.
        plan: the sections as dicts (title, point, words); ``plan_source`` as AgentWrite's.
        sections: each section's final text, without its heading.
        dropped: sentences removed because no citation held (``{"section", "sentence", "reasons"}``).
        bibliography: the sources cited, ``[{"source", "locations"}]``, in order of first citation.
        sources: the corpus's file names; ``skipped``: files a folder walk could not read.
        target_words / words: the length asked for and written (citations and bibliography
            not counted; the writer's length control counts citations, so prose runs a little short).
        passages: how many passages the corpus was indexed in.
        run_id / resumed: as for AgentWrite.
    """

    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    plan: list[dict] = field(default_factory=list)
    plan_source: str = ""
    sections: list[str] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    bibliography: list[dict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    target_words: int = 0
    words: int = 0
    passages: int = 0
    run_id: str = ""
    resumed: bool = False

    @property
    def verified(self) -> list[Citation]:
        """The citations that hold (those in the text)."""
        return [c for c in self.citations if c.verified]

    @property
    def uncited_sections(self) -> list[int]:
        """The sections (0-based) left without a citation that holds: they state nothing the
        corpus was shown to support. A report where this is every section is not a success."""
        held = {c.section for c in self.verified}
        return [i for i in range(len(self.plan)) if i not in held]


def select_passages(
    index,
    corpus_map: CorpusMap,
    instruction: str,
    section: Section,
    used: set[int],
    *,
    top_k: int,
    budget: int,
    count_tokens: Callable[[str], int],
) -> list[dict]:
    """The paragraph entries shown when writing `section`: best first, within `budget` tokens.

    `used` holds the start offsets of passages earlier sections were given.
    """
    asked = index.search(f"{instruction}\n{section.title}", top_k + len(used))
    found = _interleave(
        index.search(f"{section.title}: {section.point}", top_k),
        [p for p in asked if not used & set(range(p.start, p.end))][:top_k],
    )
    kept, spent = [], 0
    for p in found[:top_k]:
        cost = count_tokens(p.text)
        if kept and spent + cost > budget:
            continue
        kept.append(p)
        spent += cost
    return [entry for p in kept for entry in _paragraph_entries(corpus_map, p)]


def _interleave(*rankings: list) -> list:
    """Ranked lists merged by rank (first of each, then second...), each passage once."""
    out, seen = [], set()
    for rank in range(max(map(len, rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking) and ranking[rank].start not in seen:
                seen.add(ranking[rank].start)
                out.append(ranking[rank])
    return out


def _paragraph_entries(corpus_map: CorpusMap, passage) -> list[dict]:
    """A retrieved passage as one entry per paragraph it covers, so each cites its own ``¶N``."""
    text = corpus_map.corpus.text
    out = []
    for n, (a, b) in enumerate(corpus_map.paragraphs(passage.source), 1):
        start, end = max(a, passage.start), min(b, passage.end)
        if start < end and text[start:end].strip():
            out.append({"source": passage.source, "location": f"¶{n}", "start": start, "end": end,
                        "text": text[start:end], "score": round(passage.score, 4)})  # fmt: skip
    return out


def render_passages(passages: list[dict]) -> str:
    """Passages for a prompt, each after its citation: ``[source, ¶N] text``."""
    return "\n\n".join(f"[{p['source']}, {p['location']}] {' '.join(p['text'].split())}" for p in passages)


def bibliography(citations: Iterable[dict]) -> list[dict]:
    """The sources the verified `citations` (stored dicts) cite: ``[{"source", "locations"}]``,
    in order of first citation, each source's locations in document order."""
    entries: dict[str, list[str]] = {}
    for c in citations:
        if c["verified"]:
            locations = entries.setdefault(c["source"], [])
            if c["location"] not in locations:
                locations.append(c["location"])
    return [{"source": s, "locations": sorted(locs, key=location_key)} for s, locs in entries.items()]


def strip_citations(text: str) -> str:
    """`text` without its ``[source, location]`` citations (what word counts count)."""
    return _CITATION.sub("", text)


def location_key(location: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", location)) or (0,)


__all__ = [
    "ReportResult",
    "bibliography",
    "location_key",
    "render_passages",
    "select_passages",
    "strip_citations",
]
