"""CogWriter's planning agent: a global plan of units, each with the constraints that apply to it.

After CogWriter (Wan et al., 2025, "A Cognitive Writing Perspective for Constrained Long-Form
Text Generation", Section 3.1): the planner splits the task into units (weeks, floors,
chapters) and, for every unit, lists the explicit constraints the instruction places on it:
*single* ("in week 10 ..."), *range* ("from week 20 to 25 ...") and *periodic* ("every 4th
week ..."). The paper leaves this to the model; a small model drops constraints, so here:

- the unit structure ("52 weeks", "100 floors") and the common constraint phrasings are read by
  rules (`extract_constraints`), which also serve as a cross-check of the model's list: a model
  constraint that names units outside the piece is dropped (and noted), a rule constraint the
  model missed is added;
- the model's list is parsed tolerantly (JSON or ``kind | units | text`` lines);
- a piece without countable units falls back to AgentWrite's planner (sections as units);
- a "summary" / "conclusion" asked for becomes a unit that depends on all the others.

Each writer sees the instruction *without* the constraint sentences (`brief`) plus only its own
unit's constraints, so no unit is distracted by (or acts on) another unit's constraints.

Deliberately not here: checking text against constraints (``agents/monitor.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from longweave.agents.constraints import Constraint
from longweave.agents.plan import target_from_instruction
from longweave.agents.planner import Planner
from longweave.errors import InputError, MalformedOutput
from longweave.llm import LLM, Trace
from longweave.llm.usage import record_event
from longweave.prompts import PromptTemplate

DEFAULT_UNIT_WORDS = 150
MAX_UNITS = 500
_UNIT_WORDS = (
    "weeks?|floors?|months?|days?|chapters?|rooms?|levels?|episodes?|letters?|entries|entry|"
    "sections?|parts?|stories|story|lessons?|steps?|stages?|years?"
)
_UNIT_COUNT = re.compile(rf"\b(\d{{1,3}})[\s-]+(?:\w+[\s-]+)?({_UNIT_WORDS})\b", re.I)
_EACH_WORDS = re.compile(
    r"\b(?:about|around|roughly|approximately)?\s*(\d{1,5})\s*words?\s+(?:each|per)\b", re.I
)
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
_SUMMARY = re.compile(r"\b(conclu\w+|summary|summari[sz]e\w*|recap|epilogue|overview at the end)\b", re.I)


@dataclass(slots=True)
class Unit:
    """One unit of the plan.

    Attributes:
        number: 1-based position in the piece.
        title: its heading ("Week 10"); ``label`` is the unit word ("Week"), "" for sections.
        point: what it is about (from the model's or user's plan), may be "".
        words: its word budget.
        constraints: the constraints that cover it.
        depends_on: numbers of units that must be written first (a summary depends on all).
    """

    number: int
    title: str
    words: int
    point: str = ""
    label: str = ""
    constraints: list[Constraint] = field(default_factory=list)
    depends_on: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "title": self.title,
            "point": self.point,
            "words": self.words,
            "label": self.label,
            "constraints": [c.to_dict() for c in self.constraints],
            "depends_on": list(self.depends_on),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Unit:
        return cls(
            int(d["number"]),
            str(d["title"]),
            int(d["words"]),
            str(d.get("point", "")),
            str(d.get("label", "")),
            [Constraint.from_dict(c) for c in d.get("constraints") or ()],
            [int(x) for x in d.get("depends_on") or ()],
        )


@dataclass(slots=True)
class CogPlan:
    """The global plan: units in order, the constraints, where they came from."""

    units: list[Unit]
    constraints: list[Constraint]
    label: str
    source: str
    brief: str
    problems: list[str] = field(default_factory=list)

    @property
    def target_words(self) -> int:
        return sum(u.words for u in self.units)

    def to_dict(self) -> dict:
        return {
            "units": [u.to_dict() for u in self.units],
            "constraints": [c.to_dict() for c in self.constraints],
            "label": self.label,
            "source": self.source,
            "brief": self.brief,
            "problems": self.problems,
        }

    @classmethod
    def from_dict(cls, d: dict) -> CogPlan:
        return cls(
            [Unit.from_dict(u) for u in d["units"]],
            [Constraint.from_dict(c) for c in d["constraints"]],
            d["label"],
            d["source"],
            d["brief"],
            list(d.get("problems") or ()),
        )


# -- rules ----------------------------------------------------------------------------------


def unit_structure(instruction: str) -> tuple[str, int] | None:
    """The unit word and count an instruction asks for ("52 weeks" -> ("Week", 52)), or None."""
    for m in _UNIT_COUNT.finditer(instruction):
        n = int(m[1])
        if 2 <= n <= MAX_UNITS:
            word = m[2].lower()
            singular = {"entries": "entry", "stories": "story"}.get(word, re.sub(r"s$", "", word))
            return singular.capitalize(), n
    return None


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


def brief_of(instruction: str, sentences: list[str], constraints: list[Constraint]) -> str:
    """The instruction without the sentences that state constraints (each unit gets its own)."""
    text = instruction
    for s in sentences:
        text = text.replace(s, "")
    kept = []
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        if any(c.text and c.text.lower() in sentence.lower() for c in constraints):
            continue
        kept.append(sentence)
    text = re.sub(r"\s+([.,;])", r"\1", re.sub(r"[ \t]+", " ", " ".join(kept)))
    return re.sub(r"([.;,])[.;,]+", r"\1", text).strip(" ,;") or instruction


def assign(units: list[Unit], constraints: list[Constraint]) -> None:
    """Put each constraint on the units it covers (forbid on every unit in its range)."""
    n = len(units)
    for c in constraints:
        for number in c.units(n):
            units[number - 1].constraints.append(c)


def render_constraints(unit: Unit) -> str:
    """A unit's constraints as prompt lines (what its writer must honour)."""
    lines = []
    for c in unit.constraints:
        if c.kind == "forbid":
            lines.append(f"- Do NOT mention: {', '.join(c.terms)} ({c.text})")
        else:
            lines.append(f"- {c.text} (must mention: {', '.join(c.terms)})")
    return "\n".join(lines) or "- (no specific constraint for this unit)"


# -- the agent ------------------------------------------------------------------------------


class CogPlanner:
    """Builds the `CogPlan`: units by rule (or AgentWrite's planner), constraints by model + rules.

    Args:
        llm: the model.
        prompt: the constraint-extraction prompt (variables: instruction, label, n_units).
        section_planner: AgentWrite's `Planner`, for pieces without countable units.
        use_model: ask the model for constraints (True) or use the rules only (False).
    """

    def __init__(
        self, llm: LLM, prompt: PromptTemplate, section_planner: Planner, *, use_model: bool = True
    ) -> None:
        self.llm = llm
        self.prompt = prompt
        self.section_planner = section_planner
        self.use_model = use_model

    async def plan(
        self, instruction: str, target_words: int | None = None, *, user_units: list[Unit] | None = None,
        trace: Trace | None = None,
    ) -> CogPlan:  # fmt: skip
        """Plan `instruction`; `user_units` (the user's outline) replaces the unit structure."""
        problems: list[str] = []
        structure = unit_structure(instruction)
        if user_units is not None:
            units, source = user_units, "user"
            label = structure[0] if structure else "Section"
        elif structure is not None:
            label, n = structure
            each = _per_unit(instruction, target_words, n)
            units, source = [Unit(k, f"{label} {k}", each, label=label) for k in range(1, n + 1)], "rules"
        else:
            outcome = await self.section_planner.plan(instruction, target_words, trace=trace)
            units = [Unit(k + 1, s.title, s.words, s.point) for k, s in enumerate(outcome.sections)]
            label, source, problems = "Section", outcome.source, list(outcome.problems)
        n = len(units)
        ruled, sentences = extract_constraints(instruction, label, n)
        constraints = list(ruled)
        if self.use_model:
            modelled = await self._ask(instruction, label, n, trace, problems)
            if modelled:
                source = f"{source}+model"
            keys = {c.key() for c in constraints}
            for c in modelled:
                if not c.units(n):
                    problems.append(f"model constraint {c.text!r} covers no unit of 1..{n}; dropped")
                elif c.key() not in keys:
                    constraints.append(c)
                    keys.add(c.key())
            missed = [c for c in ruled if c.key() not in {m.key() for m in modelled}]
            if modelled and missed:
                problems.append(f"the model missed {len(missed)} constraint(s) the rules found; added")
        for c in constraints:
            if c.kind != "forbid" and not c.units(n):
                problems.append(f"constraint {c.text!r} covers no unit of 1..{n}")
        constraints = [c for c in constraints if c.units(n)]
        for u in units:
            u.constraints = [c for c in u.constraints if c.key() not in {k.key() for k in constraints}]
        assign(units, constraints)
        if user_units is None and structure is not None and _SUMMARY.search(_strip(instruction, sentences)):
            last = Unit(n + 1, "Conclusion", max(units[0].words, 100), "sum up the whole piece", "",
                        depends_on=[u.number for u in units])  # fmt: skip
            units.append(last)
        if problems:
            record_event(trace, "planner", "plan_problems", "; ".join(problems))
        return CogPlan(
            units, constraints, label, source, brief_of(instruction, sentences, constraints), problems
        )

    async def _ask(
        self, instruction: str, label: str, n: int, trace: Trace | None, problems: list[str]
    ) -> list[Constraint]:
        messages = self.prompt.render(instruction=instruction, label=label.lower(), n_units=n)
        reply = await self.llm.complete(
            messages, role="planner", trace=trace, max_tokens=600, temperature=0.0
        )
        try:
            found = parse_constraints(reply.text)
        except MalformedOutput as exc:  # pragma: no cover - parse_constraints is tolerant
            problems.append(str(exc))
            return []
        if not found and reply.text.strip() and "none" not in reply.text.lower():
            problems.append("the model's constraint list could not be read; used the rules")
        return found


def _strip(instruction: str, sentences: list[str]) -> str:
    for s in sentences:
        instruction = instruction.replace(s, "")
    return instruction


def _per_unit(instruction: str, target_words: int | None, n: int) -> int:
    if target_words is not None:
        return max(20, target_words // n)
    each = _EACH_WORDS.search(instruction)
    if each:
        return max(20, int(each[1]))
    stated = target_from_instruction(instruction)
    return max(20, stated // n) if stated else DEFAULT_UNIT_WORDS


def units_from_user(items: list) -> list[Unit]:
    """The user's outline as units: dicts with title, words, optional point, constraints
    (strings or constraint dicts) and depends_on (unit numbers or titles)."""
    if not isinstance(items, list) or not items:
        raise InputError("the plan must be a non-empty list of units (title, words); fix the plan file.")
    units = []
    for k, item in enumerate(items, 1):
        if isinstance(item, str):
            item = {"title": item}
        if not isinstance(item, dict) or not str(item.get("title", "")).strip():
            raise InputError(f"plan entry {k} needs a title; give each unit a title and words.")
        words = int(item.get("words") or DEFAULT_UNIT_WORDS)
        if words < 1:
            raise InputError(f"plan entry {k} ({item['title']!r}) needs a positive word count.")
        cons = []
        for c in item.get("constraints") or ():
            cons.append(Constraint.from_dict({**c, "start": k}) if isinstance(c, dict)
                        else Constraint("single", str(c), k, k, 0, terms_of(str(c))))  # fmt: skip
        units.append(Unit(k, str(item["title"]).strip(), words, str(item.get("point", "")), "", cons))
    titles = {u.title.lower(): u.number for u in units}
    for item, unit in zip(items, units, strict=True):
        deps = item.get("depends_on") if isinstance(item, dict) else None
        for d in deps or ():
            number = titles.get(str(d).lower()) if not str(d).isdigit() else int(d)
            if number is None or not 1 <= number <= len(units) or number == unit.number:
                raise InputError(
                    f"unit {unit.title!r} depends on {d!r}, which is not another unit of the plan."
                )
            unit.depends_on.append(number)
    return units


__all__ = [
    "CogPlan",
    "CogPlanner",
    "Unit",
    "assign",
    "brief_of",
    "extract_constraints",
    "parse_constraints",
    "render_constraints",
    "terms_of",
    "unit_structure",
    "units_from_user",
]
