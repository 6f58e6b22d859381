import asyncio
import io

import pytest

from longweave.errors import BudgetError, ConfigError, InputError
from longweave.eval.rule_reader import rule_reader
from longweave.llm import ScriptedLLM
from longweave.pipelines import ChainOfAgents


def test_one_hop_fact_in_a_100k_token_document(one_hop_100k):
    task = one_hop_100k
    llm = rule_reader()
    result = ChainOfAgents(llm).run(task.document, task.question)
    assert result.answer == task.answer
    assert result.chunks >= 12 and result.method == "coa"
    workers = result.trace.by_role("worker")
    assert len(workers) == result.chunks and len(result.trace.by_role("manager")) == 1
    # Every worker's prompt fits the paper's 8k window with its output reserve.
    assert all(r.prompt_tokens + r.meta["max_tokens"] <= 8192 for r in workers)
    # One pass over the input: prompt tokens stay close to the document's.
    assert result.usage.total.prompt_tokens <= 1.3 * task.tokens
    assert result.usage.by_role["worker"].calls == result.chunks


def test_two_hop_fact_whose_halves_are_80_percent_apart(two_hop_100k):
    task = two_hop_100k
    result = ChainOfAgents(rule_reader()).run(task.document, task.question)
    assert result.answer == task.answer
    # The bridge fact entered the notes early and was carried to the end.
    first = next(i for i, cu in enumerate(result.communication_units) if task.needles[0].text in cu)
    assert first < result.chunks // 3
    assert task.needles[1].text in result.communication_units[-1]


def test_manager_sees_only_the_last_unit(one_hop_100k):
    task = one_hop_100k
    result = ChainOfAgents(rule_reader()).run(task.document, task.question)
    manager = result.trace.by_role("manager")[0]
    prompt = "\n".join(m["content"] for m in manager.messages)
    assert result.communication_units[-1] in prompt
    assert manager.prompt_tokens < 600  # no chunk text reached it


def test_each_worker_reads_its_chunk_and_the_previous_unit():
    seen = []

    def respond(messages):
        text = messages[-1]["content"]
        if "<source>" in text:
            seen.append(text)
            return f"unit{len(seen)}"
        return "done"

    doc = "".join(f"Paragraph {i} says something.\n\n" for i in range(400))
    result = ChainOfAgents(ScriptedLLM(respond), chunk_tokens=500).run(doc, "What?")
    assert result.chunks == len(seen) > 3
    for i, prompt in enumerate(seen[1:], 1):
        assert f"unit{i}" in prompt  # CU_{i-1} reached worker i
    assert all(f"Paragraph {i} says" in "".join(seen) for i in range(400))


def test_query_free_summary_uses_the_longer_unit():
    doc = "".join(f"Chapter {i} begins here. It goes on.\n\n" for i in range(3000))
    llm = rule_reader()
    coa = ChainOfAgents(llm)
    result = coa.run(doc)
    assert result.chunks > 1
    # The first sentence of every chunk made it through the chain into the summary.
    firsts = [
        r.messages[-1]["content"].split("<source>\n")[1].split(".")[0] for r in result.trace.by_role("worker")
    ]
    assert all(f in result.answer for f in firsts)
    assert result.trace.by_role("worker")[0].meta["max_tokens"] == 1024
    assert coa.plan_chunk_tokens(None) < coa.plan_chunk_tokens("short question?")


def test_streamed_input_gives_the_same_answer(two_hop_100k):
    task = two_hop_100k
    streamed = ChainOfAgents(rule_reader()).run(io.StringIO(task.document), task.question)
    assert streamed.answer == task.answer
    assert abs(streamed.document_tokens - task.tokens) < 0.01 * task.tokens


def test_budget_and_input_errors():
    with pytest.raises(BudgetError, match="window"):
        ChainOfAgents(rule_reader(), window=900).run("text " * 100, "What?")
    with pytest.raises(BudgetError, match="chunk_tokens"):
        ChainOfAgents(rule_reader(), chunk_tokens=9000).run("text " * 100, "What?")
    with pytest.raises(InputError):
        ChainOfAgents(rule_reader()).run("", "What?")


def test_prompt_overrides_are_used_and_checked():
    llm = ScriptedLLM(rules=[(r"CUSTOM", "notes"), (r"<notes>", "ok")])
    custom = {"user": "CUSTOM {{chunk}} {{previous}} {{query}} {{cu_words}}"}
    result = ChainOfAgents(llm, prompts={"worker": custom}).run("Some text.", "Q?")
    assert result.answer == "ok" and "CUSTOM" in result.trace[0].messages[-1]["content"]
    with pytest.raises(ConfigError):
        ChainOfAgents(llm, prompts={"manager": {"user": "{{missing}}"}}).run("Some text.", "Q?")


def test_graph_shape():
    mermaid = ChainOfAgents(rule_reader()).graph.get_graph().draw_mermaid()
    assert "worker" in mermaid and "manager" in mermaid
    assert "worker -.-> manager" in mermaid and "worker -.-> worker" in mermaid


def test_a_stopped_run_resumes_at_the_next_chunk(tmp_path, two_hop_100k):
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from longweave.errors import ServerError
    from longweave.llm import LLM, RetryPolicy

    task = two_hop_100k

    class Failing(LLM):
        """The rule reader, whose server dies on the 8th call."""

        def __init__(self):
            super().__init__(retry=RetryPolicy(max_retries=0))
            self.inner, self.n = rule_reader(), 0

        async def generate(self, messages, **params):
            self.n += 1
            if self.n == 8:
                raise ServerError("server went away")
            return await self.inner.generate(messages, **params)

    async def scenario():
        async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "ck.db")) as saver:
            with pytest.raises(ServerError):
                await ChainOfAgents(Failing(), checkpointer=saver).arun(
                    task.document, task.question, thread_id="t"
                )
            second = rule_reader()
            coa = ChainOfAgents(second, checkpointer=saver)
            with pytest.raises(InputError, match="another document"):
                await coa.arun(task.document + " More.", task.question, thread_id="t")
            result = await coa.arun(task.document, task.question, thread_id="t")
            return result, second

    result, second = asyncio.run(scenario())
    assert result.answer == task.answer
    assert len(second.calls) == result.chunks - 7 + 1  # workers 8.. and the manager
    with pytest.raises(ConfigError, match="checkpointer"):
        ChainOfAgents(rule_reader()).run("text", "Q?", thread_id="x")
