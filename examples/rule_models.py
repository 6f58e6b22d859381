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
- `rule_unit_writer(forget_first=1)`: plays CogWriter's writers; it mentions exactly the terms
  its prompt says a unit "must mention", but forgets them in its first draft of each unit, so
  the monitor and reviewer have something to catch.
- `rule_coder()`: plays L2MAC's planner and coding agent for a two-step calculator package; it
  writes a bug first and fixes it only when the failing test's output reaches its prompt.
- `rule_chat()`: plays MemoryChat's controller, summariser and responder; it answers a question
  about a planted fact only from the memories in its prompt.
"""

from __future__ import annotations

import re

from longweave import ScriptedLLM
from longweave.llm.scripted import prompt_text

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


# -- CogWriter -------------------------------------------------------------------------------


def rule_unit_writer(forget_first: int = 1, **options) -> ScriptedLLM:
    """A CogWriter unit writer: names its unit, mentions each term listed under "must mention",
    except in its first `forget_first` drafts of each unit (revisions then obey)."""
    drafts: dict[str, int] = {}

    def reply(messages) -> str:
        p = prompt_text(messages)
        if "Constraints:" in p and "single | UNIT" in p:  # the planner's constraint extraction
            return "none"
        words = int(re.findall(r"about (\d+) (?:more )?words", p)[-1])
        if "more words" in p:  # length control asks for a continuation
            return filler_words(words)
        title = re.search(r'unit \d+ of \d+: "([^"]+)"', p, re.I)[1]
        k = drafts[title] = drafts.get(title, 0) + 1
        terms = []
        if k > forget_first:
            for group in re.findall(r"must mention: ([^)]+)\)", p):
                terms += [t.strip() for t in group.split(",")]
        return filler_words(words, f"{title}. " + " ".join(f"There was {t}." for t in terms))

    return ScriptedLLM(reply, **options)


# -- L2MAC -----------------------------------------------------------------------------------

_FENCE = "```"
CALC_BUGGY = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b\n"
CALC_FIXED = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
CALC_TESTS = (
    "from calc.ops import add, mul\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_mul():\n    assert mul(2, 3) == 6\n"
)


def _write_file(path: str, content: str) -> str:
    return f"ACTION: write_file\npath: {path}\n{_FENCE}python\n{content}{_FENCE}\n"


def rule_coder(**options) -> ScriptedLLM:
    """L2MAC's planner and agent for "a calculator package with tests": two instructions; the
    first draft of ``mul`` adds instead of multiplying, fixed once pytest's failure is shown."""

    def reply(messages) -> str:
        text = messages[-1]["content"]
        if "planner" in messages[0]["content"]:
            return "Plan:\n1. Write the calc package with add and mul.\n2. Write pytest tests for calc.ops."
        step = int(
            re.search(r"Instruction (\d+) of \d+ \(the current instruction\)", messages[1]["content"])[1]
        )
        if "the tests failed" in text and "assert 5 == 6" in text:
            return (
                "The bug is in mul.\n"
                + _write_file("calc/ops.py", CALC_FIXED)
                + "ACTION: complete\nsummary: fixed mul"
            )
        if step == 1 and len(messages) == 2:
            return (
                _write_file("calc/__init__.py", "")
                + _write_file("calc/ops.py", CALC_BUGGY)
                + "ACTION: list_files\n"
            )
        if step == 1:
            return "ACTION: complete\nsummary: wrote calc/ops.py with add and mul"
        return _write_file("tests/test_ops.py", CALC_TESTS) + "ACTION: complete\nsummary: wrote tests"

    return ScriptedLLM(reply, **options)


# -- MemoryChat ------------------------------------------------------------------------------


def rule_chat(**options) -> ScriptedLLM:
    """MemoryChat's agents: memory is needed for questions ("?"); summaries keep codes; the
    responder answers "what is my ... code?" only from the memories in its system prompt."""

    def decide(m, messages) -> str:
        message = messages[-1]["content"].split("User input:", 1)[1].split("Does replying", 1)[0]
        return "yes" if "?" in message else "no"

    def summary(m, messages) -> str:
        code = re.search(r"(\w+) code is (\d+)", messages[-1]["content"].split("Memory:", 1)[1])
        return f"The user's {code[1]} code is {code[2]}." if code else "Small talk."

    def answer(m, messages) -> str:
        memories = prompt_text(messages[:-1])  # the notes and the recalled turns, not the question
        found = re.search(rf"{m[1]} code is (\d+)", memories)
        return f"Your {m[1]} code is {found[1]}." if found else f"I do not know your {m[1]} code."

    return ScriptedLLM(
        rules=[
            (r"Answer yes or no\.", decide),
            (r"Summarize this memory", summary),
            (r"What is my (\w+) code\?\s*$", answer),
            (r".", "OK, noted."),
        ],
        **options,
    )
