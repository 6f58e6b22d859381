"""The citation checker: every cited sentence of a section is checked, and fixed or dropped.

A section comes back from the writer with ``[source, location]`` citations. Each sentence's
citations are checked by `CitationRules` (the passage exists in the corpus and supports the
claim; see ``agents/citations.py``), optionally confirmed by the model as a judge. Then:

- a sentence whose citations all hold is kept, its sources written as the corpus names them;
- a sentence with some failing citations keeps the ones that hold and loses the others;
- a sentence none of whose citations hold is sent back to the model with the passages and
  the reason, to be rewritten from them or dropped (``DROP``); the rewrite is checked again,
  at most ``max_revisions`` times, and a sentence that still fails is dropped.

Nothing is lost silently: every checked citation (held or failed) and every dropped sentence
with its reasons is returned. Sentences without citations (transitions, framing) are kept and
counted as ``uncited``.

Deliberately not here: retrieval and writing (the pipeline's), and citation syntax and the
support rule (``agents/citations.py``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from longweave.agents.citations import Citation, CitationRules, Sentence, parse_sentence, split_sentences
from longweave.llm import LLM, Trace
from longweave.prompts import PromptTemplate

_BRACKET = re.compile(r"\s?\[([^\[\]\n]{2,300})\]")
_DROP = re.compile(r"^\W*drop\b", re.I)


@dataclass(slots=True)
class Checked:
    """A section after checking.

    Attributes:
        text: the section with only citations that hold (and sentences without any).
        citations: every citation checked, in order; those with ``verified`` are in `text`.
        dropped: sentences removed, each ``{"sentence", "reasons"}``.
        revised: sentences rewritten by the model and kept.
        uncited: sentences kept that cite nothing.
    """

    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    revised: int = 0
    uncited: int = 0


class CitationChecker:
    """Checks a section's citations; revises (bounded) or drops the claims that fail.

    Args:
        llm: the model (for revisions, and judging when `judge` is set).
        rules: the code check.
        revise_prompt: variables passages, sentence, problem.
        judge_prompt: variables passage, claim; used only when `judge` is True.
        max_revisions: rewrites asked per failing sentence before it is dropped (default 1).
        judge: also ask the model whether each passage that passes the rules supports its
            claim ("no" fails it). Off by default: the rule is cheaper and cannot be talked round.
    """

    def __init__(
        self,
        llm: LLM,
        rules: CitationRules,
        revise_prompt: PromptTemplate,
        judge_prompt: PromptTemplate | None = None,
        *,
        max_revisions: int = 1,
        judge: bool = False,
    ) -> None:
        self.llm = llm
        self.rules = rules
        self.revise_prompt = revise_prompt
        self.judge_prompt = judge_prompt
        self.max_revisions = max_revisions
        self.judge = judge and judge_prompt is not None

    async def check(
        self, text: str, passages: str, *, section: int = -1, trace: Trace | None = None
    ) -> Checked:
        """Check `text` (one section) whose writer was shown `passages` (rendered, with labels)."""
        out = Checked("")
        paragraphs = [split_sentences(p) for p in re.split(r"\n\s*\n", text) if p.strip()]
        slots: list[list[str | None]] = [[None] * len(p) for p in paragraphs]
        pending = []
        for pi, sentences in enumerate(paragraphs):
            for si, raw in enumerate(sentences):
                sentence = parse_sentence(raw)
                if not sentence.cited:
                    slots[pi][si] = raw
                    out.uncited += 1
                    continue
                checks = await self._checks(sentence, section, trace)
                out.citations.extend(checks)
                kept = _keep(sentence, checks)
                if kept is not None:
                    slots[pi][si] = kept
                else:
                    pending.append((pi, si, sentence, checks))
        fixed = await asyncio.gather(
            *(self._revise(s, checks, passages, section, trace) for _, _, s, checks in pending)
        )
        for (pi, si, sentence, checks), (kept, tried) in zip(pending, fixed, strict=True):
            out.citations.extend(tried)
            if kept is None:
                reasons = [c.reason for c in checks] + [c.reason for c in tried if not c.verified]
                out.dropped.append({"sentence": sentence.text, "reasons": list(dict.fromkeys(reasons))})
            else:
                slots[pi][si] = kept
                out.revised += 1
        out.text = "\n\n".join(" ".join(s for s in para if s) for para in slots if any(s for s in para))
        return out

    async def _checks(self, sentence: Sentence, section: int, trace: Trace | None) -> list[Citation]:
        checks = self.rules.check(sentence, section)
        if self.judge:
            for c in checks:
                if c.verified and not await self._judge(c, trace):
                    c.verified, c.reason = False, "the model as judge found no support in the passage"
        return checks

    async def _judge(self, citation: Citation, trace: Trace | None) -> bool:
        assert self.judge_prompt is not None
        reply = await self.llm.complete(
            self.judge_prompt.render(passage=citation.passage, claim=citation.claim),
            role="citation_judge",
            trace=trace,
            max_tokens=8,
            temperature=0.0,
        )
        return not re.match(r"^\W*no\b", reply.text.strip(), re.I)

    async def _revise(
        self, sentence: Sentence, checks: list[Citation], passages: str, section: int, trace: Trace | None
    ) -> tuple[str | None, list[Citation]]:
        """The rewritten sentence (or None: dropped) and the citations its rewrites made."""
        tried: list[Citation] = []
        problem = "; ".join(dict.fromkeys(f"{c.label}: {c.reason}" for c in checks))
        for _ in range(self.max_revisions):
            reply = await self.llm.complete(
                self.revise_prompt.render(passages=passages, sentence=sentence.text, problem=problem),
                role="citation_reviser",
                trace=trace,
                max_tokens=max(64, 2 * self.llm.count_tokens(sentence.text)),
                temperature=0.0,
            )
            line = next((s.strip() for s in reply.text.splitlines() if s.strip()), "")
            if not line or _DROP.match(line):
                return None, tried
            rewrite = parse_sentence(line)
            if not rewrite.cited:
                problem = "the rewrite cites no passage; every sentence must end with its citation"
                continue
            checks = await self._checks(rewrite, section, trace)
            tried.extend(checks)
            kept = _keep(rewrite, checks)
            if kept is not None:
                return kept, tried
            problem = "; ".join(dict.fromkeys(f"{c.label}: {c.reason}" for c in checks))
        return None, tried


def _keep(sentence: Sentence, checks: list[Citation]) -> str | None:
    """The sentence with only the citations that hold (named as in the corpus), or None."""
    good = {
        (source, location): c
        for (_, source, location), c in zip(sentence.cited, checks, strict=True)
        if c.verified
    }
    if not good:
        return None

    def bracket(m: re.Match) -> str:
        parts = []
        for part in m[1].split(";"):
            source, comma, location = part.rpartition(",")
            key = (source.strip().strip("`'\""), location.strip())
            if comma and key in good:
                parts.append(f"{good[key].source}, {good[key].location}")
        if not any("," in p for p in m[1].split(";")):
            return m[0]  # not a citation: "[sic]" and the like stay
        return f" [{'; '.join(parts)}]" if parts else ""

    return re.sub(r"\s+([.,;:!?])", r"\1", _BRACKET.sub(bracket, sentence.text)).strip()


__all__ = ["CitationChecker", "Checked"]
