"""Reading a plan out of whatever a model (or a user) wrote.

Models answer in many shapes, so parsing is tolerant: JSON (a list, or an object holding one,
inside code fences or prose), numbered lines (LongWriter's ``Paragraph 1 - Main Point: ... -
Word Count: 400 words``), Markdown lists and headings. A reply whose shape is garbled but
readable (the fields of one section on separate numbered lines; whole sentences as titles) is
repaired, and each repair named, so the planner can record it as ``repaired``, never as a clean
plan. A plan the user gives (a list of entries, or a file's text) is read the same way and
checked, with `InputError` naming the unusable entry.

Deliberately not here: the plan's model and budgets (``agents/plan.py``), and asking the model
again when nothing could be read (``agents/planner.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from longweave.agents.plan import Section, check_target, normalize_plan
from longweave.errors import InputError, MalformedOutput

_FENCE = re.compile(r"```[a-zA-Z]*\n?|```")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*)$")
_NUMBERED = re.compile(
    r"^\s*(?:\*\*)?(?:(?:paragraph|section|part|step|chapter)\s*)?(\d{1,3})\s*(?:\*\*)?\s*"
    r"(?:[.):：\-–—]\s*|\s+)(.*)$",
    re.I,
)
_LABELLED = re.compile(r"^\s*(?:\*\*)?(?:paragraph|section|part|step|chapter)\s*(\d{1,3})\b(.*)$", re.I)
_BULLET = re.compile(r"^(\s*)[-*+•]\s+(.*)$")
_WORDS_FIELD = re.compile(
    r"[-–—,;|(\[]?\s*(?:word\s*count|words?|length|budget)\s*[:：=]\s*\[?\s*(?:about|approximately|approx\.?|"
    r"around|~|ca\.?)?\s*(\d[\d,]*)(?:\s*(?:-|–|to)\s*(\d[\d,]*))?\s*(?:words?)?\s*[)\]]?",
    re.I,
)
_WORDS_INLINE = re.compile(
    r"[-–—,;|(\[]?\s*(?:about|approximately|approx\.?|around|~|ca\.?)?\s*(\d[\d,]*)"
    r"(?:\s*(?:-|–|to)\s*(\d[\d,]*))?\s*[- ]?(?:words?|字)\b\s*[)\]]?",
    re.I,
)
_POINT_LABEL = re.compile(
    r"[-–—|]?\s*(?:\*\*)?(?:main\s*points?|points?|content|description|summary|focus)(?:\*\*)?\s*[:：]\s*",
    re.I,
)
_TITLE_LABEL = re.compile(r"^\s*(?:\*\*)?(?:title|heading|name)(?:\*\*)?\s*[:：]\s*", re.I)
_PLACEHOLDER = re.compile(r"^\s*\[?\s*(?:\.\.\.|…|describe\b|title\b|main point\b|word count\b)", re.I)


@dataclass(slots=True)
class PlanReading:
    """A plan read from a reply, and the repairs its shape needed (empty: read as written)."""

    sections: list[Section]
    repairs: list[str]


def parse_plan(reply: str) -> list[Section]:
    """Read a plan out of a model's reply, whatever its shape (`read_plan` without the repairs)."""
    return read_plan(reply).sections


def read_plan(reply: str) -> PlanReading:
    """Read a plan out of a model's reply, whatever its shape.

    Accepts JSON (a list of objects or strings, or an object with a ``sections``/``plan`` list,
    possibly in code fences or surrounded by prose), numbered lines (``1.``, ``2)``,
    ``Paragraph 3 -``), Markdown headings and bullet lists. Word counts are read from
    ``Word Count: 400``, ``(400 words)``, ``300-500 words`` (the midpoint) and similar; a section
    without one gets ``words=0`` for `normalize_plan` to fill.

    Garbled shapes that are still readable are repaired, and each repair named in
    `PlanReading.repairs`: one section's fields on separate numbered lines ("1. Title: ...",
    "2. Main Point: ...", "3. Word Count: ...") are regrouped into sections; a title that is a
    whole sentence is shortened, the sentence kept as the main point.

    Raises:
        MalformedOutput: no usable section could be read; the message says why (it is shown to
            the model when the plan is asked for again).
    """
    text = _FENCE.sub("\n", reply or "").strip()
    if not text:
        raise MalformedOutput("the reply was empty")
    repairs: list[str] = []
    sections = _parse_json(text)
    if sections is None and (sections := _parse_cut_json(text)) is not None:
        repairs.append(f"the JSON was cut off after {len(sections)} complete section(s); read those")
    if sections is None:
        sections = _parse_lines(text, repairs)
    sections = [s for s in sections if _usable(s)]
    if not sections:
        raise MalformedOutput(
            "no sections could be read from it; write one numbered line per section with its "
            "title, main point and word count"
        )
    placeholders = [s for s in sections if _placeholder_title(s.title) and s.point != s.title]
    for s in placeholders:
        s.title = _title_from(s.point, 6)
    if placeholders:  # Qwen2.5-0.5B held to the JSON schema copies the example's "..." as titles
        repairs.append(f"{len(placeholders)} title(s) were placeholders; taken from the main point")
    long_titles = [s for s in sections if len(s.title.split()) > MAX_TITLE_WORDS or s.title.endswith("...")]
    for s in long_titles:
        if len(s.title.split()) > MAX_TITLE_WORDS:
            s.point = s.point if s.title in s.point else f"{s.title} {s.point}".strip()
            s.title = _title_from(s.title, 6)
    if long_titles:
        repairs.append(f"{len(long_titles)} title(s) were whole sentences; shortened")
    return PlanReading(_dedupe(sections), repairs)


MAX_TITLE_WORDS = 12  # a longer "title" is a sentence the parser took for one
_FIELD_ITEM = re.compile(
    r"^\s*(?:\*\*)?(title|heading|main\s*points?|points?|description|content|summary|word\s*count|"
    r"words?|length)(?:\*\*)?\s*[:：]",
    re.I,
)


def _regroup_fields(items: list[list[str]]) -> list[list[str]] | None:
    """Numbered items that are one section's fields ("1. Title: A", "2. Main Point: B", "3.
    Word Count: 80") regrouped into one item per section, or None when the items are sections.

    A new section starts at a title, or at a field the current section already has.
    """
    labels = [_FIELD_ITEM.match(parts[0]) for parts in items]
    if len(items) < 2 or not all(labels):
        return None
    kinds = [re.sub(r"\W+|s$", "", m[1].lower())[:4] for m in labels]  # titl / main / poin / word ...
    if len(set(kinds)) < 2:
        return None
    groups: list[list[str]] = []
    seen: set[str] = set()
    for kind, parts in zip(kinds, items, strict=True):
        if not groups or kind in ("titl", "head") or kind in seen:
            groups.append([])
            seen = set()
        seen.add(kind)
        groups[-1].extend(parts)
    return [[" - ".join(g)] for g in groups]


_PLAN_KEYS = ("sections", "plan", "paragraphs", "outline", "steps", "parts")


def _parse_json(text: str) -> list[Section] | None:
    decoder = json.JSONDecoder()
    for m in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            lists = [v for k, v in value.items() if isinstance(v, list)]
            preferred = [value[k] for k in value if str(k).lower() in _PLAN_KEYS]
            if not (preferred or lists):
                continue
            value = (preferred or lists)[0]
        if isinstance(value, list) and value:
            try:
                return [section_from_any(v) for v in value]
            except MalformedOutput:
                continue
    return None


_CUT_LIST = re.compile(r'"(?:' + "|".join(_PLAN_KEYS) + r')"\s*:\s*\[', re.I)


def _parse_cut_json(text: str) -> list[Section] | None:
    """The complete entries of a JSON plan cut off mid-list (a reply that hit its token limit)."""
    m = _CUT_LIST.search(text) or re.match(r"\s*\[", text)
    if not m:
        return None
    decoder, at, items = json.JSONDecoder(), m.end(), []
    while True:
        at = len(text) - len(text[at:].lstrip(" \t\r\n,"))
        try:
            value, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            break
        items.append(value)
    try:
        return [section_from_any(v) for v in items] or None
    except MalformedOutput:
        return None


def _parse_lines(text: str, repairs: list[str]) -> list[Section]:
    lines = text.splitlines()
    kinds = []
    for line in lines:
        if m := _HEADING.match(line):
            kinds.append(("h" + str(len(m[1])), 0, m[2]))
        elif m := _LABELLED.match(line):
            kinds.append(("n", 0, m[2].lstrip(" .):：-–—")))
        elif m := _NUMBERED.match(line):
            kinds.append(("n", 0, m[2]))
        elif m := _BULLET.match(line):
            kinds.append(("b", len(m[1].expandtabs(4)), m[2]))
        else:
            kinds.append(("t", 0, line.strip()))
    item_kind = _item_kind(kinds)
    if item_kind is None:
        return []
    bullet_indent = min((i for k, i, _ in kinds if k == "b"), default=0)
    items: list[list[str]] = []
    for (kind, indent, body), line in zip(kinds, lines, strict=True):
        if kind == item_kind and (kind != "b" or indent == bullet_indent):
            items.append([body])
        elif items and line.strip():
            items[-1].append(re.sub(r"^\s*[-*+•]\s+", "", line.strip()))
    if (regrouped := _regroup_fields(items)) is not None:
        repairs.append("each field of a section was on its own numbered line; regrouped into sections")
        items = regrouped
    return [_section_from_text(parts[0], parts) for parts in items]


def _item_kind(kinds: list[tuple[str, int, str]]) -> str | None:
    counts: dict[str, int] = {}
    for kind, _, _ in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    headings = sorted((k for k in counts if k.startswith("h")), key=lambda k: (-counts[k], -int(k[1])))
    if headings and counts[headings[0]] >= 2:
        return headings[0]
    for kind in ("n", "b"):
        if counts.get(kind):
            return kind
    return headings[0] if headings else None


def _section_from_text(text: str, parts: list[str] | None = None) -> Section:
    if parts and len(parts) > 1:
        head = _section_from_text(parts[0])
        words = head.words
        rest = []
        for p in parts[1:]:
            w, p = _extract_words(p)
            words = words or w
            rest.append(_POINT_LABEL.sub("", _TITLE_LABEL.sub("", p)))
        extra = _clean(" ".join(rest))
        point = head.point if head.point != head.title else ""
        return Section(head.title, _clean(f"{point} {extra}") or head.title, words)
    words, text = _extract_words(text)
    text = text.strip(" -–—:;,|")
    if m := _POINT_LABEL.search(text):
        before, point = text[: m.start()], text[m.end() :]
        title = _TITLE_LABEL.sub("", before).strip(" -–—:;,|")
    else:
        body = _TITLE_LABEL.sub("", text)
        split = re.match(r"^(\*\*[^*]{1,120}\*\*|[^:：]{1,120}?)\s*(?:[:：]|\s[-–—]\s)\s*(.+)$", body)
        if split:
            title, point = split[1], split[2]
        else:
            title, point = ("", body) if len(body.split()) > 12 else (body, "")
    title, point = _clean(title), _clean(point)
    if not title:
        title = _title_from(point)
    return Section(title, point or title, words)


def _extract_words(text: str) -> tuple[int, str]:
    for pattern in (_WORDS_FIELD, _WORDS_INLINE):
        matches = list(pattern.finditer(text))
        if matches:
            m = matches[-1]
            low = int(m[1].replace(",", ""))
            high = int(m[2].replace(",", "")) if m[2] else low
            return (low + high) // 2, (text[: m.start()] + " " + text[m.end() :]).strip()
    return 0, text


def section_from_any(item: object) -> Section:
    """A `Section` from a dict with flexible key names, a string, or a Section."""
    if isinstance(item, Section):
        return Section(item.title, item.point, item.words)
    if isinstance(item, str):
        return _section_from_text(item)
    if not isinstance(item, dict):
        raise MalformedOutput(f"a plan entry must be an object or a string, not {type(item).__name__}")
    lowered = {re.sub(r"[\s_\-]+", "", str(k)).lower(): v for k, v in item.items()}
    title = _first(lowered, ("title", "heading", "name", "section", "paragraph", "topic"))
    point = _first(lowered, ("mainpoint", "point", "points", "description", "content", "summary",
                             "focus", "goal", "details"))  # fmt: skip
    words = _first(lowered, ("words", "wordcount", "wordbudget", "length", "budget", "count"))
    if isinstance(point, list):
        point = "; ".join(map(str, point))
    title, point = _clean(str(title or "")), _clean(str(point or ""))
    if not title and point:
        title = _title_from(point)
    return Section(title, point or title, _as_words(words))


def _placeholder_title(title: str) -> bool:
    bare = title.strip(" .…[]()<>*#:-").lower()
    if not re.search(r"[^\W\d_]", bare) or bare in ("title", "section title", "short title", "heading"):
        return True
    # the JSON format's own placeholder, or its word range, copied ("<2-6 words naming the part>",
    # "1-2 words": the 0.5B's titles for a Chinese essay)
    return title.lstrip().startswith("<") or bool(
        re.fullmatch(r"[\d\s\-–~]+words?(?: naming the part)?", bare)
    )


def _usable(s: Section) -> bool:
    return bool(re.search(r"[^\W\d_]{2,}", s.title + s.point)) and not _PLACEHOLDER.match(s.point or s.title)


def _dedupe(sections: list[Section]) -> list[Section]:
    seen, out = set(), []
    for s in sections:
        key = (s.title.lower(), s.point.lower())
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _clean(text: str) -> str:
    text = re.sub(r"[*_`]+", "", text)
    return " ".join(text.split()).strip(" -–—:;,|\"'")


def _title_from(point: str, words: int = 8) -> str:
    head = re.split(r"(?<=[.!?;:])\s", point, maxsplit=1)[0]
    tokens = head.split()
    title = " ".join(tokens[:words]).rstrip(".,;:!?")
    return title + ("..." if len(tokens) > words else "")


def _first(d: dict, keys: tuple[str, ...]) -> object:
    for k in keys:
        if d.get(k) not in (None, ""):
            return d[k]
    return None


def _as_words(value: object) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float):
        return max(0, int(value))
    m = re.search(r"(\d[\d,]*)(?:\s*(?:-|–|to)\s*(\d[\d,]*))?", str(value))
    if not m:
        return 0
    low = int(m[1].replace(",", ""))
    return (low + int(m[2].replace(",", ""))) // 2 if m[2] else low


# -- plans the user gives -------------------------------------------------------------------


def user_plan(items: list, target_words: int | None = None) -> tuple[list[Section], int]:
    """Check and normalise a plan the user gave (dicts with title/words, strings or Sections).

    Returns the sections and the target: `target_words` when given, else the plan's own sum.

    Raises:
        InputError: the plan is empty or an entry is unusable; the message says which.
    """
    if not isinstance(items, list) or not items:
        raise InputError("the plan must be a non-empty list of sections, each with a title and words.")
    sections = []
    for i, item in enumerate(items, 1):
        try:
            s = section_from_any(item)
        except MalformedOutput as exc:
            raise InputError(f"plan entry {i} is unusable: {exc}.") from exc
        if not s.title and not s.point:
            raise InputError(f"plan entry {i} has no title or main point; give each section a title.")
        sections.append(s)
    target = target_words if target_words is not None else sum(s.words for s in sections)
    if not target:
        raise InputError("the plan gives no word counts; give each section 'words' or pass a target length.")
    return normalize_plan(sections, check_target(target), min_section_words=1), target


def read_plan_text(text: str) -> list[Section]:
    """Read a plan file's text (JSON or Markdown/numbered lines); InputError if nothing is there."""
    try:
        return parse_plan(text)
    except MalformedOutput as exc:
        raise InputError(
            f"the plan file could not be read ({exc}); use JSON like "
            '[{"title": "Intro", "words": 300}] or Markdown lines like "1. Intro (300 words)".'
        ) from exc


__all__ = [
    "PlanReading",
    "parse_plan",
    "read_plan",
    "read_plan_text",
    "section_from_any",
    "user_plan",
]
