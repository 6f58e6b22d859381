"""CogWriter with rule-based writers: constraints reach their unit only, units run in parallel,
violations are caught and fixed within the bound, dependencies are honoured."""

import doctest
import re
import time

import pytest

import longweave.pipelines.cogwriter as cogwriter_module
from longweave import count_words
from longweave.errors import ConfigError, InputError
from longweave.eval.constraints import check_constraints, generate_task
from longweave.pipelines.agentwrite import AgentWrite
from longweave.pipelines.cogwriter import CogResult, CogWriter
from tests.pipelines.cog_writers import cog_llm
from tests.pipelines.scripted_writers import exact_llm

WRITER_PROMPT = re.compile(r'Write unit (\d+) of \d+: "([^"]+)"')


def writer_prompts(llm):
    """unit number -> its first-draft writer prompt."""
    out = {}
    for p in llm.prompts:
        m = WRITER_PROMPT.search(p)
        if m:
            out.setdefault(int(m[1]), p)
    return out


@pytest.mark.parametrize("name", ["diary", "skyscraper", "menu"])
def test_each_constraint_reaches_its_units_prompts_and_no_other(name):
    task = generate_task(name, n_units=16, seed=3)
    llm = cog_llm()
    result = CogWriter(llm).run(task.instruction)
    prompts = writer_prompts(llm)
    assert sorted(prompts) == list(range(1, 17))
    for c in task.constraints:
        covered = set(c.units(task.n_units))
        for number, prompt in prompts.items():
            assert (c.text in prompt) == (number in covered), (c.text, number)
    report = check_constraints(result.text, task.constraints, task.n_units, task.label)
    assert report.completion_rate == 1.0 and report.overall == 1.0
    assert all(r["passed"] and r["revisions"] == 0 for r in result.reviews)
    headings = re.findall(r"^## (.+)$", result.text, re.M)
    assert headings == [f"{task.label} {k}" for k in range(1, 17)]  # assembled in plan order


def test_units_are_written_concurrently_well_under_half_of_agentwrite():
    plan = [{"title": f"Part {k}", "words": 40} for k in range(1, 13)]
    cog_model = cog_llm(latency=0.3)
    started = time.monotonic()
    cog = CogWriter(cog_model, concurrency=12, use_model_planner=False).run("Write twelve parts.", plan=plan)
    cog_seconds = time.monotonic() - started
    agent_model = exact_llm(latency=0.3)
    started = time.monotonic()
    agent = AgentWrite(agent_model, context="full").run("Write twelve parts.", plan=plan)
    agent_seconds = time.monotonic() - started
    assert len(cog.sections) == len(agent.sections) == 12
    assert cog_seconds < 0.5 * agent_seconds, (cog_seconds, agent_seconds)
    assert cog.graph_waves == [list(range(1, 13))]


def test_concurrency_bounds_units_in_flight():
    in_flight, peak = [0], [0]
    base = cog_llm()

    class Counting(type(base)):
        async def generate(self, messages, **params):
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            try:
                return await super().generate(messages, **params)
            finally:
                in_flight[0] -= 1

    llm = Counting(base._responder, latency=0.05)
    plan = [{"title": f"Part {k}", "words": 30} for k in range(1, 10)]
    CogWriter(llm, concurrency=3, use_model_planner=False).run("Nine parts.", plan=plan)
    assert peak[0] == 3


def test_violations_are_caught_every_time_and_fixed_within_the_bound():
    task = generate_task("diary", n_units=12, seed=5)
    llm = cog_llm(violate=1)  # every first draft leaves out its required terms
    result = CogWriter(llm, max_revisions=2, use_model_planner=False).run(task.instruction)
    constrained = {u for c in task.constraints for u in c.units(task.n_units)}
    for number, review in enumerate(result.reviews, 1):
        if number in constrained:
            assert review["failed_before"] == [["required"] * len(review["failed_before"][0])]
            assert review["revisions"] == 1 and review["passed"]
        else:
            assert review["revisions"] == 0 and review["failed_before"] == []
    assert check_constraints(result.text, task.constraints, 12, "Week").overall == 1.0
    reviser = result.usage.by_role["reviser"]
    assert reviser.calls == len(constrained)
    for p in llm.prompts:
        if "Current draft" in p:  # revision prompts name what is missing
            assert "Follow the constraint" in p and "explicitly" in p


def test_revisions_stop_at_max_revisions_and_report_the_failure():
    task = generate_task("menu", n_units=8, singles=1, ranges=0, periodics=0, seed=1)
    llm = cog_llm(violate=99)  # never obeys
    result = CogWriter(llm, max_revisions=2, use_model_planner=False).run(task.instruction)
    unit = task.constraints[0].start
    review = result.reviews[unit - 1]
    assert review["revisions"] == 2 and not review["passed"] and len(review["failed_before"]) == 2
    assert [c["name"] for c in review["checks"] if not c["passed"]] == ["required"]
    assert result.usage.by_role["reviser"].calls == 2
    assert len(result.sections) == 8 and all(result.sections)  # the rest is not lost


def test_forbidden_terms_are_caught_and_removed():
    llm = cog_llm(forbidden_leak="volcano")
    result = CogWriter(llm, use_model_planner=False).run(
        "A diary of 4 weeks, 30 words each. Never mention the volcano. In week 2, mention the garden."
    )
    assert all("volcano" not in s for s in result.sections)
    assert all(r["failed_before"] == [["forbidden"]] for r in result.reviews)
    assert "garden" in result.sections[1]


def test_dependent_unit_is_written_after_the_units_it_depends_on():
    log: list = []
    llm = cog_llm(log=log, latency=0.05)
    plan = [{"title": f"Chapter {k}", "words": 30} for k in range(1, 6)]
    plan.append({"title": "Conclusion", "words": 30, "depends_on": [1, 2, 3, 4, 5]})
    result = CogWriter(llm, use_model_planner=False).run("Five chapters and a conclusion.", plan=plan)
    assert result.graph_waves == [[1, 2, 3, 4, 5], [6]]
    order = [title for title, _, _ in log]
    assert order[-1] == "Conclusion" and order.count("Conclusion") == 1
    conclusion_prompt = writer_prompts(llm)[6]
    for k in range(1, 6):  # it saw what the others wrote
        assert f"## Chapter {k}\nChapter {k}. " in conclusion_prompt
    assert result.sections[5].startswith("Conclusion. Recalling Chapter 1, Chapter 2")


def test_instruction_asking_for_a_conclusion_adds_a_dependent_unit():
    llm = cog_llm()
    result = CogWriter(llm, use_model_planner=False).run(
        "A diary of 4 weeks, 30 words each, and a conclusion. In week 3, mention the garden."
    )
    assert [u["title"] for u in result.plan][-1] == "Conclusion"
    assert result.plan[-1]["depends_on"] == [1, 2, 3, 4]
    assert result.graph_waves == [[1, 2, 3, 4], [5]]


def test_model_constraints_are_merged_and_cross_checked():
    def reply(messages):
        p = messages[-1]["content"]
        if "single | UNIT" in p:
            return "single | 2 | mention the harbor\nsingle | 99 | mention the moon\nrange | 3-4 | it rains"
        return cog_llm()._responder(messages)

    from longweave import ScriptedLLM

    llm = ScriptedLLM(reply)
    result = CogWriter(llm).run("A diary of 4 weeks, 30 words each. In week 1, mention the garden.")
    kinds = sorted((c["kind"], c["start"], c["text"]) for c in result.constraints)
    assert kinds == [
        ("range", 3, "it rains"),
        ("single", 1, "mention the garden"),
        ("single", 2, "mention the harbor"),
    ]
    assert result.plan_source == "rules+model"
    assert "harbor" in result.sections[1] and "rain" in result.sections[2] and "rain" in result.sections[3]


def test_result_shape_trace_and_usage():
    result = CogWriter(cog_llm(), use_model_planner=False).run("A diary of 3 weeks, 25 words each.")
    assert isinstance(result, CogResult)
    assert result.words == count_words(result.text) > 75
    assert result.usage.total.calls == len(result.trace.calls) == 3
    assert set(result.usage.by_role) == {"writer"}
    nodes = set(CogWriter(cog_llm()).graph.get_graph().nodes)
    assert {"plan", "schedule", "unit"} <= nodes


@pytest.mark.parametrize(
    "kwargs, plan, error, match",
    [
        ({"concurrency": 0}, None, ConfigError, "concurrency"),
        ({"max_revisions": -1}, None, ConfigError, "max_revisions"),
        ({}, [{"title": "A", "depends_on": [2]}, {"title": "B", "depends_on": ["A"]}], InputError, "cycle"),
        ({}, [{"title": "A", "depends_on": [7]}], InputError, "not another unit"),
        ({}, [], InputError, "non-empty"),
    ],
)
def test_bad_configuration_and_plans_raise_clear_errors(kwargs, plan, error, match):
    with pytest.raises(error, match=match):
        CogWriter(cog_llm(), **kwargs).run("Write.", plan=plan)


def test_empty_instruction_is_an_input_error():
    with pytest.raises(InputError, match="empty"):
        CogWriter(cog_llm()).run("  ")


def test_docstring_examples():
    import longweave.agents.reviewer as reviewer_module

    assert doctest.testmod(cogwriter_module).failed == 0
    assert doctest.testmod(reviewer_module).failed == 0
