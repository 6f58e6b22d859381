"""A writing plan: sections with word budgets, the length an instruction asks for, and the
budgets normalised to add up to it.

After LongWriter (Bai et al., 2024, "LongWriter: Unleashing 10,000+ Word Generation from Long
Context LLMs"), AgentWrite step I: a plan is paragraph-sized sections, each with a main point
and a word count; the paper asks for 200 to 1,000 words per section, and so do we
(`MIN_SECTION_WORDS`, `MAX_SECTION_WORDS`). `normalize_plan` makes any plan's budgets add up to
the target exactly; `derive_plan` builds a plan from the instruction alone, for when the model
cannot plan.

Deliberately not here: reading a plan out of a model's reply or a user's file
(``agents/plan_parser.py``) and asking the model for one (``agents/planner.py``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from longweave.errors import InputError, MalformedOutput

MIN_SECTION_WORDS = 200
MAX_SECTION_WORDS = 1000
WORDS_PER_SECTION = 500  # what a derived plan aims for: the middle of the paper's range
MAX_TARGET_WORDS = 200_000


@dataclass(slots=True)
class Section:
    """One planned section.

    Attributes:
        title: a short heading.
        point: what the section must say (the paper's "main point").
        words: its word budget (0 while unknown).
    """

    title: str
    point: str = ""
    words: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


# -- targets ----------------------------------------------------------------------------------

_TARGET = re.compile(
    r"(\d{1,3}(?:[,.\s]\d{3})+|\d+(?:\.\d+)?)\s*(k|thousand)?\s*[- ]?\s*"
    r"(words?|字|单词|pages?|页|wörter(?:n)?|mots|palabras|parole|palavras)",
    re.I,
)
WORDS_PER_PAGE = 500  # a single-spaced page of prose


def target_from_instruction(instruction: str) -> int | None:
    """The length an instruction asks for ("a 10,000-word essay", "5k words", "800字", "a
    3-page letter"), or None. A page counts `WORDS_PER_PAGE` words; 字 are CJK characters,
    which `count_words` counts one each.

    When several lengths are named, the largest is the length of the whole piece.
    """
    found = []
    for m in _TARGET.finditer(instruction):
        digits = m[1]
        if re.fullmatch(r"\d{1,3}(?:[,.\s]\d{3})+", digits):  # 10,000 / 10.000 / 10 000
            digits = re.sub(r"[,.\s]", "", digits)
        value = float(digits)
        if m[2]:
            value *= 1000
        if m[3].lower().startswith("page") or m[3] == "页":
            value *= WORDS_PER_PAGE
        if value >= 1:
            found.append(int(value))
    return max(found) if found else None


def check_target(target_words: int) -> int:
    """Validate a requested length; raise InputError with what to do."""
    if isinstance(target_words, bool) or not isinstance(target_words, int) or target_words < 1:
        raise InputError(f"the target length must be a positive number of words, not {target_words!r}.")
    if target_words > MAX_TARGET_WORDS:
        raise InputError(
            f"{target_words} words is more than the {MAX_TARGET_WORDS} words one run writes; "
            "split the piece into several runs."
        )
    return target_words


# -- budgets --------------------------------------------------------------------------------


def normalize_plan(
    sections: list[Section],
    target_words: int,
    *,
    max_section_words: int = MAX_SECTION_WORDS,
    min_section_words: int = MIN_SECTION_WORDS,
) -> list[Section]:
    """Budgets that add up to `target_words` exactly, each section within the paper's range.

    Sections without a budget share what the others leave (or an equal part); all budgets are
    then scaled to the target. A section over `max_section_words` is split into parts; when
    there are more sections than the target can feed at `min_section_words` each, neighbours
    are merged. Rounding keeps the total exact (largest remainders).
    """
    if not sections:
        raise MalformedOutput("the plan has no sections")
    check_target(target_words)
    secs = [Section(s.title, s.point, max(0, int(s.words))) for s in sections]
    known = sum(s.words for s in secs)
    missing = [s for s in secs if s.words == 0]
    if missing:
        left = target_words - known
        share = left / len(missing) if left > 0 else (known / max(1, len(secs) - len(missing)) or 1)
        for s in missing:
            s.words = max(1, round(share))
    max_count = max(1, target_words // max(1, min(min_section_words, target_words)))
    while len(secs) > max_count:
        i = min(range(len(secs) - 1), key=lambda j: secs[j].words + secs[j + 1].words)
        a, b = secs[i], secs.pop(i + 1)
        secs[i] = Section(f"{a.title}; {b.title}", f"{a.point} {b.point}".strip(), a.words + b.words)
    budgets = _apportion([s.words for s in secs], target_words)
    out: list[Section] = []
    for s, words in zip(secs, budgets, strict=True):
        parts = max(1, math.ceil(words / max_section_words))
        if parts == 1:
            out.append(Section(s.title, s.point, words))
            continue
        for k, w in enumerate(_apportion([1] * parts, words), 1):
            out.append(Section(f"{s.title} ({k}/{parts})", s.point, w))
    return out


def _apportion(weights: list[int], total: int) -> list[int]:
    whole = sum(weights) or len(weights)
    raw = [total * (w or 1) / whole for w in weights]
    floors = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


def derive_plan(
    instruction: str, target_words: int, *, section_words: int = WORDS_PER_SECTION
) -> list[Section]:
    """A plan built without the model: an opening, body parts and a close, about
    `section_words` each (500 by default).

    Used when the model cannot plan. Each section's point names the subject (the instruction
    without its length request), so the writer still knows what the piece is about.
    """
    check_target(target_words)
    subject = _subject(instruction)
    n = max(1, round(target_words / max(1, section_words)))
    if n == 1:
        sections = [Section("The piece", f"Write the whole piece: {subject}")]
    elif n == 2:
        sections = [
            Section("Opening", f"Introduce the subject and develop its first half: {subject}"),
            Section("Development and close", f"Develop the rest of the subject and conclude: {subject}"),
        ]
    else:
        body = n - 2
        sections = [
            Section("Introduction", f"Introduce the subject and what the piece will cover: {subject}")
        ]
        sections += [
            Section(
                f"Part {k}",
                f"Develop aspect {k} of {body} of the subject, one not covered by earlier parts: {subject}",
            )
            for k in range(1, body + 1)
        ]
        sections.append(Section("Conclusion", f"Draw the piece together and conclude: {subject}"))
    return normalize_plan(sections, target_words)


def _subject(instruction: str) -> str:
    s = _TARGET.sub("", " ".join(instruction.split()))
    s = re.sub(
        r"^(?:please\s+)?(?:write|compose|draft|create|produce)\s+(?:me\s+)?(?:an?\s+)?[-\s]*",
        "",
        s,
        flags=re.I,
    )
    s = s.strip(" .,-")
    return (s[:1].upper() + s[1:]) if s else instruction.strip()


def render_plan(sections: list[Section], current: int | None = None) -> str:
    """The plan as numbered lines, marking the section being written with ``<- now``."""
    lines = []
    for i, s in enumerate(sections):
        mark = "  <- now" if i == current else ""
        point = f": {s.point}" if s.point and s.point != s.title else ""
        lines.append(f"{i + 1}. {s.title} ({s.words} words){point}{mark}")
    return "\n".join(lines)


__all__ = [
    "MAX_SECTION_WORDS",
    "MAX_TARGET_WORDS",
    "MIN_SECTION_WORDS",
    "WORDS_PER_PAGE",
    "WORDS_PER_SECTION",
    "Section",
    "check_target",
    "derive_plan",
    "normalize_plan",
    "render_plan",
    "target_from_instruction",
]
