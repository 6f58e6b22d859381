"""The planner: a writing instruction in, a plan of sections with word budgets out.

After LongWriter (Bai et al., 2024, "LongWriter: Unleashing 10,000+ Word Generation from Long
Context LLMs"), AgentWrite step I: the model breaks the instruction into paragraph-sized
sections, each with a main point and a word count; the paper asks for 200 to 1,000 words per
section, and so do we (`MIN_SECTION_WORDS`, `MAX_SECTION_WORDS`).

Models answer in many shapes, so parsing is tolerant: JSON (a list, or an object holding one,
inside code fences or prose), numbered lines (the paper's ``Paragraph 1 - Main Point: ... -
Word Count: 400 words``), Markdown lists and headings. A reply that yields no usable section is
sent back to the model with the problem named, a bounded number of times; when that fails too
(a small base model often cannot plan), `derive_plan` builds a sensible plan from the
instruction alone and the fallback is recorded in the trace. Budgets are then normalised so
they add up to the target exactly.

Where the backend can constrain its reply to a JSON Schema (`LLM.supports_json_schema`:
llama.cpp grammars, vLLM structured outputs, OpenAI ``json_schema``), the plan is asked for as
JSON of `plan_schema`, so a small model cannot garble its shape; the tolerant parser stays for
every other backend. A reply whose shape is garbled but readable (the fields of one section on
separate numbered lines; whole sentences as titles) is repaired and recorded as ``repaired``,
never as a clean ``model`` plan; a single section for a piece several sections long is asked
for again.

Deliberately not here: writing (``agents/writer.py``) and the graph (``pipelines/agentwrite.py``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

from longweave.errors import InputError, MalformedOutput
from longweave.llm import LLM, EventRecord, Trace
from longweave.prompts import PromptTemplate

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

    @classmethod
    def from_any(cls, item: object) -> Section:
        """A section from a dict with flexible key names, a string, or a Section."""
        if isinstance(item, Section):
            return cls(item.title, item.point, item.words)
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
        return cls(title, point or title, _as_words(words))


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


# -- parsing ----------------------------------------------------------------------------------

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
    if sections is None:
        sections = _parse_lines(text, repairs)
    sections = [s for s in sections if _usable(s)]
    if not sections:
        raise MalformedOutput(
            "no sections could be read from it; write one numbered line per section with its "
            "title, main point and word count"
        )
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
                return [Section.from_any(v) for v in value]
            except MalformedOutput:
                continue
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


_GENERIC = set(
    "about into over under with from this that these those your their there which what when where "
    "write writes written writing compose draft create produce please make give tell words word "
    "long short detailed essay article piece story text report post blog".split()
)
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _topic_stems(text: str) -> set[str]:
    """Crude stems (first 5 letters) of the content words of `text`, for a topic overlap test."""
    return {w.lower()[:5] for w in re.findall(r"[^\W\d_]{4,}", text) if w.lower() not in _GENERIC}


def check_on_topic(sections: list[Section], instruction: str) -> None:
    """Reject a plan that shares no content word with a specific instruction.

    Small base models sometimes continue the planning prompt with an unrelated "plan" (the
    embedded 270M model once answered a history of tea with "Feedback: write a comment on the
    source code"). When the instruction names a subject (two or more content words) and no
    section mentions any of them, the plan is treated as malformed, so the planner re-asks and
    then falls back to a plan derived from the instruction. CJK instructions are not checked.

    Raises:
        MalformedOutput: naming the instruction words the plan should have used.
    """
    if _CJK_CHAR.search(instruction):
        return
    wanted = _topic_stems(instruction)
    if len(wanted) < 2:
        return
    got = _topic_stems(" ".join(f"{s.title} {s.point}" for s in sections))
    if not wanted & got:
        examples = sorted({w for w in re.findall(r"[^\W\d_]{4,}", instruction) if w.lower() not in _GENERIC})
        raise MalformedOutput(
            "the plan is off topic: no section mentions the instruction's subject "
            f"({', '.join(examples[:6])}); plan sections about that subject"
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


def derive_plan(instruction: str, target_words: int) -> list[Section]:
    """A plan built without the model: an opening, body parts and a close, ~500 words each.

    Used when the model cannot plan. Each section's point names the subject (the instruction
    without its length request), so the writer still knows what the piece is about.
    """
    check_target(target_words)
    subject = _subject(instruction)
    n = max(1, round(target_words / WORDS_PER_SECTION))
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


# -- the agent --------------------------------------------------------------------------------


@dataclass(slots=True)
class PlanOutcome:
    """What planning produced.

    Attributes:
        sections: the normalised plan.
        source: "model", "repaired" (after a re-ask), "fallback" (derived) or "user".
        target_words: the length the budgets add up to.
        problems: why each rejected reply was rejected, in order.
    """

    sections: list[Section]
    source: str
    target_words: int
    problems: list[str]


class Planner:
    """Asks the model for a plan, re-asks with the problem named, falls back to `derive_plan`.

    Args:
        llm: the model.
        prompt: the planning prompt (variables: instruction, target_words, sections).
        repair_prompt: the re-ask prompt (variables: instruction, target_words, reply, problem).
        max_repairs: re-asks after the first reply (default 1; small models rarely recover).
        temperature: sampling temperature for planning.
        max_section_words: split sections above this (the paper's 1,000).
    """

    def __init__(
        self,
        llm: LLM,
        prompt: PromptTemplate,
        repair_prompt: PromptTemplate,
        *,
        max_repairs: int = 1,
        temperature: float = 0.5,
        max_section_words: int = MAX_SECTION_WORDS,
    ) -> None:
        self.llm = llm
        self.prompt = prompt
        self.repair_prompt = repair_prompt
        self.max_repairs = max_repairs
        self.temperature = temperature
        self.max_section_words = max_section_words

    async def plan(
        self, instruction: str, target_words: int | None = None, *, trace: Trace | None = None
    ) -> PlanOutcome:
        """Plan `instruction`; `target_words` defaults to the length the instruction states.

        When neither gives a length, the model is asked to choose one that suits the form and
        its budgets set it (or `WORDS_PER_SECTION` times its section count, or 2,000 words for
        a derived plan).
        """
        stated = target_words if target_words is not None else target_from_instruction(instruction)
        if stated is not None:
            check_target(stated)
        suggested = max(1, round((stated or 2000) / WORDS_PER_SECTION))
        schema = plan_schema(suggested) if getattr(self.llm, "supports_json_schema", False) else None
        # A plan line is 20-50 tokens; a JSON entry, with its keys, up to 70.
        max_tokens = min(4096, 80 * suggested + 160 if schema else 60 * suggested + 120)
        asks = {
            "instruction": instruction,
            "length": length_rule(stated, suggested, self.max_section_words),
            "answer_format": JSON_FORMAT if schema else LINES_FORMAT,
            "target_words": stated or "about 2000",  # for prompt overrides written before `length`
        }
        problems: list[str] = []
        messages = self.prompt.render(**asks, sections=suggested)
        for attempt in range(self.max_repairs + 1):
            reply = await self.llm.complete(
                messages,
                role="planner",
                trace=trace,
                max_tokens=max_tokens,
                temperature=self.temperature,
                **({"json_schema": schema} if schema else {}),
            )
            try:
                reading = read_plan(reply.text)
                sections = reading.sections
                check_on_topic(sections, instruction)
                check_shape(sections, stated, self.max_section_words)
                target = stated or sum(s.words for s in sections) or WORDS_PER_SECTION * len(sections)
                sections = normalize_plan(sections, target, max_section_words=self.max_section_words)
                problems += reading.repairs
                clean = attempt == 0 and not reading.repairs
                return PlanOutcome(sections, "model" if clean else "repaired", target, problems)
            except MalformedOutput as exc:
                problems.append(str(exc))
                messages = self.repair_prompt.render(
                    **asks, reply=reply.text.strip() or "(nothing)", problem=str(exc)
                )
        target = stated or 2000
        sections = derive_plan(instruction, target)
        record_event(trace, "planner", "fallback_plan", render_plan(sections), reason="; ".join(problems))
        return PlanOutcome(sections, "fallback", target, problems)


LINES_FORMAT = """Answer with one section per line, in exactly this format, and nothing else:
1. Title: ... - Main Point: ... - Word Count: ... words
2. Title: ... - Main Point: ... - Word Count: ... words"""
JSON_FORMAT = """Answer in JSON, in exactly this shape:
{"sections": [{"title": "...", "main_point": "...", "words": 300}, ...]}"""


def length_rule(stated: int | None, sections: int, max_section_words: int = MAX_SECTION_WORDS) -> str:
    """The planning prompt's sentence on word counts, consistent with the length asked.

    A stated length is the sum the counts must reach, with a per-section range that this sum
    can meet (the paper's 200-1,000 words, lowered for a short piece); without one, the model
    chooses a length that suits the form.
    """
    if stated is None:
        return (
            "The instruction states no length: choose the total that suits what it asks for "
            f"(a short email is about 150 words, a long essay several thousand), with sections of "
            f"at most {max_section_words} words."
        )
    low = min(MIN_SECTION_WORDS, max(20, stated // max(1, sections)))
    return (
        f"The word counts must add up to {stated} words in all, each section between {low} and "
        f"{min(max_section_words, max(low, stated))} words."
    )


def plan_schema(sections: int) -> dict:
    """The JSON Schema a constrained backend holds a plan to: about `sections` entries, each a
    short title, a main point and a word count (bounds keep a small model from running on)."""
    return {
        "type": "object",
        "properties": {
            "sections": {
                "type": "array",
                "minItems": 1,
                "maxItems": max(4, 2 * sections),
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "minLength": 2, "maxLength": 80},
                        "main_point": {"type": "string", "minLength": 10, "maxLength": 250},
                        "words": {"type": "integer", "minimum": 10, "maximum": 5000},
                    },
                    "required": ["title", "main_point", "words"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["sections"],
        "additionalProperties": False,
    }


def check_shape(
    sections: list[Section], stated: int | None, max_section_words: int = MAX_SECTION_WORDS
) -> None:
    """Reject a plan whose structure cannot be what was asked: one section for a piece several
    sections long (a small model's summary of the instruction, not a plan).

    Raises:
        MalformedOutput: naming how many sections the piece needs.
    """
    if stated and len(sections) == 1 and stated > 1.5 * max_section_words:
        need = math.ceil(stated / max_section_words)
        raise MalformedOutput(
            f"it has one section for {stated} words; break the piece into at least {need} sections "
            f"of at most {max_section_words} words"
        )


def record_event(trace: Trace | None, role: str, event: str, text: str, **meta: object) -> None:
    """Put a non-call event (a fallback, a cut, a resume) in the trace, so a user sees it."""
    if trace is not None:
        trace.add(EventRecord(role, event, text, meta))


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
            s = Section.from_any(item)
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
    "MAX_SECTION_WORDS",
    "MIN_SECTION_WORDS",
    "PlanOutcome",
    "PlanReading",
    "Planner",
    "Section",
    "derive_plan",
    "normalize_plan",
    "parse_plan",
    "plan_schema",
    "read_plan",
    "read_plan_text",
    "record_event",
    "render_plan",
    "target_from_instruction",
    "user_plan",
]
