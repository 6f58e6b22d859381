"""Rule-based models for CogWriter tests: each reply depends only on its prompt.

The writer names its unit and mentions exactly the terms its prompt lists under "must mention",
so a constraint that does not reach its unit's prompt is missing from that unit's text.
"""

from __future__ import annotations

import re
import time

from longweave.llm import ScriptedLLM
from longweave.llm.scripted import prompt_text


def _words(p: str) -> int:
    return int(re.findall(r"about (\d+) (?:more )?words", p)[-1])


def _pad(body: str, words: int, start: int = 0) -> str:
    """`body` padded to `words` words with unique filler sentences (the writer drops repeats)."""
    out, k = body.split(), start
    while len(out) < words:
        out.extend(f"Hour {k} passed slowly.".split())
        k += 1
    return " ".join(out[: max(words, len(body.split()))])


def _required(p: str) -> list[str]:
    out = []
    for group in re.findall(r"must mention: ([^)]+)\)", p):
        out.extend(t.strip() for t in group.split(","))
    return out


def cog_llm(*, violate: int = 0, forbidden_leak: str = "", log: list | None = None, **kwargs) -> ScriptedLLM:
    """A writer model for CogWriter.

    Args:
        violate: the first `violate` drafts/revisions of each unit leave out every required term
            (the monitor must catch it; revisions that follow obey).
        forbidden_leak: a word first drafts always contain (a forbid constraint must remove it);
            revisions drop it when their instructions say "Remove every mention of" it.
        log: if given, (title, start, end) of each writer call is appended (for ordering tests).
    """
    attempts: dict[str, int] = {}

    def reply(messages):
        p = prompt_text(messages)
        if "Constraints:" in p and "single | UNIT" in p:
            return "none"
        title = re.search(r'unit \d+ of \d+: "([^"]+)"', p, re.I)[1]
        start = time.monotonic()
        k = attempts[title] = attempts.get(title, 0) + 1
        terms = [] if k <= violate else _required(p)
        if "more words" in p:  # a continuation: only filler, numbered past what is there
            return _pad("", _words(p), 1000 + 10 * p.count("Hour "))
        text = _pad(f"{title}. " + " ".join(f"There was {t}." for t in terms), _words(p))
        if forbidden_leak and not re.search(rf"Remove every mention of [^\n]*{forbidden_leak}", p):
            text = text.replace("passed slowly.", f"passed near the {forbidden_leak}.", 1)
        if "builds on these units" in p:
            seen = re.findall(r"^## (.+)$", p, re.M)
            text = _pad(f"{title}. Recalling " + ", ".join(seen) + ".", _words(p))
        if log is not None:
            log.append((title, start, "draft" if "Current draft" not in p else "revision"))
        return text

    return ScriptedLLM(reply, **kwargs)


__all__ = ["cog_llm"]
