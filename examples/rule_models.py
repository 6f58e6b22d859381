"""Rule-based stand-ins for a real model, used by the example notebooks and scripts.

Each helper returns a `longweave.ScriptedLLM` whose replies are computed from the prompt alone
by a few regular-expression rules, so the examples run in seconds on any machine, give the same
result every time, and still show what the pipelines do with the information: a rule can only
use what reached its prompt. Swap in a real model (``longweave.load_llm("local")`` or
``"openai:gpt-4o-mini"``) to get real prose.

- `rule_summariser()`: plays Chain of Agents' summary workers and manager; it keeps the
  sentences that carry a figure (a digit), the way a careful note-taker keeps facts.
- `rule_writer(ratios=...)`: plays AgentWrite's planner, writer and summariser; it plans one
  section per "- name: point" line of the instruction (or a fixed plan), and writes each section
  at ``ratio`` times the words asked, so length control has something to correct.
- `rule_summarise_then_write()`: both at once, for the custom pipeline example.
"""

from __future__ import annotations

import re

from longweave import ScriptedLLM

FILLER = "the river carries silt past quiet towns and old stone bridges toward the sea".split()
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def filler_words(n: int, lead: str = "") -> str:
    """`lead` followed by filler, `n` words in all (at least the lead's)."""
    words = lead.split()
    k = 0
    while len(words) < n:
        words.append(FILLER[k % len(FILLER)])
        k += 1
    return " ".join(words) + "."


def _summary_rules(max_words: int = 400) -> list:
    def worker(m: re.Match, _) -> str:
        kept = [s.strip() for s in _SENTENCE.split(m["source"]) if re.search(r"\d", s)]
        previous = "" if m["previous"].strip() == "(none yet)" else m["previous"].strip()
        notes = " ".join([previous, *kept]).strip()
        return " ".join(notes.split()[-max_words:]) or "Nothing with figures yet."

    return [
        (
            r"<source>\s*(?P<source>.*?)\s*</source>\s*<previous_notes>\s*(?P<previous>.*?)\s*</previous_notes>",
            worker,
        ),
        (r"<notes>\s*(?P<notes>.*?)\s*</notes>", lambda m, _: m["notes"]),
    ]


def _writer_rules(plan: str | None, ratios: tuple[float, ...]) -> list:
    def planner(m: re.Match, _) -> str:
        if plan is not None:
            return plan
        lines = re.findall(r"^- (\S[^:\n]*): (.+)$", m["instruction"], re.M)
        each = int(m["target"]) // max(1, len(lines))
        return "\n".join(
            f"{i}. Title: {name.strip()} - Main Point: {point.strip()} - Word Count: {each} words"
            for i, (name, point) in enumerate(lines, 1)
        )

    def write(m: re.Match, _) -> str:
        ratio = ratios[(int(m["number"]) - 1) % len(ratios)]
        return filler_words(max(1, round(int(m["words"]) * ratio)), m["point"])

    def cont(m: re.Match, _) -> str:
        return filler_words(int(m["words"]))

    return [
        (
            r"Break down.*?add up to (?P<target>\d+) words"
            r".*?Writing instruction:\n(?P<instruction>.*?)\n\nAnswer",
            planner,
        ),
        (r"Continue the section.*?about (?P<words>\d+) more words", cont),
        (
            r"Now write section (?P<number>\d+) of \d+, \"[^\"]+\": (?P<point>.*?)\n"
            r"Write about (?P<words>\d+) words",
            write,
        ),
        (r"Newest section, \"(?P<title>[^\"]+)\".*updated summary", lambda m, _: f"So far: {m['title']}."),
    ]


def rule_summariser(**options) -> ScriptedLLM:
    """A summariser for Chain of Agents (``query=None``) that keeps sentences with figures."""
    return ScriptedLLM(rules=_summary_rules(), **options)


def rule_writer(plan: str | None = None, ratios: tuple[float, ...] = (1.0,), **options) -> ScriptedLLM:
    """A writer for AgentWrite: a plan (yours, or one section per "- name: point" line of the
    instruction), then each section at ``ratios[k % len(ratios)]`` times the words asked."""
    return ScriptedLLM(rules=_writer_rules(plan, ratios), **options)


def rule_summarise_then_write(ratios: tuple[float, ...] = (1.0,), **options) -> ScriptedLLM:
    """`rule_summariser` and `rule_writer` in one model, for the custom pipeline example."""
    return ScriptedLLM(rules=_summary_rules() + _writer_rules(None, ratios), **options)
