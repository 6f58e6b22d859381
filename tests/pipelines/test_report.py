import doctest
import re

import pytest

import longweave.pipelines.report as report_module
from longweave.agents.writer import LengthPolicy, SectionFailed
from longweave.errors import ConfigError, InputError
from longweave.eval.report_tasks import citation_precision, fact_coverage, make_report_corpus
from longweave.eval.rule_reporter import rule_reporter
from longweave.events import Resumed, StepDone
from longweave.llm import ScriptedLLM
from longweave.pipelines.report import Report, strip_citations
from longweave.text import count_words
from tests.memory.counting_embedder import CountingEmbedder


def test_docstring_example_runs():
    assert doctest.testmod(report_module).failed == 0


def planted_plan(fact, words=300):
    name_kind = fact.topic.removeprefix("grain reserve of the ")
    return "\n".join(
        [
            f"1. Title: Visitors and roads - Main Point: visitors, roads and households at the sites "
            f"- Word Count: {words} words",
            f"2. Title: Grain reserve of the {name_kind} - Main Point: how many tonnes of grain the "
            f"{name_kind} holds in reserve - Word Count: {words} words",
            f"3. Title: Maintenance costs - Main Point: what repairs and maintenance cost "
            f"- Word Count: {words} words",
        ]
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_fact_planted_in_one_of_30_files_reaches_its_section_with_a_true_citation(seed):
    task = make_report_corpus(30, 1, seed=seed)
    fact = task.facts[0]
    llm = rule_reporter(plan=planted_plan(fact))
    result = Report(llm).run(task.corpus, "Write a 900-word review of the sites.")

    assert [s["title"].split()[0] for s in result.plan] == ["Visitors", "Grain", "Maintenance"]
    assert fact.value in result.sections[1]  # the section that needs it
    cites = [c for c in result.citations if c.section == 1 and fact.value in c.claim]
    assert cites and all(c.verified for c in cites)
    cite = cites[0]
    assert cite.source == fact.file  # the one file of 30 that holds it
    assert fact.sentence in cite.passage  # the passage it points to holds it
    assert cite.passage == re.split(r"\n\s*\n", task.corpus[fact.file])[int(cite.location[1:]) - 1].strip()
    assert f"[{fact.file}, {cite.location}]" in result.sections[1]
    assert fact_coverage(result, task.facts) == 1.0
    # the writer saw the file's passage only because retrieval found it: the fact is in no other prompt
    writer_prompts = [p for p in llm.prompts if "Now write section" in p or "Continue the section" in p]
    assert any(fact.sentence in p for p in writer_prompts)


def test_without_retrieval_of_its_file_the_fact_cannot_appear():
    """The negative control: the same run with the fact's file left out of the corpus."""
    task = make_report_corpus(30, 1, seed=1)
    fact = task.facts[0]
    corpus = {k: v for k, v in task.corpus.items() if k != fact.file}
    result = Report(rule_reporter(plan=planted_plan(fact))).run(
        corpus, "Write a 900-word review of the sites."
    )
    assert fact.value not in result.text and fact_coverage(result, task.facts) == 0.0


def test_fabricated_and_misattributed_citations_are_caught_then_dropped_or_revised():
    task = make_report_corpus(8, 0, seed=4)
    result = Report(rule_reporter(fabricate=True), top_k=4).run(task.corpus, "Write a 1000-word survey.")

    ghosts = [c for c in result.citations if c.source == "archive/ghost.txt"]
    assert ghosts and not any(c.verified for c in ghosts)
    assert all(c.reason == "no such file in the corpus" for c in ghosts)
    assert "ghost.txt" not in result.text and "7,341" not in result.text
    assert len([d for d in result.dropped if "ghost.txt" in d["sentence"]]) == len(result.plan)
    wrong = [c for c in result.citations if not c.verified and c.source != "archive/ghost.txt"]
    assert wrong and all("does not name" in c.reason for c in wrong)  # cited to another site's file
    assert result.usage.by_role["citation_reviser"].calls >= len(wrong)
    # every citation left in the text points to a passage holding the cited sentence
    precision, count = citation_precision(result.text, task.corpus)
    assert precision == 1.0 and count == len(result.verified) > 20
    for c in result.verified:
        assert f"[{c.source}, {c.location}]" in result.text

    # with no revisions allowed, the misattributed sentences are dropped instead
    strict = Report(rule_reporter(fabricate=True), top_k=4, max_revisions=0).run(
        task.corpus, "Write a 1000-word survey."
    )
    assert "citation_reviser" not in strict.usage.by_role
    assert len(strict.dropped) == len(result.dropped) + len(wrong)
    assert citation_precision(strict.text, task.corpus)[0] == 1.0


def test_bibliography_ends_the_text_and_lists_each_cited_source_once():
    task = make_report_corpus(6, 0, seed=5)
    result = Report(rule_reporter()).run(task.corpus, "Write a 600-word survey.")
    body, sources = result.text.split("\n\n## Sources\n\n")
    lines = sources.splitlines()
    cited = list(dict.fromkeys(c.source for c in result.verified))
    assert [line.split(". ", 1)[1].split(":")[0] for line in lines] == cited
    for entry in result.bibliography:
        used = {c.location for c in result.verified if c.source == entry["source"]}
        assert set(entry["locations"]) == used
    assert result.words == count_words(strip_citations(body)) < count_words(body)
    assert "[" not in strip_citations(body) and "Maintenance" in body
    assert result.sources == sorted(task.corpus) and result.passages >= 6


def test_the_model_as_judge_can_veto_what_the_rule_accepts():
    task = make_report_corpus(4, 0, seed=6)
    base = rule_reporter()

    def naysayer(messages):
        text = "\n".join(m["content"] for m in messages)
        if "Does the passage state" in text:
            return "No."
        if "does not hold" in text:
            return "DROP"
        return base._responder(messages)

    result = Report(ScriptedLLM(naysayer), judge=True).run(task.corpus, "Write a 400-word survey.")
    assert result.usage.by_role["citation_judge"].calls > 0
    assert not result.verified and "## Sources" not in result.text
    assert all("judge" in c.reason for c in result.citations)


def test_report_resumes_from_its_checkpoint_without_rewriting_done_sections(tmp_path):
    task = make_report_corpus(10, 0, seed=7)
    db = tmp_path / "report.db"
    base = rule_reporter()
    broken = {"on": True}

    def flaky(messages):
        text = "\n".join(m["content"] for m in messages)
        if broken["on"] and "Now write section 3 of" in text:
            return ""  # section 3 cannot be written: the run stops there
        return base._responder(messages)

    llm = ScriptedLLM(flaky)
    events = []
    with pytest.raises(SectionFailed, match="run the same command again"):
        Report(llm, checkpoint=db).run(task.corpus, "Write a 2000-word survey.", on_event=events.append)
    assert [e.index for e in events if isinstance(e, StepDone)] == [0, 1]

    broken["on"] = False
    llm2 = ScriptedLLM(flaky)
    events2 = []
    result = Report(llm2, checkpoint=db).run(
        task.corpus, "Write a 2000-word survey.", on_event=events2.append
    )
    assert result.resumed and len(result.sections) == len(result.plan) >= 3
    assert not any("Break down" in p for p in llm2.prompts)  # planned once
    assert not any(re.search(r"Now write section [12] of", p) for p in llm2.prompts)  # not rewritten
    assert next(e for e in events2 if isinstance(e, Resumed)).sections_done == 2
    assert citation_precision(result.text, task.corpus)[0] == 1.0

    again = Report(rule_reporter(), checkpoint=db).run(task.corpus, "Write a 2000-word survey.")
    assert again.text == result.text and again.usage.total.calls == 0  # finished: read back

    changed = dict(task.corpus, extra="A new file.")
    with pytest.raises(InputError, match="different corpus"):
        Report(rule_reporter(), checkpoint=db).run(changed, "Write a 2000-word survey.")


def test_corpus_from_a_folder_skips_unreadable_files_and_names_files_from_the_folder(tmp_path):
    folder = tmp_path / "reports"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("The Orla harbour moved 4,812 tonnes in 2024.\n")
    (folder / "sub" / "b.md").write_text("The Orla cranes lift 40 tonnes each.\n")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (folder / ".hidden.txt").write_text("Secret harbour data 999.")
    result = Report(rule_reporter(), top_k=2).run(folder, "Write a 300-word note on the Orla harbour.")
    assert result.sources == ["reports/a.txt", "reports/sub/b.md"]
    assert [p for p, _ in result.skipped] == [str(folder / "image.png")]
    assert "[reports/a.txt, ¶1]" in result.text and "999" not in result.text


@pytest.mark.parametrize(
    ("corpus", "instruction", "error", "match"),
    [
        ({"a.txt": "Text."}, "  ", InputError, "instruction is empty"),
        ({}, "Write.", InputError, "no text"),
        ({"a.txt": "   "}, "Write.", InputError, "no text"),
        ("/no/such/path.txt", "Write.", InputError, "does not exist"),
    ],
)
def test_user_mistakes_raise_errors_that_say_what_to_do(corpus, instruction, error, match):
    with pytest.raises(error, match=match):
        Report(rule_reporter()).run(corpus, instruction)


def test_a_second_report_on_the_same_corpus_embeds_only_its_queries(tmp_path):
    task = make_report_corpus(12, 1, seed=4)
    runs = []
    for _ in range(2):
        emb = CountingEmbedder()
        result = Report(rule_reporter(), embedder=emb, index_cache=tmp_path).run(
            task.corpus, "Write a 600-word survey."
        )
        runs.append((result, emb.texts))
    (first, texts1), (second, texts2) = runs
    assert second.text == first.text and first.passages > 12
    assert len(texts1) - len(texts2) == first.passages  # the same queries, and no passage again


def test_bad_settings_and_targets_are_refused():
    with pytest.raises(ConfigError, match="top_k"):
        Report(rule_reporter(), top_k=0)
    with pytest.raises(ConfigError, match="min_overlap"):
        Report(rule_reporter(), min_overlap=0)
    with pytest.raises(InputError, match="positive number"):
        Report(rule_reporter()).run({"a.txt": "Text."}, "Write.", target_words=0)


def test_a_model_that_cannot_plan_gets_a_plan_made_from_the_corpus():
    task = make_report_corpus(9, 0, seed=8)
    llm = rule_reporter(plan="I cannot plan.")
    result = Report(llm, length=LengthPolicy(max_continues=1)).run(task.corpus, "Write a 2500-word survey.")
    assert result.plan_source == "fallback"
    assert result.plan[0]["title"] == "Introduction" and result.plan[-1]["title"] == "Conclusion"
    body = " ".join(s["point"] for s in result.plan[1:-1])
    assert all(name in body for name in task.corpus)  # every file is some section's business
    assert sum(s["words"] for s in result.plan) == 2500


def test_graph_shape():
    assert Report(rule_reporter()).graph.get_graph().draw_mermaid() == (
        "---\nconfig:\n  flowchart:\n    curve: linear\n---\ngraph TD;\n"
        "\t__start__([<p>__start__</p>]):::first\n\tindex(index)\n\tplan(plan)\n\tretrieve(retrieve)\n"
        "\twrite(write)\n\tcheck(check)\n\tbibliography(bibliography)\n\t__end__([<p>__end__</p>]):::last\n"
        "\t__start__ --> index;\n\tcheck -.-> bibliography;\n\tcheck -.-> retrieve;\n\tindex --> plan;\n"
        "\tplan -.-> bibliography;\n\tplan -.-> retrieve;\n\tretrieve --> write;\n\twrite --> check;\n"
        "\tbibliography --> __end__;\n"
        "\tclassDef default fill:#f2f0ff,line-height:1.2\n\tclassDef first fill-opacity:0\n"
        "\tclassDef last fill:#bfb6fc\n"
    )


async def test_report_runs_as_a_node_of_a_users_graph_and_resumes_inside_it(tmp_path):
    from typing import TypedDict

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    from longweave.errors import ServerError
    from longweave.llm import LLM, RetryPolicy

    class State(TypedDict, total=False):
        corpus: dict
        instruction: str
        text: str

    task = make_report_corpus(30, 1, seed=2)
    fact = task.facts[0]
    inner = rule_reporter(plan=planted_plan(fact))

    class FailsOnce(LLM):
        """The rule model, but the first request for the third section fails."""

        failed = False

        async def generate(self, messages, **params):
            if not self.failed and "Now write section 3 of" in messages[-1]["content"]:
                FailsOnce.failed = True
                raise ServerError("the server fell over")
            return await inner.generate(messages, **params)

    llm = FailsOnce(retry=RetryPolicy(max_retries=0))
    report = Report(llm, checkpoint=tmp_path / "report.sqlite")
    g = StateGraph(State)
    g.add_node("report", report.as_node())
    g.add_edge(START, "report")
    g.add_edge("report", END)
    graph = g.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    with pytest.raises(Exception, match="fell over"):
        await graph.ainvoke({"corpus": task.corpus, "instruction": "Write a 900-word review."}, config)
    before = len(inner.calls)
    out = await graph.ainvoke(None, config)  # resume the user's graph: the node resumes inside
    resumed = inner.prompts[before:]
    assert not any("Now write section 1 of" in p or "Now write section 2 of" in p for p in resumed)
    assert any("Now write section 3 of" in p for p in resumed)  # only the failed section is written
    assert fact.value in out["text"] and f"[{fact.file}, " in out["text"]
