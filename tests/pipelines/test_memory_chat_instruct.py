"""MemoryChat against a scripted model with the habits the 0.5B instruct model showed (issue 15).

In the real runs (benchmarks/bench_memory_real.py, Qwen2.5-Coder-0.5B-Instruct) the model:

- answered "No" whenever the controller asked whether memory was needed, so nothing was
  retrieved for any of the five questions about facts it had been told;
- shown recalled exchanges as a ``User: ... / Assistant: ...`` transcript in the system
  message, replied to the last recalled user line instead of the new message ("my new flat is
  number 52" -> "Paris has the best museums", the question of the previous turn);
- shown them as notes in the user message ("I said: ... You replied: ..."), echoed the notes;
- without the fact in front of it, said it could not know, or made one up; with the whole
  conversation as chat turns (a plain chat), it answered all five.

`instruct_chat` behaves that way: it answers from memory only when the fact is an earlier user
turn of its own chat.
"""

from __future__ import annotations

import re

from longweave.llm import ScriptedLLM
from longweave.llm.scripted import prompt_text
from longweave.pipelines.memory_chat import MemoryChat
from tests.pipelines._chat_rules import FACT, QUESTION, filler

NO_ACCESS = "I'm sorry, but I don't have access to previous conversations."


def instruct_chat() -> ScriptedLLM:
    """Never asks for memory; replies to a recalled transcript's last user line; echoes notes;
    answers the locker question only from an earlier user turn of the chat."""

    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "Answer yes or no" in text:
            return "No."
        if "Summarize this memory" in text:
            return messages[-1]["content"].split("Memory:", 1)[1].strip()[:200]
        transcript = re.findall(r"^\s*(?:\[[^\]]*\]\s*)?User: (.+)$", text, re.M)
        if transcript:  # it takes the recalled conversation for the live one
            return f"Happy to help with that: {transcript[-1]}"
        notes = re.search(r'I said: "[^"]*"', messages[-1]["content"])
        if notes:  # notes in the user's voice come back as they are
            return notes[0]
        if QUESTION not in messages[-1]["content"]:
            return "Got it!"
        earlier = " ".join(m["content"] for m in messages[1:-1] if m["role"] == "user")
        told = re.search(r"\blocker code is (\d+)", earlier)
        return f"Your locker code is {told[1]}." if told else NO_ACCESS

    return ScriptedLLM(respond, model="instruct-like")


def _tell_then_restart(path, *, turns: int = 50, **options) -> MemoryChat:
    with MemoryChat(instruct_chat(), path=path, **options) as chat:
        assert chat.send(FACT) == "Got it!"
        for i in range(turns):
            chat.send(filler(i))
    return MemoryChat(instruct_chat(), path=path, **options)


def test_a_fact_told_50_turns_back_is_recalled_after_a_restart_by_default(tmp_path):
    chat = _tell_then_restart(tmp_path / "mem")
    result = chat.run(QUESTION)
    assert result.reply == "Your locker code is 4812."
    assert result.needed_memory and any(m["turn"] == 1 and not m["flash"] for m in result.memories)
    assert not result.trace.by_role("memory_controller")  # no call the model answers "No" to
    chat.close()


def test_recalled_exchanges_are_earlier_turns_of_the_chat(tmp_path):
    chat = _tell_then_restart(tmp_path / "mem", turns=5, mode="always")
    result = chat.run(QUESTION)
    assert result.reply == "Your locker code is 4812."
    prompt = result.trace.by_role("memory_chat")[0].messages
    roles = [m["role"] for m in prompt]
    assert roles[0] == "system" and roles[-1] == "user" and prompt[-1]["content"] == QUESTION
    # Oldest first: the fact (turn 1), then the previous turn (flash), each as user + assistant.
    turns = prompt[1:-1]
    assert roles[1:-1] == ["user", "assistant"] * (len(turns) // 2) and len(turns) >= 4
    assert turns[:2] == [{"role": "user", "content": FACT}, {"role": "assistant", "content": "Got it!"}]
    assert turns[-2]["content"] == filler(4)
    assert "(none)" in prompt[0]["content"] and "User:" not in prompt_text(prompt)
    chat.close()


def test_the_model_still_cannot_answer_without_the_memory(tmp_path):
    chat = _tell_then_restart(tmp_path / "mem", turns=5, mode="never")
    assert chat.send(QUESTION) == NO_ACCESS
    chat.close()


def test_record_stores_an_exchange_as_a_chat_turn_does(tmp_path):
    chat = MemoryChat(instruct_chat(), path=None)
    sent = chat.run(FACT)
    recorded = chat.record("I like tea.", "Noted, tea it is.")
    assert (sent.turn, recorded.turn) == (1, 2) and recorded.role == "dialogue"
    assert chat.stream.get(1).content == f"User: {FACT}\nAssistant: Got it!"
    assert recorded.content == "User: I like tea.\nAssistant: Noted, tea it is."
    assert chat.run("Nice weather.").memories[-1] == {"id": 2, "turn": 2, "as_summary": False, "flash": True}
