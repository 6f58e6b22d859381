"""A user's own LangGraph graph that nests longweave pipelines, agents and memory as nodes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from longweave import (
    ChainOfAgents,
    DocumentMemory,
    ScriptedLLM,
    agent_node,
    as_node,
    recall_node,
    remember_node,
)
from longweave.errors import ConfigError
from longweave.pipelines.compose import tally
from tests.pipelines.test_agentwrite_resume import sections_stored

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import custom_pipeline  # noqa: E402
import rule_models  # noqa: E402

RIVERS = ["Alder", "Birch", "Cedar"]


def fact(name: str) -> str:
    return f"The {name} river carries {RIVERS.index(name) * 111 + 111} tonnes of silt each day."


def write_corpus(folder: Path) -> list[str]:
    """Three files of plain prose; one sentence with a figure (the fact) deep in each."""
    paths = []
    for name in RIVERS:
        paras = [f"The {name} flows past meadows and quiet towns. Its banks are green and wide." * 6] * 8
        paras[5] += " " + fact(name)
        path = folder / f"{name.lower()}.md"
        path.write_text("\n\n".join(paras))
        paths.append(str(path))
    return paths


class Crash(Exception):
    pass


def crashing_model(crash_on: str) -> ScriptedLLM:
    """The example's rule model, except that a prompt matching `crash_on` raises."""

    def crash(m, _):
        raise Crash("the server went away")

    rules = rule_models._summary_rules() + rule_models._writer_rules(None, (1.0,))
    return ScriptedLLM(rules=[(crash_on, crash), *rules])


def count(llm: ScriptedLLM, pattern: str) -> int:
    return sum(pattern in p for p in llm.prompts)


def test_nested_coa_and_agentwrite_graph_resumes_after_a_crash(tmp_path):
    paths = write_corpus(tmp_path)
    llm = rule_models.rule_summarise_then_write()
    results = []

    async def go(model, first):
        async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "outer.sqlite")) as saver:
            graph = custom_pipeline.build_graph(
                model,
                write_checkpoint=tmp_path / "write.sqlite",
                checkpointer=saver,
                on_result=lambda node, r: results.append((node, r)),
            )
            config = {"configurable": {"thread_id": "t1"}}
            start = {"paths": paths, "topic": "rivers", "target_words": 1200} if first else None
            return await graph.ainvoke(start, config)

    # First run: the model fails while AgentWrite writes its second section.
    failing = crashing_model(r"Now write section 2 of")
    with pytest.raises(Crash):
        asyncio.run(go(failing, True))
    assert count(failing, "<source>") == 3 and count(failing, "Now write section 1 of") == 1
    assert [n for n, _ in results] == ["summarise"] * 3

    # Second run, same thread: summaries and section 1 come from the checkpoints.
    state = asyncio.run(go(llm, False))
    assert count(llm, "<source>") == 0 and count(llm, "<notes>") == 0  # no file read twice
    assert count(llm, "Break down") == 0 and count(llm, "Now write section 1 of") == 0
    assert count(llm, "Now write section 2 of") == 1 and count(llm, "Now write section 3 of") == 1
    node, written = results[-1]
    assert node == "write" and written.resumed and len(written.sections) == 3

    # Each file's fact went through its summary into its own section of the text.
    for name, section in zip(RIVERS, written.sections, strict=True):
        assert fact(name) in state["summaries"][f"{name.lower()}.md"]
        assert section.startswith(fact(name))
    assert state["text"] == written.text and f"## {RIVERS[0].lower()}" in state["text"]
    by_node = tally(state["usage"], by="node")
    assert by_node["summarise"]["calls"] == 6  # 3 files x (1 worker + 1 manager), from the first run
    assert by_node["write"]["calls"] == written.usage.total.calls  # only the resumed run's calls


SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, "examples")
    import custom_pipeline, rule_models
    llm = rule_models.rule_summarise_then_write(latency=0.05)
    state = asyncio.run(custom_pipeline.review(llm, sys.argv[2:], "rivers", 1200, checkpoint=sys.argv[1]))
    print(json.dumps({"text": state["text"], "usage": state["usage"], "prompts": llm.prompts}))
    """
)


@pytest.mark.slow
def test_nested_graph_killed_with_sigkill_resumes_from_both_checkpoints(tmp_path):
    paths = write_corpus(tmp_path)
    script, db = tmp_path / "review.py", tmp_path / "run.sqlite"
    script.write_text(SCRIPT)
    cmd = [sys.executable, str(script), str(db), *paths]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while sections_stored(Path(f"{db}.write")) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = sections_stored(Path(f"{db}.write"))
    assert 1 <= stored < 3

    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    prompts = out["prompts"]
    assert not any("<source>" in p for p in prompts)  # the summaries were checkpointed
    assert not any("Break down" in p for p in prompts)  # so was the plan
    assert sum("Now write section" in p for p in prompts) == 3 - stored  # only missing sections
    for name in RIVERS:
        assert out["text"].count(fact(name)) == 1
    assert [line for line in out["text"].splitlines() if line.startswith("## ")] == [
        f"## {n.lower()}" for n in RIVERS
    ]


class ReadState(TypedDict, total=False):
    document: str
    query: str
    answer: str


def test_inner_checkpoint_thread_is_derived_from_the_outer_thread_and_node():
    inner = InMemorySaver()
    llm = ScriptedLLM(rules=[(r"<source>", "notes"), (r"<notes>", "42")])
    graph = StateGraph(ReadState)
    graph.add_node("read", as_node(ChainOfAgents(llm, checkpointer=inner)))
    graph.add_edge(START, "read")
    graph.add_edge("read", END)
    outer = InMemorySaver()
    app = graph.compile(checkpointer=outer)
    state = asyncio.run(
        app.ainvoke({"document": "Text. " * 50, "query": "What?"}, {"configurable": {"thread_id": "t"}})
    )
    assert state["answer"] == "42"
    inner_threads = {c.config["configurable"]["thread_id"] for c in inner.list(None)}
    outer_threads = {c.config["configurable"]["thread_id"] for c in outer.list(None)}
    assert outer_threads == {"t"}  # the pipeline's steps did not land in the user's checkpoint
    assert len(inner_threads) == 1 and next(iter(inner_threads)).startswith("t/read/")


def test_missing_input_key_names_the_node_and_the_key():
    llm = ScriptedLLM(rules=[(r"<source>", "notes"), (r"<notes>", "42")])
    node = as_node(ChainOfAgents(llm))
    with pytest.raises(ConfigError, match=r"node 'summarise' needs the state key\(s\) 'document'"):
        asyncio.run(node({"query": "What?"}, {"metadata": {"langgraph_node": "summarise"}}))


def test_own_pipeline_without_default_keys_must_say_them():
    from longweave.pipelines.base import Pipeline

    class Mine(Pipeline):
        async def arun(self, text: str):
            return text

    with pytest.raises(ConfigError, match="inputs="):
        as_node(Mine(ScriptedLLM(["x"])))


class MemoryState(TypedDict, total=False):
    text: str
    source: str
    query: str
    passages: list[dict]
    answer: str


def test_memory_and_an_agent_as_nodes_of_one_graph():
    memory = DocumentMemory(chunk_tokens=20)
    llm = ScriptedLLM(rules=[(r"Passages:\n(.*)\nQuestion", lambda m, _: m[1].splitlines()[0])])

    async def answer(passages: list[dict], query: str) -> str:
        listing = "\n".join(f"[{p['source']}] {p['text']}" for p in passages)
        return (await llm.complete(f"Passages:\n{listing}\nQuestion: {query}", role="reader")).text

    graph = StateGraph(MemoryState)
    graph.add_node("remember", remember_node(memory, source_key="source"))
    graph.add_node("recall", recall_node(memory, k=1))
    graph.add_node(
        "answer", agent_node(answer, inputs={"passages": "passages", "query": "query"}, output="answer")
    )
    graph.add_edge(START, "remember")
    graph.add_edge("remember", "recall")
    graph.add_edge("recall", "answer")
    text = "The dragon is called Ember. " * 3 + "\n\nThe castle has nine towers."
    state = asyncio.run(
        graph.compile().ainvoke({"text": text, "source": "ch1", "query": "towers of the castle"})
    )
    assert state["passages"][0] == {
        "text": "The castle has nine towers.",
        "source": "ch1",
        "score": pytest.approx(state["passages"][0]["score"]),
    }
    assert state["answer"] == "[ch1] The castle has nine towers."
    assert len(memory) == 2


def test_docstring_examples_run():
    import doctest

    import longweave.pipelines.compose as compose

    failures, tried = doctest.testmod(compose, optionflags=doctest.ELLIPSIS)
    assert tried >= 2 and failures == 0


def test_pipeline_as_node_method_is_the_same_node():
    llm = ScriptedLLM(rules=[(r"<source>", "notes"), (r"<notes>", "42")])
    node = ChainOfAgents(llm).as_node(outputs={"reply": "answer"})
    assert asyncio.run(node({"document": "Text. " * 50, "query": "What?"}, {})) == {"reply": "42"}


def test_a_pipelines_events_reach_the_graph_stream_and_the_nodes_on_event():
    from longweave.events import Progress

    class S(TypedDict, total=False):
        document: str
        query: str
        answer: str

    llm = ScriptedLLM(rules=[(r"<source>", "notes"), (r"<notes>", "42")])
    seen = []
    g = StateGraph(S)
    g.add_node("read", as_node(ChainOfAgents(llm, chunk_tokens=100), on_event=seen.append))
    g.add_edge(START, "read")
    graph = g.compile()

    async def stream():
        return [
            c
            async for c in graph.astream({"document": "Text. " * 300, "query": "What?"}, stream_mode="custom")
        ]

    chunks = asyncio.run(stream())
    assert [c["event"] for c in chunks] == seen and {c["node"] for c in chunks} == {"read"}
    assert all(isinstance(e, Progress) for e in seen) and seen[-1].stage == "manager"
    assert [e.done for e in seen if e.stage == "worker"] == list(range(1, len(seen)))


def test_one_pipeline_runs_twice_at_once_each_run_with_its_own_events():
    from longweave import AgentWrite
    from longweave.events import StepDone

    llm = ScriptedLLM(rules=[(r"Write about (\d+) words", lambda m, _: "word " * int(m[1]))])
    writer = AgentWrite(llm)
    first, second = [], []

    async def both():
        return await asyncio.gather(
            writer.arun("Write a 100-word note.", run_id="a", on_event=first.append),
            writer.arun("Write a 200-word note.", run_id="b", on_event=second.append),
        )

    a, b = asyncio.run(both())
    assert (a.words, b.words) == (100, 200)
    assert [e.words for e in first if isinstance(e, StepDone)] == [100]
    assert [e.words for e in second if isinstance(e, StepDone)] == [200]
