"""A rule-based model for memory tests: it answers only from what its prompt contains.

Shared by the in-process tests and the subprocess that reopens a memory folder.
"""

from __future__ import annotations

import re

from longweave.llm import ScriptedLLM

FACT = "Please remember this: my locker code is 4812."
QUESTION = "What is my locker code?"


def _memories(messages) -> str:
    """The memory of the response prompt (the notes and the recalled turns), never the question."""
    return "\n".join(m["content"] for m in messages[:-1])


def _decide(match, messages) -> str:
    message = messages[-1]["content"].split("User input:", 1)[1].split("Does replying", 1)[0]
    return "yes" if "?" in message else "no"


def _answer(match, messages) -> str:
    if QUESTION not in messages[-1]["content"]:  # an earlier question recalled from memory
        return "OK, noted."
    found = re.search(r"locker code is (\d+)", _memories(messages))
    return f"Your locker code is {found[1]}." if found else "I do not know your locker code."


def _summary(match, messages) -> str:
    content = messages[-1]["content"].split("Memory:", 1)[1]
    code = re.search(r"locker code is (\d+)", content)
    return f"The user's locker code is {code[1]}." if code else "Small talk."


def chat_model(**kwargs) -> ScriptedLLM:
    """Decides by '?', summarises by keeping the code, answers the code question from memory."""
    return ScriptedLLM(
        rules=[
            (r"Answer yes or no\.", _decide),
            (r"Summarize this memory", _summary),
            (re.escape(QUESTION), _answer),
            (r".", "OK, noted."),
        ],
        **kwargs,
    )


def filler(i: int) -> str:
    """A distractor turn: varied words, nothing about lockers or codes."""
    topics = ["hiking", "the weather", "cooking pasta", "a film", "chess openings", "gardening"]
    return f"Tell me about {topics[i % len(topics)]}, thought number {i} of the day."
