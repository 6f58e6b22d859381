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

import re
from dataclasses import dataclass, field

from longweave.agents.constraints import Constraint, extract_constraints, parse_constraints, terms_of
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
    "render_constraints",
    "unit_structure",
    "units_from_user",
]
