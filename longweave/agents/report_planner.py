"""The report planner: sections planned from the request *and* what the corpus holds.

AgentWrite's planner (LongWriter, Bai et al., 2024, step I; ``agents/planner.py``) plans from
the instruction alone. A report must follow its sources, so here the planner is shown an
overview of the corpus (each file's name and opening words, within a token budget) beside the
request. When the model cannot plan (a small base model rarely can), the fallback plan is made
from the corpus too: an introduction, body sections that each take a share of the files in
order (titled by their first file's opening line, with a point that names the files' openings,
so retrieval for the section finds them), and a conclusion.

Deliberately not here: retrieval and writing (``pipelines/report.py``), plan parsing
(``agents/planner.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from longweave.agents.plan import WORDS_PER_SECTION, Section, normalize_plan, render_plan
from longweave.agents.planner import Planner, PlanOutcome
from longweave.llm import Trace
from longweave.llm.usage import record_event
from longweave.text.documents import Corpus

DEFAULT_REPORT_WORDS = 1500


def _opening(text: str, words: int) -> str:
    found = re.findall(r"\S+", text[: 40 * words])[:words]
    return " ".join(w.lstrip("#*>") for w in found if w.lstrip("#*>")).strip()


def corpus_overview(corpus: Corpus, count_tokens: Callable[[str], int], budget_tokens: int = 1200) -> str:
    """One line per file, ``- name: opening words``, shortened to fit `budget_tokens`."""
    names = [s.name for s in corpus.sources]
    texts = [corpus.text[s.start : s.end] for s in corpus.sources]
    for words in (30, 15, 8):
        lines = [f"- {n}: {_opening(t, words)}" for n, t in zip(names, texts, strict=True)]
        if count_tokens("\n".join(lines)) <= budget_tokens:
            return "\n".join(lines)
    shown, used = [], 0
    for line in lines:
        cost = count_tokens(line) + 1
        if used + cost > budget_tokens - 20:
            break
        shown.append(line)
        used += cost
    return "\n".join(shown + [f"- ... and {len(lines) - len(shown)} more files"])


def corpus_plan(instruction: str, corpus: Corpus, target_words: int) -> list[Section]:
    """A plan made without the model, from the files of the corpus (see the module docstring)."""
    names = [s.name for s in corpus.sources]
    texts = [corpus.text[s.start : s.end] for s in corpus.sources]
    n = max(1, round(target_words / WORDS_PER_SECTION))
    body = max(1, min(len(names), n - 2 if n >= 3 else n))
    subject = " ".join(instruction.split())[:200]
    groups = [list(range(len(names)))[k::body] for k in range(body)]
    groups = [sorted(g) for g in groups if g]
    sections = []
    if n >= 3:
        sections.append(Section("Introduction", f"What the sources cover, for: {subject}"))
    for g in groups:
        title = _opening(texts[g[0]], 8) or names[g[0]]
        what = "; ".join(f"{names[i]} ({_opening(texts[i], 12)})" for i in g[:6])
        sections.append(Section(title, f"What the sources say about {title}: {what}"))
    if n >= 3:
        sections.append(Section("Conclusion", f"What the sources show together, for: {subject}"))
    return normalize_plan(sections, target_words, min_section_words=min(200, target_words))


class ReportPlanner:
    """Plans a report from the request and a corpus overview; falls back to `corpus_plan`.

    Args:
        planner: AgentWrite's `Planner`, built with the "report_planner" prompt.
        overview_tokens: the overview's budget in the planning prompt (default 1200).
    """

    def __init__(self, planner: Planner, *, overview_tokens: int = 1200) -> None:
        self.planner = planner
        self.overview_tokens = overview_tokens

    async def plan(
        self, instruction: str, corpus: Corpus, target_words: int, *, trace: Trace | None = None
    ) -> PlanOutcome:
        overview = corpus_overview(corpus, self.planner.llm.count_tokens, self.overview_tokens)
        request = (
            f"{instruction}\n\nThe source documents ({len(corpus.sources)} files) open with:\n{overview}"
        )
        outcome = await self.planner.plan(request, target_words, trace=trace)
        if outcome.source == "fallback":  # AgentWrite's derived plan knows nothing of the corpus
            sections = corpus_plan(instruction, corpus, target_words)
            record_event(
                trace, "planner", "corpus_plan", render_plan(sections), reason="the model did not plan"
            )
            outcome = PlanOutcome(sections, "fallback", target_words, outcome.problems)
        return outcome


__all__ = ["DEFAULT_REPORT_WORDS", "ReportPlanner", "corpus_overview", "corpus_plan"]
