"""The monitor decides by rule what a rule can decide; the judge only answers the rest."""

import asyncio

from longweave.agents.cog_planner import Unit
from longweave.agents.constraints import Constraint
from longweave.agents.monitor import Monitor
from longweave.agents.reviewer import revision_instructions
from longweave.llm import ScriptedLLM
from longweave.prompts import load_prompt


def check(unit, text, llm=None):
    llm = llm or ScriptedLLM()  # no reply: any model call would fail the test
    return asyncio.run(Monitor(llm, load_prompt("monitor")).check(unit, text))


def test_rule_checks_length_label_required_and_forbidden():
    unit = Unit(3, "Week 3", 10, label="Week", constraints=[
        Constraint("range", "it snows", 2, 4, terms=("snow",)),
        Constraint("forbid", "never politics", 1, 5, terms=("politics",)),
    ])  # fmt: skip
    ok = check(unit, "Week 3 was cold and it snowed twice all day.")
    assert ok.passed and [c.name for c in ok.checks] == ["length", "label", "required", "forbidden"]
    bad = check(unit, "Week three: politics, politics and more politics, all of it " * 2)
    assert [c.name for c in bad.failed] == ["length", "label", "required", "forbidden"]
    steps = revision_instructions(unit, bad)
    assert steps[0].startswith("Make it about 10 words") and "'Week 3'" in steps[1]
    assert "mention snow" in steps[2] and "Remove every mention of politics" in steps[3]


def test_judge_only_for_constraints_without_terms_and_unsure_passes():
    unit = Unit(1, "Part 1", 5, constraints=[Constraint("single", "be hopeful", 1, 1)])
    llm = ScriptedLLM(["NO.", "maybe?"])
    no = check(unit, "All is lost now.", llm)
    assert [(c.name, c.by, c.passed) for c in no.checks] == [
        ("length", "rule", True),
        ("judge", "model", False),
    ]
    unsure = check(unit, "All is lost now.", llm)
    assert unsure.passed and "judge_unsure" in unsure.checks[-1].detail
    assert len(llm.calls) == 2 and "be hopeful" in llm.prompts[0]
