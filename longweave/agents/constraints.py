"""Constraints placed on units of a long piece, and the term check that decides them.

A constraint (after LongGenBench, Wu et al., 2024) is an instruction on some units of a piece:
*single* (one unit), *range* (units i..j), *periodic* (every k-th unit) or *forbid* (content
that must not appear). It carries ``terms``: words that show it is met, matched in code with
any inflection ("snow" matches "snowed"). CogWriter's planner extracts constraints from an
instruction and its monitor checks each unit against them; ``eval/constraints.py`` scores a
finished piece with the same check.

Deliberately not here: judging free-form constraints with a model (``agents/monitor.py``) and
the benchmark's scoring and tasks (``eval/constraints.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from longweave.errors import InputError

KINDS = ("single", "range", "periodic", "forbid")


@dataclass(frozen=True, slots=True)
class Constraint:
    """An instruction placed on some units.

    Attributes:
        kind: "single", "range", "periodic" (required content) or "forbid" (content that must
            not appear, on the units it covers).
        text: the instruction as written ("mention the wedding").
        start: first unit it covers (1-based). ``end``: last (single: = start; periodic: the
            last unit of the piece, filled in by `units`).
        every: the period for periodic constraints (every k-th unit from ``start``).
        terms: words that must appear (or, for forbid, must not); empty: only a judge can decide.
    """

    kind: str
    text: str
    start: int
    end: int | None = None
    every: int = 0
    terms: tuple[str, ...] = ()

    def units(self, n_units: int) -> list[int]:
        """The 1-based units this constraint covers in a piece of `n_units` units."""
        if self.kind == "periodic":
            return list(range(self.start, n_units + 1, max(1, self.every)))
        last = self.start if self.kind == "single" else (self.end or self.start)
        return [u for u in range(self.start, last + 1) if 1 <= u <= n_units]

    def key(self) -> tuple:
        return (self.kind, self.start, self.end, self.every, tuple(sorted(t.lower() for t in self.terms)))

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "every": self.every,
            "terms": list(self.terms),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Constraint:
        kind = str(d.get("kind", "single"))
        if kind not in KINDS:
            raise InputError(f"constraint kind must be one of {', '.join(KINDS)}, not {kind!r}.")
        return cls(
            kind,
            str(d.get("text", "")),
            int(d["start"]),
            int(d["end"]) if d.get("end") is not None else None,
            int(d.get("every") or 0),
            tuple(str(t) for t in d.get("terms") or ()),
        )


def term_pattern(term: str) -> re.Pattern:
    """A pattern for `term` that also accepts its inflections (snow: snows, snowed, snowing)."""
    words = [_stem(w) for w in re.findall(r"[\w']+", term.lower())]
    body = r"\W+".join(re.escape(w) + r"[\w']*" for w in words)
    return re.compile(r"(?<![\w])" + body, re.I)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def has_term(text: str, term: str) -> bool:
    """Whether `text` contains `term` (case-insensitive, any inflection)."""
    return bool(term_pattern(term).search(text))


def satisfied(constraint: Constraint, text: str) -> bool:
    """Whether one unit's `text` meets `constraint` by its terms (all present; forbid: none)."""
    if constraint.kind == "forbid":
        return not any(has_term(text, t) for t in constraint.terms)
    return all(has_term(text, t) for t in constraint.terms)


__all__ = ["KINDS", "Constraint", "has_term", "satisfied", "term_pattern"]
