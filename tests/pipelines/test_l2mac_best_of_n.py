"""L2MAC's best-of-n draws (`samples` > 1) with scripted models that answer by seed.

Each responder writes a candidate chosen by the seed of the call, as a sampled model would, and
never sees the file it is asked to rewrite (a draw's prompt leaves it out), so a pipeline that
keeps the wrong candidate, reports a failed draw as done or draws past its budget fails here.
"""

from __future__ import annotations

import re

from longweave.agents.sandbox import SandboxLimits, run_pytest
from longweave.llm import ScriptedLLM
from longweave.pipelines.l2mac import L2MAC

F = "```"
TABLE = "def to_roman(n):\n    return {1: 'I', 4: 'IV', 1000: 'M'}.get(n)\n"  # the 1.5B's lookup table
ROMAN = (
    "def to_roman(n):\n    out = ''\n"
    "    for value, digits in ((1000, 'M'), (900, 'CM'), (500, 'D'), (400, 'CD'), (100, 'C'), (90, 'XC'),\n"
    "                          (50, 'L'), (40, 'XL'), (10, 'X'), (9, 'IX'), (5, 'V'), (4, 'IV'), (1, 'I')):\n"
    "        while n >= value:\n            out += digits\n            n -= value\n    return out\n"
)
ROMAN_TESTS = "from roman import to_roman\n\n\ndef test_1994():\n    assert to_roman(1994) == 'MCMXCIV'\n"
REGISTRY = ["Write roman.py with to_roman(n)", "Write test_roman.py"]


def write(path: str, content: str) -> str:
    return f"ACTION: write_file\npath: {path}\n{F}python\n{content}{F}\n"


def instruction(messages) -> str:
    return re.search(r"\(the current instruction\):\n(.*?)\n", messages[1]["content"])[1]


class Seeded(ScriptedLLM):
    """A scripted model whose responder also gets the call's seed (None for the first sample)."""

    def __init__(self, responder):
        super().__init__(lambda messages: responder(messages, self.seed_now))
        self.seeds: list[int | None] = []
        self.seed_now: int | None = None

    async def generate(self, messages, **params):
        self.seed_now = params.get("seed")
        self.seeds.append(self.seed_now)
        return await super().generate(messages, **params)


def asked_for(messages) -> str | None:
    """The file a best-of-n draw asks for, or None for an ordinary agent turn."""
    m = re.search(r"^Write (\S+) again", messages[-1]["content"], re.M)
    return m[1] if m else None


def roman_model(good_from: int | None):
    """Writes the lookup table, then the tests; in a draw, the table again until the
    `good_from`-th candidate (1-based; None: never), then the working converter."""
    seen: list[int] = []

    def reply(messages, seed):
        target = asked_for(messages)
        if target == "roman.py":
            assert "def to_roman" not in messages[-1]["content"].split("The other files involved")[1]
            seen.append(seed)
            good = good_from is not None and len(seen) >= good_from
            return write("roman.py", ROMAN if good else TABLE) + "ACTION: complete"
        if target == "test_roman.py":  # the counterpart: tests that still expect 1994 right
            return write("test_roman.py", ROMAN_TESTS)
        if instruction(messages) == REGISTRY[0]:
            return write("roman.py", TABLE)
        return write("test_roman.py", ROMAN_TESTS)

    return reply


def events_of(kind: str, events: list) -> list[dict]:
    return [d for k, d in events if k == kind]


def test_a_later_candidate_that_passes_the_tests_is_kept(tmp_path):
    llm = Seeded(roman_model(good_from=2))
    events = []
    result = L2MAC(llm, workdir=tmp_path, samples=3).run(
        "roman.py with to_roman, plus pytest tests",
        registry=REGISTRY,
        on_event=lambda e: events.append((e.kind, e.to_dict())),
    )
    assert result.ok and result.files["roman.py"] == ROMAN and result.failures == []
    assert run_pytest(tmp_path, SandboxLimits(timeout=60)).ok
    (draw,) = events_of("sampled", events)
    assert draw["target"] == "roman.py" and draw["kept"] == 2
    assert draw["scores"] == [(False, 0, True), (True, 1, True)]  # stopped at the first that passed
    assert [d["ok"] for d in events_of("step_done", events)] == [True, True]
    assert result.turns == 4 and result.fix_rounds == 1
    assert llm.seeds[:2] == [None, None] and len(set(llm.seeds[2:])) == 2  # each candidate its own seed


def test_a_model_on_this_cpu_gets_best_of_n_by_default(tmp_path):
    # the embedded models' default: the fix rounds of the default (1) left roman.py wrong
    llm = Seeded(roman_model(good_from=2))
    llm.runs_on_cpu = True
    result = L2MAC(llm, workdir=tmp_path).run("roman.py with to_roman, plus pytest tests", registry=REGISTRY)
    assert result.ok and result.files["roman.py"] == ROMAN
    served = Seeded(roman_model(good_from=2))
    assert L2MAC(served, workdir=tmp_path / "other").samples == 1


def test_a_draw_where_every_candidate_fails_is_a_failed_step_and_the_file_is_put_back(tmp_path):
    llm = Seeded(roman_model(good_from=None))
    events = []
    pipe = L2MAC(llm, workdir=tmp_path, samples=3, max_fix_rounds=2, max_repairs=0)
    result = pipe.run(
        "roman.py with to_roman, plus pytest tests",
        registry=REGISTRY,
        on_event=lambda e: events.append((e.kind, e.to_dict())),
    )
    assert not result.ok and result.failed_steps == [2]
    assert result.failures == ["2: checks still failing after 2 draws of up to 3 samples"]
    assert [d["ok"] for d in events_of("step_done", events)] == [True, False]
    draws = events_of("sampled", events)
    # three module candidates, then the counterpart: the test file, three candidates more
    assert [(d["target"], len(d["scores"]), d["kept"]) for d in draws] == [
        ("roman.py", 3, 0),
        ("test_roman.py", 3, 0),
    ]
    assert result.files == {"roman.py": TABLE, "test_roman.py": ROMAN_TESTS}
    assert result.turns == 2 + 6 and len(llm.calls) == 8


def test_draws_stop_at_the_run_budget(tmp_path):
    llm = Seeded(roman_model(good_from=None))
    result = L2MAC(llm, workdir=tmp_path, samples=5, max_steps=4, max_repairs=0).run(
        "roman.py with to_roman, plus pytest tests", registry=REGISTRY
    )
    assert len(llm.calls) == 4 and result.turns == 4  # two steps, then two candidates of five
    assert not result.ok and result.failed_steps == [2]


WORDS = "def word_count(text):\n    return len(text.split())\n"
DICT_TEST = (
    "from words import word_count\n\n\ndef test_count():\n    assert word_count('a b') == {'a': 1, 'b': 1}\n"
)
INT_TEST = "from words import word_count\n\n\ndef test_count():\n    assert word_count('a b') == 2\n"


def test_tests_that_contradict_the_task_are_redrawn_after_the_module_draw_fails(tmp_path):
    def reply(messages, seed):
        target = asked_for(messages)
        if target == "words.py":  # the same module every time: it is right
            return write("words.py", WORDS)
        if target == "test_words.py":
            assert "def word_count" in messages[-1]["content"]  # the module is shown, not the test
            if seed % 2:
                return write("test_words.py", "import pytest\n")  # no test in it: no fix
            return write("test_words.py", INT_TEST)
        if instruction(messages) == "Write words.py":
            return write("words.py", WORDS)
        return write("test_words.py", DICT_TEST)

    events = []
    result = L2MAC(Seeded(reply), workdir=tmp_path, samples=2, max_repairs=0).run(
        "words.py with word_count(text), the number of words, plus pytest tests",
        registry=["Write words.py", "Write test_words.py"],
        on_event=lambda e: events.append((e.kind, e.to_dict())),
    )
    draws = events_of("sampled", events)
    assert [(d["target"], d["kept"]) for d in draws] == [("words.py", 0), ("test_words.py", 2)]
    assert draws[1]["scores"][0] == (False, 0, False)  # the file without a test was not taken
    assert result.ok and result.files["test_words.py"] == INT_TEST and result.files["words.py"] == WORDS


def test_a_repair_for_missing_tests_draws_them(tmp_path):
    def reply(messages, seed):
        target = asked_for(messages)
        if target == "test_words.py":
            wrong = seed % 2 == 1
            return write("test_words.py", DICT_TEST if wrong else INT_TEST)
        return write("words.py", WORDS)

    events = []
    result = L2MAC(Seeded(reply), workdir=tmp_path, samples=3).run(
        "words.py with word_count(text), plus pytest tests",
        registry=["Write words.py"],
        on_event=lambda e: events.append((e.kind, e.to_dict())),
    )
    assert result.repairs == 1
    assert result.registry[-1].startswith("Repair: write pytest tests in test_words.py")
    (draw,) = events_of("sampled", events)
    assert draw["target"] == "test_words.py" and draw["kept"] == 2
    assert draw["scores"][0] == (False, 0, True)  # failing tests beat none: kept, then bettered
    assert result.ok and result.files["test_words.py"] == INT_TEST and result.turns == 1 + 2


def test_a_step_that_never_writes_its_file_gets_a_draw_of_it(tmp_path):
    def reply(messages, seed):
        if asked_for(messages) == "test_words.py":
            return write("test_words.py", INT_TEST)
        if instruction(messages) == "Write words.py":
            return write("words.py", WORDS)
        return "ACTION: write_file\npath: test_words.py\n"  # the start hint copied, every turn

    events = []
    result = L2MAC(Seeded(reply), workdir=tmp_path, samples=3, max_turns_per_step=2).run(
        "words.py with word_count(text), plus pytest tests",
        registry=["Write words.py", "Write test_words.py"],
        on_event=lambda e: events.append((e.kind, e.to_dict())),
    )
    (draw,) = events_of("sampled", events)
    assert draw["target"] == "test_words.py" and draw["kept"] == 1 and draw["scores"] == [(True, 1, True)]
    assert result.ok and result.failures == [] and result.repairs == 0
    assert [d["ok"] for d in events_of("step_done", events)] == [True, True]
    assert result.turns == 1 + 2 + 1 and result.files["test_words.py"] == INT_TEST


def test_a_test_file_draw_sees_the_modules_not_the_failing_tests_source(tmp_path):
    kelvin = "def c_to_k(c):\n    return c + 273.15\n"
    wrong = "from temperature_converter import c_to_k\n\n\ndef test_zero():\n    assert c_to_k(0) == 273.15\n"
    right = wrong.replace("temperature_converter", "temperature")

    def reply(messages, seed):
        asked = messages[-1]["content"]
        if asked_for(messages) == "test_temperature.py":
            if "from temperature_converter" in asked or "(temperature)" not in asked:
                return write("test_temperature.py", wrong)  # copies what it is shown
            assert "temperature.py:\n```python\ndef c_to_k" in asked
            return write("test_temperature.py", right)
        if instruction(messages) == "Write temperature.py":
            return write("temperature.py", kelvin)
        return write("test_temperature.py", wrong)

    result = L2MAC(Seeded(reply), workdir=tmp_path, samples=2, max_repairs=0).run(
        "temperature.py with c_to_k, plus pytest tests",
        registry=["Write temperature.py", "Write test_temperature.py"],
    )
    assert result.ok and result.files["test_temperature.py"] == right and result.turns == 3


def test_a_draw_with_no_readable_candidate_of_a_new_file_fails_the_step_cleanly(tmp_path):
    # the embedded 270M model's draws for hello.py held no code: nothing to keep, nothing to delete
    def reply(messages, seed):
        if asked_for(messages) == "test_words.py":
            return "I would write the tests like this."
        if instruction(messages) == "Write words.py":
            return write("words.py", WORDS)
        return "ACTION: write_file\npath: test_words.py\n"

    result = L2MAC(Seeded(reply), workdir=tmp_path, samples=2, max_turns_per_step=2, max_repairs=0).run(
        "words.py with word_count(text), plus pytest tests",
        registry=["Write words.py", "Write test_words.py"],
    )
    assert not result.ok and "test_words.py" not in result.files and result.failures
