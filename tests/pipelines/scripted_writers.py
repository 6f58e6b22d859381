"""Scripted models for writing tests: replies depend only on what the prompt asks for."""

from __future__ import annotations

import re

from longweave.llm import ScriptedLLM

FILLER = "river stone lantern harbor meadow quiet amber willow".split()


def words_for(tag: str, n: int, start: int = 0) -> str:
    """Exactly `n` words in unique 8-word sentences that carry `tag` (a section's title)."""
    out, k = [], start
    while n > 0:
        take = min(8, n)
        sentence = [tag, "says", str(k), *FILLER][:take]
        out.append(" ".join(sentence) + ".")
        n -= take
        k += 1
    return " ".join(out)


def tag_of(title: str) -> str:
    return re.sub(r"\W", "", title)


def exact_llm(
    plan_reply: str | None = None, *, ratio: float = 1.0, first: list | None = None, **kwargs
) -> ScriptedLLM:
    """A model that writes `ratio` times the words each prompt asks for, tagged by section;
    the rules in `first` are tried before its own."""

    def write(m, messages):
        asked = int(m["words"])
        return words_for(tag_of(m["title"]), max(1, round(asked * ratio)))

    def cont(m, messages):
        asked = int(m["words"])
        start = 1000 + len(re.findall(r"says", m["sofar"]))
        return words_for(tag_of(m["title"]), max(1, round(asked * ratio)), start)

    rules = [
        *(first or []),
        (r"Break down|could not be used", plan_reply or "I cannot plan."),
        (
            r'You are writing (?:section \d+ of \d+, |the section )"(?P<title>[^"]+)".*'
            r"ends with:\n(?P<sofar>.*)\n\n"
            r"Continue the section.*about (?P<words>\d+) more words",
            cont,
        ),
        (r'Now write section \d+ of \d+, "(?P<title>[^"]+)".*Write about (?P<words>\d+) words', write),
        (r'Newest section, "(?P<title>[^"]+)".*updated summary', lambda m, _: f"So far: {m['title']}."),
    ]
    return ScriptedLLM(rules=rules, **kwargs)


def plan_lines(n: int, words: int, subject: str = "") -> str:
    about = f" about {subject}" if subject else ""
    lines = (f"{i + 1}. Topic{i + 1}: point {i + 1}{about} - Word Count: {words} words" for i in range(n))
    return "\n".join(lines)
