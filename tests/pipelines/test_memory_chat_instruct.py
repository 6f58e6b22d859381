"""MemoryChat against a scripted model with the habits the 0.5B instruct model showed (issue 15).

In the first real run (benchmarks/bench_memory_real.py, Qwen2.5-Coder-0.5B-Instruct) the model:

- answered "No" whenever the controller asked whether memory was needed, so nothing was
  retrieved for any of the five questions about facts it had been told;
- shown recalled exchanges as a ``User: ... / Assistant: ...`` transcript, replied to the last
  recalled user line instead of the new message ("my new flat is number 52" -> "Paris has the
  best museums", the question of the previous turn);
- without the fact in front of it, said it could not know, or made one up.

`instruct_chat` behaves that way, and answers from memory only when the fact is shown as
something the user said ("I said: ...").
"""

from __future__ import annotations

import re

from longweave.llm import ScriptedLLM
from longweave.llm.scripted import prompt_text
from longweave.pipelines.memory_chat import MemoryChat
from tests.pipelines._chat_rules import FACT, QUESTION, filler

NO_ACCESS = "I'm sorry, but I don't have access to previous conversations."


def instruct_chat() -> ScriptedLLM:
    """Never asks for memory; replies to a recalled transcript's last user line; else answers
    the locker question only from a fact the user is shown to have said."""

    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "Answer yes or no" in text:
            return "No."
        if "Summarize this memory" in text:
            return messages[-1]["content"].split("Memory:", 1)[1].strip()[:200]
        transcript = re.findall(r"^\s*(?:\[[^\]]*\]\s*)?User: (.+)$", text, re.M)
        if transcript:  # it takes the recalled conversation for the live one
            return f"Happy to help with that: {transcript[-1]}"
        if QUESTION not in messages[-1]["content"]:
            return "Got it!"
        told = re.search(r'I said: "[^"]*\blocker code is (\d+)', text)
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


def test_recalled_exchanges_are_notes_in_the_users_voice_not_a_transcript(tmp_path):
    chat = _tell_then_restart(tmp_path / "mem", turns=5, mode="always")
    result = chat.run(QUESTION)
    assert result.reply == "Your locker code is 4812."
    prompt = result.trace.by_role("memory_chat")[0].messages
    shown = prompt[-1]["content"]
    assert f'I said: "{FACT}" You replied: "Got it!"' in shown
    # The new message comes last, after the notes, and nothing reads as a live "User:" line.
    assert shown.rstrip().endswith(QUESTION) and shown.index(FACT) < shown.rindex(QUESTION)
    assert not re.search(r"^\s*(?:\[[^\]]*\]\s*)?User:", prompt_text(prompt), re.M)
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
