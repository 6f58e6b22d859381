"""Constraint checks for long-form text split into units, as LongGenBench reports them.

After LongGenBench (Wu et al., 2024, "LongGenBench: Benchmarking Long-Form Generation in Long
Context LLMs"): a task asks for many units (52 diary weeks, 100 floors of a skyscraper, a menu
for each month) and places instructions on them: *single* (one unit: "in week 10 mention the
wedding"), *range* (units i..j: "from week 20 to 25 it snows") and *periodic* (every k-th unit:
"every 4th week a doctor's visit"). The paper reports the completion rate (the share of units
written) and, per kind, the share of (constraint, unit) pairs satisfied.

A constraint (`longweave.agents.constraints.Constraint`, the type CogWriter plans with) carries
``terms``: words that show it is met (checked in code, word-prefix match, so "snow" matches
"snowed"). LongGenBench asks a judge model instead; term checks are stricter and free, and are
what CogWriter's monitor uses where a rule can decide.

`generate_task` builds LongGenBench-style tasks (diary, skyscraper, menu...) with their
constraint sets, seeded, so benchmarks are reproducible.

Deliberately not here: judging free-form constraints with a model (``agents/monitor.py``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from longweave.agents.constraints import KINDS, Constraint, satisfied
from longweave.errors import InputError

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def split_units(text: str, label: str, n_units: int) -> dict[int, str]:
    """Split `text` into units by headings or lines that start with ``{label} N``.

    Args:
        text: the piece.
        label: the unit's name ("Week", "Floor", "Month").
        n_units: how many units the task has; numbers outside 1..n are ignored.

    Returns:
        unit number -> its text (a unit repeated later keeps its first occurrence).
    """
    marker = re.compile(rf"^\s{{0,3}}(?:#{{1,6}}\s*)?\**\s*{re.escape(label)}\s+(\d+)\b", re.I | re.M)
    found: list[tuple[int, int]] = []
    for m in marker.finditer(text):
        if not found or found[-1][1] != int(m[1]):  # "## Week 3" then "Week 3: ..." is one unit
            found.append((m.start(), int(m[1])))
    units: dict[int, str] = {}
    for k, (pos, number) in enumerate(found):
        end = found[k + 1][0] if k + 1 < len(found) else len(text)
        if 1 <= number <= n_units and number not in units:
            units[number] = text[pos:end].strip()
    return units


@dataclass
class ConstraintReport:
    """Completion as LongGenBench reports it.

    Attributes:
        completion_rate: units present / units asked for.
        rates: per kind, satisfied (constraint, unit) pairs / pairs asked for (a missing unit
            counts as failed); None for a kind the task does not have.
        checked: per kind, (satisfied, total) pair counts.
        failures: (constraint text, unit) pairs that failed.
    """

    completion_rate: float
    rates: dict[str, float | None]
    checked: dict[str, tuple[int, int]]
    failures: list[tuple[str, int]] = field(default_factory=list)

    @property
    def overall(self) -> float:
        done = sum(s for s, _ in self.checked.values())
        total = sum(t for _, t in self.checked.values())
        return done / total if total else 1.0


def check_constraints(
    units: dict[int, str] | str, constraints: list[Constraint], n_units: int, label: str = "Week"
) -> ConstraintReport:
    """Check every constraint on every unit it covers.

    Args:
        units: unit number -> text, or the whole piece (split with `split_units` by `label`).
        constraints: the task's constraints (each needs terms).
        n_units: how many units the task asks for.
        label: the unit's name, used when `units` is the whole text.

    Example:
        >>> c = Constraint("single", "mention the wedding", 2, terms=("wedding",))
        >>> r = check_constraints("## Week 1\\nquiet\\n## Week 2\\nthe weddings", [c], 2)
        >>> r.completion_rate, r.rates["single"]
        (1.0, 1.0)
    """
    if n_units < 1:
        raise InputError(f"n_units must be at least 1, not {n_units}.")
    if isinstance(units, str):
        units = split_units(units, label, n_units)
    counts = {k: [0, 0] for k in KINDS}
    failures = []
    for c in constraints:
        if not c.terms:
            raise InputError(f"the constraint {c.text!r} has no terms to check; give it terms.")
        for u in c.units(n_units):
            counts[c.kind][1] += 1
            if u in units and satisfied(c, units[u]):
                counts[c.kind][0] += 1
            else:
                failures.append((c.text, u))
    present = sum(1 for u in range(1, n_units + 1) if units.get(u, "").strip())
    return ConstraintReport(
        completion_rate=present / n_units,
        rates={k: (s / t if t else None) for k, (s, t) in counts.items()},
        checked={k: (s, t) for k, (s, t) in counts.items() if t},
        failures=failures,
    )


# -- LongGenBench-style tasks ------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A generated long-form task.

    Attributes:
        name: "diary", "skyscraper", "menu"...
        instruction: the full prompt, constraints written out in natural phrasing.
        label: the unit's name ("Week"); units are "{label} 1".."{label} n".
        n_units: how many units. ``words_per_unit``: the length asked for each.
        constraints: the constraints the instruction states, with their check terms.
    """

    name: str
    instruction: str
    label: str
    n_units: int
    words_per_unit: int
    constraints: list[Constraint]


# name -> (label, default units, opening, events: (phrase to place, check term))
_TEMPLATES: dict[str, tuple[str, int, str, list[tuple[str, str]]]] = {
    "diary": (
        "Week",
        52,
        "Write a diary for one year, one entry for each of the {n} weeks",
        [
            ("mention the wedding of my sister", "wedding"),
            ("describe a trip to the lighthouse", "lighthouse"),
            ("mention a visit to the dentist", "dentist"),
            ("describe a football match", "football"),
            ("mention the garden", "garden"),
            ("write about a snowstorm", "snowstorm"),
            ("mention a piano lesson", "piano"),
            ("describe a birthday party", "birthday"),
        ],
    ),
    "skyscraper": (
        "Floor",
        100,
        "Design a skyscraper of {n} floors and describe each floor",
        [
            ("place a swimming pool", "pool"),
            ("put a library", "library"),
            ("add a restaurant", "restaurant"),
            ("include a gym", "gym"),
            ("put a cinema", "cinema"),
            ("add a rooftop garden", "garden"),
            ("place an art gallery", "gallery"),
            ("add a conference hall", "conference"),
        ],
    ),
    "menu": (
        "Month",
        12,
        "Write a restaurant menu for each of the {n} months of the year",
        [
            ("feature pumpkin soup", "pumpkin"),
            ("serve strawberries", "strawberries"),
            ("offer a mushroom risotto", "mushroom"),
            ("include grilled salmon", "salmon"),
            ("serve chocolate cake", "chocolate"),
            ("offer lamb stew", "lamb"),
            ("include asparagus", "asparagus"),
            ("serve lemon tart", "lemon"),
        ],
    ),
}

TASK_NAMES = tuple(_TEMPLATES)


def generate_task(
    name: str = "diary",
    *,
    n_units: int | None = None,
    words_per_unit: int = 60,
    singles: int = 3,
    ranges: int = 2,
    periodics: int = 2,
    seed: int = 0,
) -> Task:
    """A LongGenBench-style task with single, range and periodic constraints, seeded.

    Args:
        name: one of `TASK_NAMES` ("diary" of weeks, "skyscraper" of floors, "menu" of months).
        n_units: units (default: the template's: 52 weeks, 100 floors, 12 months).
        words_per_unit: the length asked for each unit.
        singles, ranges, periodics: how many constraints of each kind.
        seed: the random seed (same seed, same task).

    Raises:
        InputError: unknown name, too few units, or more constraints than distinct events.
    """
    if name not in _TEMPLATES:
        raise InputError(f"unknown task {name!r}; use one of: {', '.join(TASK_NAMES)}.")
    label, default_n, opening, events = _TEMPLATES[name]
    n = n_units or default_n
    if n < 4:
        raise InputError(f"a task needs at least 4 units, not {n}.")
    if singles + ranges + periodics > len(events):
        raise InputError(f"the {name} task has {len(events)} events; ask for at most that many constraints.")
    rng = random.Random(seed)
    pool = rng.sample(events, singles + ranges + periodics)
    lower = label.lower()
    constraints, sentences = [], []
    for phrase, term in pool[:singles]:
        u = rng.randint(1, n)
        constraints.append(Constraint("single", phrase, u, u, 0, (term,)))
        sentences.append(f"In {lower} {u}, {phrase}.")
    for phrase, term in pool[singles : singles + ranges]:
        a = rng.randint(1, n - 2)
        b = min(n, a + rng.randint(1, max(1, min(5, n // 4))))
        constraints.append(Constraint("range", phrase, a, b, 0, (term,)))
        sentences.append(f"From {lower} {a} to {b}, {phrase}.")
    for phrase, term in pool[singles + ranges :]:
        k = rng.randint(3, max(3, min(8, n // 3)))
        constraints.append(Constraint("periodic", phrase, k, None, k, (term,)))
        sentences.append(f"Every {_ordinal(k)} {lower}, {phrase}.")
    instruction = (
        f"{opening.format(n=n)}, about {words_per_unit} words each; "
        f"start each one with a heading '{label} N'. " + " ".join(sentences)
    )
    return Task(name, instruction, label, n, words_per_unit, constraints)


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


__all__ = [
    "TASK_NAMES",
    "ConstraintReport",
    "Task",
    "check_constraints",
    "generate_task",
    "split_units",
]
