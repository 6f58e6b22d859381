"""What a report section is shown and cites: its passages, labelled by paragraph.

A section's passages are retrieved twice, for its own title and point and for the request
(leaving out passages earlier sections were given, so the request's evidence spreads over the
report), merged by rank, and cut to a token budget; each becomes one entry per paragraph it
covers, so a citation names its own ``[source, ¶N]``.

Deliberately not here: checking citations (``agents/citations.py``) and the index itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from longweave.agents.citations import CorpusMap
from longweave.agents.planner import Section

_CITATION = re.compile(r"\s?\[[^\[\]\n]*,[^\[\]\n]*\]")


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


def strip_citations(text: str) -> str:
    """`text` without its ``[source, location]`` citations (what word counts count)."""
    return _CITATION.sub("", text)


def location_key(location: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", location)) or (0,)


__all__ = ["location_key", "render_passages", "select_passages", "strip_citations"]
