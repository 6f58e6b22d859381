"""CogWriter's monitor: checks one unit's text against its constraints, in code where it can.

After CogWriter (Wan et al., 2025, Section 3.3, "monitoring"). The published code checks only
length in code and asks the model to review everything else. Here every check a rule can
decide is a rule: the length range (``min_ratio``..``max_ratio`` of the budget, default
0.5..1.5), the required terms of each single / range / periodic constraint, the forbidden terms,
and the unit's label ("Week 10") present. The model is asked as a judge only for a constraint
that has no terms (a free-form requirement), with a YES/NO question; an unreadable verdict
counts as passed and is marked ``judge_unsure`` in the report, so a weak judge cannot trigger
endless revisions.

Deliberately not here: what to do about failures (``agents/reviewer.py``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from longweave.agents.cog_planner import Unit
from longweave.agents.constraints import has_term
from longweave.llm import LLM, Trace
from longweave.prompts import PromptTemplate
from longweave.text import count_words


@dataclass(slots=True)
class Check:
    """One check on one unit.

    Attributes:
        name: "length", "label", "required", "forbidden" or "judge".
        passed: the verdict.
        detail: what was found ("62 words, wanted 40..120"; "missing: wedding").
        by: "rule" or "model".
        constraint: the constraint's text, for constraint checks.
        missing: the terms that were missing (required) or present (forbidden).
    """

    name: str
    passed: bool
    detail: str
    by: str = "rule"
    constraint: str = ""
    missing: list[str] = field(default_factory=list)


@dataclass(slots=True)
class UnitReport:
    """The monitor's report on one version of one unit."""

    unit: int
    title: str
    words: int
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict:
        return {
            "unit": self.unit,
            "title": self.title,
            "words": self.words,
            "passed": self.passed,
            "checks": [asdict(c) for c in self.checks],
        }


class Monitor:
    """Checks units against their constraints.

    Args:
        llm: the judge model (used only for constraints without terms).
        prompt: the judge prompt (variables: title, constraint, text).
        min_ratio, max_ratio: the accepted length, as fractions of the unit's budget.
        check_label: require the unit's label ("Week 10") in its text (only for units that have
            a label: planned weeks, floors...; sections are exempt).
    """

    def __init__(
        self,
        llm: LLM,
        prompt: PromptTemplate,
        *,
        min_ratio: float = 0.5,
        max_ratio: float = 1.5,
        check_label: bool = True,
    ) -> None:
        self.llm = llm
        self.prompt = prompt
        self.min_ratio = min_ratio
        self.max_ratio = max_ratio
        self.check_label = check_label

    async def check(self, unit: Unit, text: str, *, trace: Trace | None = None) -> UnitReport:
        """Check `text` (the unit's body) and return the structured report."""
        words = count_words(text)
        lo, hi = int(unit.words * self.min_ratio), max(1, round(unit.words * self.max_ratio))
        checks = [Check("length", lo <= words <= hi, f"{words} words, wanted {lo}..{hi}")]
        if self.check_label and unit.label:
            found = re.search(rf"\b{re.escape(unit.title)}\b", text, re.I) is not None
            checks.append(Check("label", found, f"{unit.title!r} {'present' if found else 'missing'}"))
        for c in unit.constraints:
            if c.kind == "forbid":
                present = [t for t in c.terms if has_term(text, t)]
                checks.append(Check("forbidden", not present, f"present: {', '.join(present)}" if present
                                    else "none present", constraint=c.text, missing=present))  # fmt: skip
            elif c.terms:
                missing = [t for t in c.terms if not has_term(text, t)]
                checks.append(Check("required", not missing, f"missing: {', '.join(missing)}" if missing
                                    else "all present", constraint=c.text, missing=missing))  # fmt: skip
            else:
                checks.append(await self._judge(unit, c.text, text, trace))
        return UnitReport(unit.number, unit.title, words, checks)

    async def _judge(self, unit: Unit, constraint: str, text: str, trace: Trace | None) -> Check:
        messages = self.prompt.render(title=unit.title, constraint=constraint, text=text)
        reply = await self.llm.complete(messages, role="monitor", trace=trace, max_tokens=8, temperature=0.0)
        verdict = reply.text.strip().lower()
        if verdict.startswith("yes"):
            return Check("judge", True, "the judge says yes", "model", constraint)
        if verdict.startswith("no"):
            return Check("judge", False, "the judge says no", "model", constraint)
        return Check("judge", True, f"judge_unsure: {reply.text.strip()[:40]!r}", "model", constraint)


__all__ = ["Check", "Monitor", "UnitReport"]
