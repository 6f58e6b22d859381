import doctest
import re
import sqlite3

import pytest

import longweave.pipelines.agentwrite as agentwrite_module
from longweave.agents.writer import LengthPolicy, SectionFailed
from longweave.errors import BudgetError, ConfigError, InputError
from longweave.eval import length_score
from longweave.llm import ScriptedLLM
from longweave.pipelines.agentwrite import AgentWrite
from longweave.text import count_words
from tests.pipelines.scripted_writers import exact_llm, plan_lines, tag_of, words_for


def section_tags(result):
    """For each section, the set of section tags its sentences carry."""
    return [set(re.findall(r"(\w+) says \d+", body)) for body in result.sections]


def test_docstring_example_runs():
    assert doctest.testmod(agentwrite_module).failed == 0


def test_twenty_sections_of_500_land_within_5_percent_of_10000_words():
    llm = exact_llm(plan_lines(20, 500, "harbors"))
    result = AgentWrite(llm).run("Write a 10000-word history of harbors.")
    assert result.plan_source == "model" and len(result.plan) == 20
    assert abs(result.words - 10_000) <= 500 and result.words == count_words(result.text)
    assert length_score(10_000, result.text) >= 95
    # every section was written for its own plan entry, in order, once
    assert section_tags(result) == [{tag_of(s["title"])} for s in result.plan]
    assert [line[3:] for line in result.text.splitlines() if line.startswith("## ")] == [
        s["title"] for s in result.plan
    ]
    assert result.usage.by_role["writer"].calls == 20 and result.usage.by_role["summarizer"].calls == 19


def test_bounded_context_keeps_the_last_prompt_close_to_the_first():
    llm = exact_llm(plan_lines(20, 500, "harbors"))
    result = AgentWrite(llm).run("Write a 10000-word history of harbors.")
    firsts = [r.prompt_tokens for r in result.trace.by_role("writer")]
    # the last step adds only the bounded summary and tail (400 + 300 tokens) to the first
    assert firsts[-1] - firsts[0] <= 400 + 300 + 60
    assert max(firsts) <= firsts[0] + 760
    full = AgentWrite(exact_llm(plan_lines(20, 500), context_window=100_000), context="full").run(
        "Write a 10000-word history of harbors."
    )
    full_prompts = [r.prompt_tokens for r in full.trace.by_role("writer")]
    assert full_prompts[-1] > 8 * firsts[-1]  # the original resends everything written
    assert sum(firsts) + result.usage.by_role["summarizer"].prompt_tokens < 0.4 * sum(full_prompts)
    assert abs(full.words - 10_000) <= 500


def test_the_writer_sees_the_summary_and_the_end_of_the_previous_section():
    llm = exact_llm(plan_lines(3, 300))
    AgentWrite(llm, single_call_words=0).run("Write a 900-word piece on lanterns.")
    writer_prompts = [p for p in llm.prompts if "Now write section" in p]
    assert "So far: Topic1." in writer_prompts[1] and "Topic1 says" in writer_prompts[1]
    assert "So far: Topic2." in writer_prompts[2] and "Topic2 says" in writer_prompts[2]
    assert 'Now write section 3 of 3, "Topic3"' in writer_prompts[2]


def test_every_writing_step_begins_with_the_same_text_through_the_plan():
    # so a backend that caches a prompt prefix (llama.cpp, vLLM, OpenAI) evaluates only what changed
    llm = exact_llm(plan_lines(4, 400))
    AgentWrite(llm).run("Write a 1600-word piece on lanterns.")
    steps = [p for p in llm.prompts if "Now write section" in p]
    assert len(steps) == 4
    heads = {re.split(r"\n\n(?:Nothing is written yet|Summary of what is written)", p)[0] for p in steps}
    assert len(heads) == 1
    (head,) = heads
    assert all(f"{k}. Topic{k} " in head for k in range(1, 5)) and "lanterns" in head


def test_prompts_fit_the_window_and_max_tokens_follows_the_budget():
    llm = exact_llm(plan_lines(20, 500), context_window=8192)
    result = AgentWrite(llm).run("Write a 10000-word history of harbors.")
    for r in result.trace.by_role("writer"):
        assert r.prompt_tokens + r.meta["max_tokens"] <= 8192
        assert r.meta["max_tokens"] >= 1.4 * 450  # sized from the ~500-word budget


def test_short_sections_are_continued_and_long_ones_cut_at_a_sentence():
    short = AgentWrite(exact_llm(plan_lines(4, 500), ratio=0.4)).run("Write 2000 words on stones.")
    assert length_score(2000, short.words) >= 90
    assert short.usage.by_role["writer"].calls > 4  # continuations happened
    assert section_tags(short) == [{tag_of(s["title"])} for s in short.plan]

    long = AgentWrite(exact_llm(plan_lines(4, 500), ratio=3.0, context_window=100_000)).run(
        "Write 2000 words on stones."
    )
    assert length_score(2000, long.words) >= 90
    assert all(body.endswith(".") for body in long.sections)
    assert all(count_words(b) <= 500 * 1.15 for b in long.sections)


def test_a_section_that_keeps_failing_stops_the_run_and_is_never_saved(tmp_path):
    cp = tmp_path / "run.db"
    good = exact_llm(plan_lines(3, 300))
    calls = {"n": 0}

    def flaky(m, messages):  # section 2 fails every time
        calls["n"] += 1
        return "Error: Max tries. Failed." if "Topic2" in m[0] else good._reply(messages)

    bad = ScriptedLLM(rules=[(r"Now write section.*", flaky), (r".*", lambda m, msgs: good._reply(msgs))])
    with pytest.raises(
        SectionFailed,
        match=r"section 2 of 3 \('Topic2'\).*error or refusal.*run the same command again to resume",
    ):
        AgentWrite(bad, checkpoint=cp, single_call_words=0).run("Write 900 words on tea.")
    stored = [
        r[0] for r in sqlite3.connect(cp).execute("SELECT text FROM lw_texts WHERE key LIKE 'section/%'")
    ]
    assert len(stored) == 1 and not any("Max tries" in t for t in stored)

    fixed = exact_llm(plan_lines(3, 300))
    result = AgentWrite(fixed, checkpoint=cp, single_call_words=0).run("Write 900 words on tea.")
    assert result.resumed and "Max tries" not in result.text
    assert section_tags(result) == [{"Topic1"}, {"Topic2"}, {"Topic3"}]
    assert not any("Break down" in p for p in fixed.prompts)  # the plan was kept
    assert sum("Now write section" in p for p in fixed.prompts) == 2  # section 1 was not rewritten


def test_an_empty_reply_is_retried_then_fails():
    llm = exact_llm(plan_lines(2, 300))
    llm._rules.insert(0, (re.compile("Now write section"), ""))
    with pytest.raises(SectionFailed, match="came back empty"):
        AgentWrite(llm, length=LengthPolicy(max_retries=1), single_call_words=0).run("Write 600 words.")


def test_a_user_plan_skips_planning():
    llm = exact_llm()
    plan = [{"title": "Dawn", "words": 300}, {"title": "Dusk", "point": "the evening", "words": 200}]
    result = AgentWrite(llm).run("Write about a day.", plan=plan)
    assert result.plan_source == "user" and not any("Break down" in p for p in llm.prompts)
    assert result.target_words == 500 and abs(result.words - 500) <= 25
    assert 'section 2 of 2, "Dusk": the evening' in llm.prompts[-1]


def test_when_the_model_cannot_plan_a_derived_plan_is_used_and_traced():
    llm = exact_llm(plan_reply=None)  # the planner always answers "I cannot plan."
    result = AgentWrite(llm).run("Write a 2000-word story about a fox.")
    assert result.plan_source == "fallback" and len(result.plan) == 4
    assert [e.event for e in result.trace.events] == ["fallback_plan"]
    assert "fox" in result.plan[1]["point"] and length_score(2000, result.words) >= 95


def test_finished_runs_are_returned_from_the_checkpoint_and_other_instructions_refused(tmp_path):
    cp = tmp_path / "run.db"
    first = AgentWrite(exact_llm(plan_lines(2, 300)), checkpoint=cp, single_call_words=0).run(
        "Write 600 words on moss."
    )
    again_llm = exact_llm(plan_lines(2, 300))
    again = AgentWrite(again_llm, checkpoint=cp, single_call_words=0).run("Write 600 words on moss.")
    assert again.resumed and again.text == first.text and again_llm.calls == []
    with pytest.raises(InputError, match="different instruction.*another checkpoint path"):
        AgentWrite(exact_llm(), checkpoint=cp, single_call_words=0).run("Write 600 words on ferns.")


def test_checkpoints_do_not_grow_with_the_text(tmp_path):
    sizes = {}
    for words in (1000, 8000):
        cp = tmp_path / f"{words}.db"
        AgentWrite(exact_llm(plan_lines(8, words // 8)), checkpoint=cp, single_call_words=0).run(
            f"Write {words} words."
        )
        blobs = sqlite3.connect(cp).execute("SELECT max(length(checkpoint)) FROM checkpoints").fetchone()
        sizes[words] = blobs[0]
    assert sizes[8000] < 1.2 * sizes[1000] and sizes[8000] < 4000


def test_full_context_that_does_not_fit_the_window_is_a_budget_error():
    llm = exact_llm(plan_lines(6, 500), context_window=3000)
    with pytest.raises(BudgetError, match="leaves .* tokens.*bounded context"):
        AgentWrite(llm, context="full").run("Write 3000 words.")


def test_bad_arguments():
    with pytest.raises(InputError, match="empty"):
        AgentWrite(exact_llm()).run("   ")
    with pytest.raises(InputError, match="positive"):
        AgentWrite(exact_llm()).run("Write.", target_words=-3)
    with pytest.raises(ConfigError):
        AgentWrite(exact_llm(), context="everything")


def test_graph_shape():
    assert AgentWrite(exact_llm()).graph.get_graph().draw_mermaid() == (
        "---\nconfig:\n  flowchart:\n    curve: linear\n---\ngraph TD;\n"
        "\t__start__([<p>__start__</p>]):::first\n\tplan(plan)\n\twrite(write)\n"
        "\t__end__([<p>__end__</p>]):::last\n\t__start__ --> plan;\n\tplan -.-> __end__;\n"
        "\tplan -.-> write;\n\twrite -.-> __end__;\n\twrite -.-> write;\n"
        "\tclassDef default fill:#f2f0ff,line-height:1.2\n\tclassDef first fill-opacity:0\n"
        "\tclassDef last fill:#bfb6fc\n"
    )


def test_base_models_get_the_extractive_summary_and_others_the_model_one():
    base = exact_llm(plan_lines(3, 300))
    base.uses_chat_template = False  # as the llama.cpp / transformers backends say of a base model
    result = AgentWrite(base, single_call_words=0).run("Write 900 words.")
    assert "summarizer" not in result.usage.by_role
    assert "Topic1: Topic1 says 0" in [p for p in base.prompts if "Now write section 2" in p][0]
    chat = AgentWrite(exact_llm(plan_lines(3, 300)), single_call_words=0).run("Write 900 words.")
    assert chat.usage.by_role["summarizer"].calls == 2


@pytest.mark.parametrize("chat_template, planner_calls", [(True, 2), (False, 1)])
def test_a_base_model_is_not_asked_again_for_a_plan_it_could_not_write(chat_template, planner_calls):
    # a base model's re-ask only echoes the requested format (the embedded model: 48 s, no plan)
    llm = exact_llm(None)  # every planning reply is "I cannot plan."
    llm.uses_chat_template = chat_template
    result = AgentWrite(llm, single_call_words=0).run("Write a 1000-word piece on lanterns.")
    assert result.plan_source == "fallback" and result.usage.by_role["planner"].calls == planner_calls
    assert length_score(1000, result.words) >= 90
    explicit = exact_llm(None)
    explicit.uses_chat_template = chat_template
    again = AgentWrite(explicit, max_plan_repairs=2, single_call_words=0).run(
        "Write a 1000-word piece on lanterns."
    )
    assert again.usage.by_role["planner"].calls == 3


# -- instruct models -------------------------------------------------------------------------


def test_a_piece_that_fits_one_call_is_written_in_one_call_without_headings():
    email = "Dear Ms. Ortiz,\n\n" + words_for("Thanks", 140) + "\n\nBest regards,\nSam"
    llm = ScriptedLLM(
        rules=[(r"Write about \d+ words, in the language of the instruction and in the form", email)]
    )
    result = AgentWrite(llm).run("Write a 150-word thank-you email to my bank teller.")
    assert len(llm.calls) == 1 and result.plan_source == "single"
    assert result.text == email.strip() and "#" not in result.text and result.words >= 140


def test_without_a_stated_length_a_short_plan_becomes_one_call():
    llm = exact_llm(
        "1. Title: Thanks - Main Point: thank the teller - Word Count: 120 words",
        first=[(r"in the form it asks for", lambda m, _: words_for("Note", 118))],
    )
    result = AgentWrite(llm).run("Write a thank-you email to my bank teller.")
    assert result.plan_source == "single" and result.target_words == 120 and "##" not in result.text
    assert "states no length" in llm.prompts[0]


def test_a_model_that_rewrites_the_previous_section_first_gets_it_dropped():
    """An instruct model often restates what came before; no passage appears twice."""

    def write(m, messages):
        number, words = int(m["n"]), int(m["words"])
        before = words_for(f"Topic{number - 1}", 16) + " " if number > 1 else ""
        return before + words_for(f"Topic{number}", words)

    rule = r"Now write section (?P<n>\d+) of \d+.*Write about (?P<words>\d+) words"
    llm = exact_llm(plan_lines(3, 500), first=[(rule, write)])
    result = AgentWrite(llm).run("Write a 1500-word essay on harbors.")
    sentences = re.findall(r"[^.]+\.", result.text)
    assert len(sentences) == len(set(sentences)) and 0.9 * 1500 <= result.words <= 1.1 * 1500


def test_a_continuation_repeats_the_section_prompt_as_a_prefix_for_the_engine_cache():
    llm = exact_llm(plan_lines(3, 500), ratio=0.5)
    AgentWrite(llm).run("Write a 1500-word essay on harbors.")
    writer = [c for c in llm.calls if "Writing plan:" in c[-1]["content"]]
    first, cont = writer[0], next(c for c in writer if "ends with:" in c[-1]["content"])
    shared = first[-1]["content"].split("Now write section")[0]
    assert cont[0] == first[0] and cont[-1]["content"].startswith(shared) and len(shared) > 200


def test_a_model_on_this_cpu_gets_extractive_summaries_and_smaller_sections():
    cpu = exact_llm(plan_lines(3, 500))
    cpu.runs_on_cpu = True
    result = AgentWrite(cpu).run("Write a 1500-word essay on harbors.")
    assert not any("updated summary" in p for p in cpu.prompts)
    assert "about 5 sections" in cpu.prompts[0] and "between 200 and 600 words" in cpu.prompts[0]
    assert 0.9 * 1500 <= result.words <= 1.1 * 1500
    tail = lambda p: p.split("The previous section ends with:")[1].split("Now write")[0]  # noqa: E731
    later = [p for p in cpu.prompts if "The previous section ends with:" in p]
    assert later and all(count_words(tail(p)) <= 100 for p in later)  # 100 tokens of it, not 300
    server = exact_llm(plan_lines(3, 500))
    AgentWrite(server).run("Write a 1500-word essay on harbors.")
    assert any(count_words(tail(p)) > 150 for p in server.prompts if "The previous section ends with:" in p)
    assert "about 3 sections" in server.prompts[0] and "between 200 and 1000 words" in server.prompts[0]
    asked = exact_llm(plan_lines(3, 500))
    asked.runs_on_cpu = True
    AgentWrite(asked, section_words=500).run("Write a 1500-word essay on harbors.")
    assert "about 3 sections" in asked.prompts[0]


def test_a_piece_of_at_most_a_thousand_words_is_planned_as_paragraphs_without_headings():
    result = AgentWrite(exact_llm(plan_lines(2, 300, "a wedding toast"))).run(
        "Write a 600-word wedding toast."
    )
    assert result.plan_source == "model" and len(result.plan) == 2
    assert "#" not in result.text and 0.9 * 600 <= result.words <= 1.1 * 600
    longer = AgentWrite(exact_llm(plan_lines(3, 500))).run("Write a 1500-word essay on harbors.")
    assert longer.text.startswith("## Topic1")
