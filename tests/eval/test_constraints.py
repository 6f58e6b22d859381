"""Constraint checks and the LongGenBench-style task generator."""

import doctest

import pytest

import longweave.eval.constraints as constraints_module
from longweave.agents.constraints import Constraint, has_term
from longweave.errors import InputError
from longweave.eval.constraints import (
    TASK_NAMES,
    check_constraints,
    generate_task,
    split_units,
)


def test_docstring_examples():
    assert doctest.testmod(constraints_module).failed == 0


def test_units_covered_by_each_kind():
    assert Constraint("single", "x", 10, 10, terms=("x",)).units(52) == [10]
    assert Constraint("range", "x", 20, 25, terms=("x",)).units(52) == [20, 21, 22, 23, 24, 25]
    assert Constraint("periodic", "x", 4, None, 4, ("x",)).units(13) == [4, 8, 12]
    assert Constraint("range", "x", 50, 60, terms=("x",)).units(52) == [50, 51, 52]


def test_terms_match_inflections_but_not_other_words():
    assert has_term("It snowed all day", "snows") and has_term("snowing", "snow")
    assert has_term("The Lighthouse shone", "lighthouse")
    assert not has_term("a bowl of slow stew", "snow")
    assert has_term("a swimming pool on top", "swimming pool")
    assert not has_term("a pool for swimming", "swimming pool")


def test_split_units_by_headings_or_label_lines_heading_and_label_line_are_one_unit():
    text = "Intro\n## Week 1\n\nWeek 1: calm.\n\n**Week 2** snow\nWeek 3 rain\nWeek 9 out of range"
    units = split_units(text, "Week", 3)
    assert units == {1: "## Week 1\n\nWeek 1: calm.", 2: "**Week 2** snow", 3: "Week 3 rain"}


def test_rates_count_missing_units_as_failed():
    cs = [
        Constraint("single", "wedding", 2, 2, terms=("wedding",)),
        Constraint("range", "snow", 1, 3, terms=("snow",)),
        Constraint("periodic", "doctor", 2, None, 2, ("doctor",)),
        Constraint("forbid", "no volcano", 1, 4, terms=("volcano",)),
    ]
    text = "## Week 1\nsnow\n## Week 2\nwedding snow doctor\n## Week 3\nrain volcano"
    r = check_constraints(text, cs, 4, "Week")
    assert r.completion_rate == 0.75
    assert r.rates == {"single": 1.0, "range": 2 / 3, "periodic": 0.5, "forbid": 0.5}
    assert ("snow", 3) in r.failures and ("doctor", 4) in r.failures and ("no volcano", 3) in r.failures
    assert ("no volcano", 4) in r.failures  # a missing unit fails every constraint on it
    assert r.overall == pytest.approx(6 / 10)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_generated_tasks_state_every_constraint_and_are_seeded(name):
    t = generate_task(name, seed=7)
    assert generate_task(name, seed=7) == t and generate_task(name, seed=8) != t
    assert sorted(c.kind for c in t.constraints) == ["periodic"] * 2 + ["range"] * 2 + ["single"] * 3
    for c in t.constraints:
        assert c.text in t.instruction and c.units(t.n_units) and c.terms
    assert t.n_units == {"diary": 52, "skyscraper": 100, "menu": 12}[name]


def test_generator_and_checker_reject_bad_input():
    with pytest.raises(InputError, match="unknown task"):
        generate_task("novel")
    with pytest.raises(InputError, match="at most"):
        generate_task("menu", singles=9)
    with pytest.raises(InputError, match="no terms"):
        check_constraints("x", [Constraint("single", "be nice", 1, 1)], 2)
    with pytest.raises(InputError, match="kind"):
        Constraint.from_dict({"kind": "sometimes", "start": 1})
