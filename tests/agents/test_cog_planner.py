"""CogWriter's planner: rule extraction of unit structure and constraints, tolerant model parsing."""

import asyncio

import pytest

from longweave.agents.cog_planner import CogPlanner, brief_of, unit_structure, units_from_user
from longweave.agents.constraints import extract_constraints, parse_constraints, terms_of
from longweave.agents.planner import Planner
from longweave.errors import InputError
from longweave.llm import ScriptedLLM
from longweave.prompts import load_prompt

INSTRUCTION = (
    "Write a diary for all 52 weeks of the year. In week 10, mention the wedding. "
    "From week 20 to 25, it snows. Every 4th week, describe a doctor's visit. "
    "Weeks 30-31: a trip to 'Lisbon'. Every other week, water the garden. Never mention politics."
)


def test_unit_structure():
    assert unit_structure(INSTRUCTION) == ("Week", 52)
    assert unit_structure("Design a 100-floor skyscraper") == ("Floor", 100)
    assert unit_structure("a menu for the 12 months") == ("Month", 12)
    assert unit_structure("Write an essay on tides.") is None


def test_rule_extraction_of_common_phrasings():
    found, sentences = extract_constraints(INSTRUCTION, "Week", 52)
    got = {(c.kind, c.start, c.end, c.every, c.terms) for c in found}
    assert got == {
        ("single", 10, 10, 0, ("wedding",)),
        ("range", 20, 25, 0, ("snows",)),
        ("periodic", 4, None, 4, ("doctor's", "visit")),
        ("range", 30, 31, 0, ("Lisbon",)),
        ("periodic", 2, None, 2, ("water", "garden")),
        ("forbid", 1, 52, 0, ("politics",)),
    }
    brief = brief_of(INSTRUCTION, sentences, found)
    assert brief == "Write a diary for all 52 weeks of the year."


def test_terms_of_prefers_quoted_phrases():
    assert terms_of('mention "the red door" again') == ("the red door",)
    assert terms_of("describe a birthday party") == ("birthday", "party")


def test_model_lists_parse_from_json_or_lines():
    lines = (
        "Constraints:\n- single | 10 | mention the wedding\n- range | 20-25 | it snows\n"
        "periodic | every 4 | doctor"
    )
    assert [(c.kind, c.start, c.end, c.every) for c in parse_constraints(lines)] == [
        ("single", 10, 10, 0), ("range", 20, 25, 0), ("periodic", 4, None, 4)
    ]  # fmt: skip
    js = '```json\n{"constraints": [{"type": "range", "units": [3, 5], "text": "rain"}, {"kind": "x"}]}\n```'
    assert [(c.kind, c.start, c.end) for c in parse_constraints(js)] == [("range", 3, 5)]
    assert parse_constraints("none") == [] and parse_constraints("I cannot help.") == []


def _planner(llm):
    return CogPlanner(
        llm, load_prompt("cog_planner"), Planner(llm, load_prompt("planner"), load_prompt("planner_repair"))
    )


def test_model_constraints_out_of_range_are_dropped_and_rules_fill_what_the_model_missed():
    llm = ScriptedLLM(["single | 60 | mention the moon\nsingle | 3 | mention the harbor"])
    plan = asyncio.run(_planner(llm).plan("A diary of 5 weeks. In week 2, mention the garden."))
    assert [(c.start, c.terms) for c in plan.constraints] == [(2, ("garden",)), (3, ("harbor",))]
    assert any("covers no unit" in p for p in plan.problems) and any("missed" in p for p in plan.problems)
    assert [u.title for u in plan.units] == [f"Week {k}" for k in range(1, 6)]
    assert [c.terms for c in plan.units[1].constraints] == [("garden",)] and not plan.units[0].constraints


def test_without_countable_units_the_section_planner_gives_the_units():
    llm = ScriptedLLM(
        rules=[
            (
                r"Break down",
                "1. Title: Tides - Main Point: why - Word Count: 300 words\n"
                "2. Title: Moon - Main Point: pull - Word Count: 300 words",
            ),
            (r"single \| UNIT", "none"),
        ]  # fmt: skip
    )
    plan = asyncio.run(_planner(llm).plan("Write a 600-word essay on tides."))
    assert [(u.title, u.words, u.label) for u in plan.units] == [("Tides", 300, ""), ("Moon", 300, "")]
    assert plan.source == "model"


def test_user_units_with_dependencies_by_number_or_title():
    units = units_from_user([{"title": "A", "words": 50}, "B", {"title": "End", "depends_on": ["A", 2]}])
    assert [u.depends_on for u in units] == [[], [], [1, 2]] and units[1].words == 150
    with pytest.raises(InputError, match="needs a title"):
        units_from_user([{"words": 3}])
