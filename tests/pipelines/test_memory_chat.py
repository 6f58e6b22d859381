import subprocess
import sys
from pathlib import Path

import pytest

from longweave.errors import BudgetError, InputError
from longweave.pipelines.memory_chat import MemoryChat
from tests.pipelines._chat_rules import FACT, QUESTION, chat_model, filler

ROOT = Path(__file__).resolve().parents[2]


def _respond_prompt_tokens(llm) -> list[int]:
    responder = "You are a helpful assistant who remembers"
    return [llm.count_tokens(m) for m in llm.calls if m[0]["content"].startswith(responder)]


def _converse(chat, turns: int) -> None:
    chat.send("Hello, I am Bob.")
    chat.send("I like long walks.")
    chat.send(FACT)  # turn 3
    for i in range(turns):
        chat.send(filler(i))


def test_fact_from_turn_3_is_recalled_after_300_turns_with_a_bounded_prompt(tmp_path):
    llm = chat_model()
    chat = MemoryChat(llm, path=tmp_path / "mem", memory_budget=400)
    _converse(chat, 300)
    result = chat.run(QUESTION)
    assert result.reply == "Your locker code is 4812."
    assert result.needed_memory
    assert any(m["turn"] == 3 and not m["flash"] for m in result.memories)
    assert result.memories[-1]["flash"] and result.memories[-1]["turn"] == 303
    sizes = _respond_prompt_tokens(llm)
    assert len(sizes) == 304
    # Bounded: the largest prompt is the budget plus the prompt's fixed part, however long the history.
    assert max(sizes) <= 400 + 120
    assert max(sizes[200:]) <= max(sizes[:50]) + 400
    # The default mode retrieves without asking the model whether to.
    assert len(result.trace.by_role("memory_chat")) == 1 and not result.trace.by_role("memory_controller")
    chat.close()


def test_without_memory_the_rule_model_cannot_answer(tmp_path):
    chat = MemoryChat(chat_model(), path=tmp_path / "mem", mode="never")
    _converse(chat, 5)
    assert chat.send(QUESTION) == "I do not know your locker code."


def test_a_new_process_on_the_same_path_remembers(tmp_path):
    path = tmp_path / "mem"
    with MemoryChat(chat_model(), path=path) as chat:
        _converse(chat, 300)
    script = (
        "import sys; from longweave.pipelines.memory_chat import MemoryChat;"
        "from tests.pipelines._chat_rules import chat_model, QUESTION;"
        "chat = MemoryChat(chat_model(), path=sys.argv[1]); r = chat.run(QUESTION);"
        "print(r.reply); print(r.turn); print(max(chat.llm.count_tokens(m) for m in chat.llm.calls))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    reply, turn, biggest = out.stdout.splitlines()
    assert reply == "Your locker code is 4812."
    assert int(turn) == 304
    assert int(biggest) <= 1024 + 120


def test_also_recalled_when_the_process_died_without_closing(tmp_path):
    path = tmp_path / "mem"
    chat = MemoryChat(chat_model(), path=path)
    _converse(chat, 20)
    chat.stream.flush()  # an index saved mid-way, then more turns and no close: it must be rebuilt
    chat.send(filler(99))
    again = MemoryChat(chat_model(), path=path)
    assert again.send(QUESTION) == "Your locker code is 4812."


def test_summary_path_engages_when_memories_exceed_the_budget(tmp_path):
    llm = chat_model()
    chat = MemoryChat(llm, path=tmp_path / "mem", memory_budget=70, mode="always")
    long_fact = FACT + " " + " ".join(f"Also, detail {i} is unimportant." for i in range(30))
    chat.send(long_fact)
    for i in range(3):
        chat.send(filler(i))
    result = chat.run(QUESTION)
    assert result.reply == "Your locker code is 4812."
    fact_memory = next(m for m in result.memories if m["turn"] == 1)
    assert fact_memory["as_summary"]
    assert result.trace.by_role("memory_summarizer")
    prompt = result.trace.by_role("memory_chat")[0].messages
    notes = prompt[0]["content"].split("earlier conversations:", 1)[1]
    memory_section = "\n".join([notes, *(m["content"] for m in prompt[1:-1])])
    assert llm.count_tokens(memory_section) <= 70 + 2
    # The fact's summary is written once and stored: asking again does not summarise it again.
    again = chat.run(QUESTION)
    assert again.reply == "Your locker code is 4812."
    resummarised = [r for r in again.trace.by_role("memory_summarizer") if FACT in r.messages[-1]["content"]]
    assert (
        not resummarised and chat.stream.get(fact_memory["id"]).summary == "The user's locker code is 4812."
    )


def test_ask_mode_skips_archived_memory_when_the_model_says_no(tmp_path):
    chat = MemoryChat(chat_model(), path=None, mode="ask")
    _converse(chat, 3)
    result = chat.run("Nice weather today.")
    assert not result.needed_memory
    assert [m["flash"] for m in result.memories] == [True]


async def test_asend_and_bad_input(tmp_path):
    chat = MemoryChat(chat_model(context_window=300), path=None, memory_budget=50, max_reply_tokens=50)
    assert await chat.asend("Hello.") == "OK, noted."
    with pytest.raises(InputError, match="empty"):
        await chat.asend("  ")
    with pytest.raises(BudgetError, match="memory add"):
        await chat.asend("word " * 400)
    assert len(chat.stream) == 1  # the refused messages were not stored


def test_graph_shape():
    chat = MemoryChat(chat_model(), path=None)
    assert set(chat.graph.get_graph().nodes) == {
        "__start__",
        "decide",
        "recall",
        "respond",
        "archive",
        "__end__",
    }
