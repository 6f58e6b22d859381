"""Constraints placed on units of a long piece: the type, reading them, the term check.

A constraint (after LongGenBench, Wu et al., 2024) is an instruction on some units of a piece:
*single* (one unit), *range* (units i..j), *periodic* (every k-th unit) or *forbid* (content
that must not appear). It carries ``terms``: words that show it is met, matched in code with
any inflection ("snow" matches "snowed"). `extract_constraints` reads them from common
phrasings of an instruction ("in week 10 ...", "every 4th week ..."), `parse_constraints` from
a model's list. CogWriter's planner uses both and its monitor checks each unit against them;
``eval/constraints.py`` scores a finished piece with the same check.

Deliberately not here: judging free-form constraints with a model (``agents/monitor.py``) and
the benchmark's scoring and tasks (``eval/constraints.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from longweave.errors import InputError

KINDS = ("single", "range", "periodic", "forbid")

_ORDINALS = {
    "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "other": 2,
}  # fmt: skip
_STOP = set(
    "a an the of to in on at for from and or with by my your his her their our its this that "
    "these those some any each every week floor month day mention mentions describe write "
    "writes include includes add place put feature serve offer talk about there is are be "
    "has have it i we you he she they should must also which who unit".split()
)


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


# -- reading constraints from an instruction or a model's reply ------------------------------


def terms_of(phrase: str) -> tuple[str, ...]:
    """The words that show `phrase` is met: quoted parts, else its content words."""
    quoted = re.findall(r"[\"“'‘]([^\"”'’]{2,60})[\"”'’]", phrase)
    if quoted:
        return tuple(q.strip() for q in quoted)
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", phrase) if w.lower() not in _STOP and len(w) > 2]
    return tuple(dict.fromkeys(w.lower().strip("'") for w in words))


def _patterns(label: str) -> list[tuple[str, re.Pattern]]:
    lab = re.escape(label.lower())
    num = r"(\d{1,3})"
    tail = r"\s*[,:]?\s*(?:there\s+(?:is|are|will be)\s+)?([^.;\n]+)"
    return [
        ("range", re.compile(rf"\b(?:from|between)\s+(?:the\s+)?{lab}s?\s+{num}\s+"
                             rf"(?:to|through|until|and|-)\s+(?:{lab}\s+)?{num}{tail}", re.I)),
        ("range", re.compile(rf"\b{lab}s\s+{num}\s*(?:-|–|to|through)\s*{num}{tail}", re.I)),
        ("periodic", re.compile(rf"\bevery\s+(\d{{1,3}})(?:st|nd|rd|th)?\s+{lab}s?{tail}", re.I)),
        ("periodic", re.compile(rf"\bevery\s+({'|'.join(_ORDINALS)})\s+{lab}{tail}", re.I)),
        ("single", re.compile(rf"\b(?:in|on|for|during|at)\s+(?:the\s+)?{lab}\s+{num}{tail}", re.I)),
        ("forbid", re.compile(r"\b(?:never|do not|don't|must not)\s+"
                              r"(?:mention|write about|include)\s+([^.;\n]+)", re.I)),
    ]  # fmt: skip


def extract_constraints(instruction: str, label: str, n_units: int) -> tuple[list[Constraint], list[str]]:
    """Constraints stated in common phrasings, and the sentences that state them.

    "In week 10, ...", "from week 20 to 25 ...", "weeks 3-5 ...", "every 4th week ...",
    "every other week ...", "never mention ..." (a forbid on every unit).
    """
    found: list[Constraint] = []
    spans: list[tuple[int, int]] = []
    for kind, pattern in _patterns(label):
        for m in pattern.finditer(instruction):
            if any(a <= m.start() < b for a, b in spans):
                continue
            groups = m.groups()
            if kind == "range":
                a, b, text = int(groups[0]), int(groups[1]), groups[2]
                c = Constraint("range", text.strip(), min(a, b), max(a, b), 0, terms_of(text))
            elif kind == "periodic":
                k = _ORDINALS.get(groups[0].lower()) or int(groups[0])
                c = Constraint("periodic", groups[1].strip(), k, None, k, terms_of(groups[1]))
            elif kind == "single":
                c = Constraint(
                    "single", groups[1].strip(), int(groups[0]), int(groups[0]), 0, terms_of(groups[1])
                )
            else:
                c = Constraint("forbid", groups[0].strip(), 1, n_units, 0, terms_of(groups[0]))
            if c.terms:
                found.append(c)
                spans.append((m.start(), m.end()))
    return _dedupe(found), [instruction[a:b] for a, b in spans]


def parse_constraints(reply: str) -> list[Constraint]:
    """The model's constraint list: JSON (a list, or {"constraints": [...]}) or lines
    ``kind | units | text`` (units: "10", "20-25", "every 4")."""
    text = re.sub(r"```[a-zA-Z]*\n?|```", "", reply)
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    if start >= 0:
        try:
            data, _ = json.JSONDecoder().raw_decode(text[start:])
            items = data.get("constraints", []) if isinstance(data, dict) else data
            out = [_from_json(item) for item in items if isinstance(item, dict)]
            return [c for c in out if c is not None]
        except (json.JSONDecodeError, ValueError, KeyError, TypeError):
            pass
    out = []
    for line in text.splitlines():
        parts = [p.strip(" *-•\t") for p in line.split("|")]
        if len(parts) < 3:
            continue
        kind, where, what = parts[0].lower(), parts[1].lower(), "|".join(parts[2:]).strip()
        nums = [int(x) for x in re.findall(r"\d+", where)]
        if not nums or not what or kind not in ("single", "range", "periodic", "forbid"):
            continue
        if kind == "range" and len(nums) >= 2:
            out.append(Constraint("range", what, min(nums[:2]), max(nums[:2]), 0, terms_of(what)))
        elif kind == "periodic":
            out.append(Constraint("periodic", what, nums[0], None, nums[0], terms_of(what)))
        elif kind == "single":
            out.append(Constraint("single", what, nums[0], nums[0], 0, terms_of(what)))
    return [c for c in out if c.terms]


def _from_json(item: dict) -> Constraint | None:
    kind = str(item.get("kind") or item.get("type") or "").lower()
    what = str(item.get("text") or item.get("constraint") or item.get("content") or "").strip()
    if kind not in ("single", "range", "periodic", "forbid") or not what:
        return None
    nums = [
        int(x)
        for x in re.findall(
            r"\d+", json.dumps([item.get(k) for k in ("unit", "units", "start", "end", "every")])
        )
    ]
    if not nums:
        return None
    if kind == "range":
        return Constraint("range", what, min(nums), max(nums), 0, terms_of(what)) if len(nums) > 1 else None
    if kind == "periodic":
        k = int(item.get("every") or nums[0])
        return Constraint("periodic", what, int(item.get("start") or k), None, k, terms_of(what))
    return Constraint(kind, what, nums[0], nums[0] if kind == "single" else None, 0, terms_of(what))


def _dedupe(constraints: list[Constraint]) -> list[Constraint]:
    seen, out = set(), []
    for c in constraints:
        if c.key() not in seen:
            seen.add(c.key())
            out.append(c)
    return out


__all__ = [
    "KINDS",
    "Constraint",
    "extract_constraints",
    "has_term",
    "parse_constraints",
    "satisfied",
    "term_pattern",
    "terms_of",
]
