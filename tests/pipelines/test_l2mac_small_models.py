"""L2MAC with scripted models that fail the way Qwen2.5-Coder-1.5B failed in issue 15's benchmark.

Each responder acts only on what its prompt holds: it copies the planner's stub, calls run_tests
when told the tests failed, rewrites a file only when the prompt shows that file and asks for it
by path, writes tests only when it is asked for them. A pipeline that does not show the failure
and the file at fault, or that calls a stub or a package without tests done, fails these tests.
"""

from __future__ import annotations

import re

from longweave.agents.sandbox import SandboxLimits, run_pytest
from longweave.llm import ScriptedLLM
from longweave.pipelines.l2mac import L2MAC

F = "```"
STUB = "def to_roman(n):\n    # Convert integer to Roman numeral\n    pass\n"
ROMAN = (
    "def to_roman(n):\n"
    "    out = ''\n"
    "    for value, digits in ((1000, 'M'), (900, 'CM'), (500, 'D'), (400, 'CD'), (100, 'C'),\n"
    "                          (90, 'XC'), (50, 'L'), (40, 'XL'), (10, 'X'), (9, 'IX'), (5, 'V'),\n"
    "                          (4, 'IV'), (1, 'I')):\n"
    "        while n >= value:\n"
    "            out += digits\n"
    "            n -= value\n"
    "    return out\n"
)
ROMAN_TESTS = "from roman import to_roman\n\n\ndef test_1994():\n    assert to_roman(1994) == 'MCMXCIV'\n"


def write(path: str, content: str) -> str:
    return f"ACTION: write_file\npath: {path}\n{F}python\n{content}{F}\n"


def last(messages) -> str:
    return messages[-1]["content"]


def instruction(messages) -> str:
    return re.search(r"\(the current instruction\):\n(.*?)\n", messages[1]["content"])[1]


def roman_model(messages):
    """Plans with a stub under each file, copies the stub, and in a fix round first runs the
    tests; it rewrites roman.py only when its prompt shows roman.py's stub and asks for it."""
    if "planner" in messages[0]["content"]:
        tests = ROMAN_TESTS.replace("\n", "\n   ")
        stub = f"1. `roman.py`\n   {F}python\n   def to_roman(n):\n       pass\n   {F}\n\n"
        return f"{stub}2. `test_roman.py`\n   {F}python\n   {tests}{F}\n"
    asked = messages[1]["content"]  # a fix request is a fresh context: it is in the first prompt
    if "path: roman.py" in asked and "roman.py:\n```python\ndef to_roman(n):" in asked:
        if "was not rewritten" in last(messages):
            return write("roman.py", ROMAN)
        return "ACTION: run_tests"  # what the 1.5B did with "the tests failed"
    if instruction(messages) == "`roman.py`" and len(messages) == 2:
        return write("roman.py", STUB)  # the planner's sketch, copied
    if instruction(messages) == "`test_roman.py`" and len(messages) == 2:
        return write("test_roman.py", ROMAN_TESTS)
    return "ACTION: complete"


def test_a_copied_stub_is_not_done_and_the_fix_request_shows_it_until_it_is_rewritten(tmp_path):
    llm = ScriptedLLM(roman_model)
    events = []
    result = L2MAC(llm, workdir=tmp_path).run(
        "A module roman.py with to_roman(n), plus pytest tests",
        on_event=lambda e: events.append((e.kind, e.to_dict())),
    )
    assert result.files["roman.py"] == ROMAN and result.ok and result.test_report.tests_run
    assert run_pytest(tmp_path, SandboxLimits(timeout=60)).ok
    feedback = [d["feedback"] for k, d in events if k == "check_failed"]
    assert "not implemented (its body is only a placeholder): roman.py: to_roman()" in feedback[0]
    # step 1 wrote the stub with no complete (its file written: done by that rule), and failed the check
    assert [d["ok"] for k, d in events if k == "step_done"] == [True, True]
    assert any("running or reading changes nothing" in p for p in llm.prompts)


def textstats_model(messages):
    """Plans the modules and forgets the tests; writes tests only when asked, from the code shown."""
    if "planner" in messages[0]["content"]:
        return "1. `textstats/__init__.py`\n2. `textstats/core.py` with word_count"
    text = last(messages)
    if "there are no tests" in text and "def word_count" in text:
        path = re.search(r"Write the tests of the code above in (\S+):", text)[1]
        tests = "from textstats import word_count\n\n\ndef test_two():\n    assert word_count('a b') == 2\n"
        return write(path, tests) + "ACTION: complete\nsummary: tests"
    if "textstats/__init__.py" in instruction(messages):
        return write("textstats/__init__.py", "from .core import word_count\n")
    if "textstats/core.py" in instruction(messages):
        # the two action lines of the hint, copied, then nothing: a write without content
        if len(messages) == 2:
            return "ACTION: write_file\npath: textstats/core.py\n" + F + "python\n"
        return write("textstats/core.py", "def word_count(text):\n    return len(text.split())\n")
    raise AssertionError(f"unexpected prompt: {text[-400:]}")


def test_tests_asked_for_and_never_written_are_added_by_the_control_unit(tmp_path):
    llm = ScriptedLLM(textstats_model)
    events = []
    result = L2MAC(llm, workdir=tmp_path).run(
        "A package textstats with word_count, plus pytest tests",
        on_event=lambda e: events.append((e.kind, e.to_dict())),
    )
    assert result.repairs == 1 and result.ok
    assert result.registry[-1].startswith("Repair: write pytest tests in test_textstats.py")
    assert "test_textstats.py" in result.files and "1 passed" in result.test_report.output
    assert [k for k, _ in events].count("repair") == 1
    # the empty write was refused with a reason, and the step took its file on the next turn
    assert any("write_file got no content for textstats/core.py" in p for p in llm.prompts)
    # a step whose reply wrote its named file ends there: no turn spent on "ACTION: complete"
    assert result.turns == 1 + 2 + 1
    # without tests asked for, none are required and nothing is added
    plain = L2MAC(ScriptedLLM(textstats_model), workdir=tmp_path / "plain").run("A package textstats")
    assert plain.ok and plain.repairs == 0 and not plain.test_report.tests_run


TEMPERATURE = "def c_to_k(c):\n    return c + 273.15\n"
FLOAT_TEST = "from temperature import c_to_k\n\n\ndef test_minus_40():\n    assert c_to_k(-40) == 233.15\n"
APPROX_TEST = (
    "import pytest\nfrom temperature import c_to_k\n\n\n"
    "def test_minus_40():\n    assert c_to_k(-40) == pytest.approx(233.15)\n"
)


def temperature_model(messages):
    """Plans a setup.py no one asked for and compares floats with ==; fixes the test only when the
    fix request shows it and names pytest.approx."""
    if "planner" in messages[0]["content"]:
        return "1. temperature.py\n2. test_temperature.py\n3. setup.py\n   - metadata, if needed"
    asked = messages[1]["content"]
    if "pytest.approx" in asked and "path: test_temperature.py" in asked:
        return write("test_temperature.py", APPROX_TEST)
    if "setup.py" in instruction(messages):
        raise AssertionError("setup.py was not asked for")
    if instruction(messages) == "temperature.py":
        return write("temperature.py", TEMPERATURE)
    return write("test_temperature.py", FLOAT_TEST)


def test_a_float_compared_with_equals_is_fixed_in_the_test_and_unasked_setup_is_dropped(tmp_path):
    llm = ScriptedLLM(temperature_model)
    result = L2MAC(llm, workdir=tmp_path).run("A module temperature.py with c_to_k, plus pytest tests")
    assert [r.split("\n")[0] for r in result.dropped] == ["setup.py"]
    assert result.files["test_temperature.py"] == APPROX_TEST and result.ok
    assert result.fix_rounds == 1 and result.failed_steps == [] and result.turns == 3
    fix = next(p for p in llm.prompts if "pytest.approx" in p)
    assert "233.14999999999998" in fix and "temperature.py:\n```python\ndef c_to_k" in fix


INI_BROKEN = "def parse_ini(text):\n    key, value = text.split('=')\n    return {key: value}\n"
INI_FIXED = (
    "def parse_ini(text):\n    out = {}\n    for line in text.splitlines():\n"
    "        if '=' in line:\n            key, value = line.split('=', 1)\n"
    "            out[key.strip()] = value.strip()\n    return out\n"
)
INI_TEST = (
    "from iniparse import parse_ini\n\n\n"
    "def test_two():\n    assert parse_ini('a=1\\nb=2') == {'a': '1', 'b': '2'}\n"
)


def ini_model(messages):
    """Writes a parser that raises; asked to fix it, first repeats it unchanged (as the 1.5B did),
    and writes a working one only when told its rewrite was identical."""
    asked = messages[1]["content"]
    if "The error is raised in iniparse.py" in asked:
        if "was identical to the file before it" in asked:
            return write("iniparse.py", INI_FIXED) + "ACTION: complete"
        return write("iniparse.py", INI_BROKEN) + "ACTION: complete\nsummary: should work now"
    if instruction(messages) == "Write iniparse.py":
        return write("iniparse.py", INI_BROKEN)
    return write("test_iniparse.py", INI_TEST)


def test_a_fix_identical_to_the_broken_file_is_named_in_the_next_fix_request(tmp_path):
    llm = ScriptedLLM(ini_model)
    registry = ["Write iniparse.py", "Write test_iniparse.py"]
    result = L2MAC(llm, workdir=tmp_path, max_fix_rounds=2).run("iniparse, with tests", registry=registry)
    assert result.files["iniparse.py"] == INI_FIXED and result.ok and result.fix_rounds == 2
    fix = next(p for p in llm.prompts if "was identical" in p)
    assert "Your last rewrite of iniparse.py was identical to the file before it" in fix
    assert "ValueError: too many values to unpack" in fix  # pytest's own output, shown


def test_a_step_that_rewrites_its_existing_file_unchanged_has_written_it(tmp_path):
    def agent(messages):
        return write("a.py", "A = 1\n")  # both steps write the same file, the same way

    events = []
    registry = ["Write a.py with A = 1", "Write a.py again"]
    result = L2MAC(ScriptedLLM(agent), workdir=tmp_path).run(
        "t", registry=registry, on_event=lambda e: events.append((e.kind, e.to_dict()))
    )
    assert result.ok and result.turns == 2
    done = [d for k, d in events if k == "step_done"]
    assert [(d["changed"], d["written"]) for d in done] == [(["a.py"], ["a.py"]), ([], ["a.py"])]


def test_a_repair_fixes_what_a_step_left_failing_and_the_step_is_repaired_not_failed(tmp_path):
    def agent(messages):
        asked = messages[1]["content"]
        if asked.count("Repair: fix the code") and "path: a.py" in asked and "assert 2 == 1" in asked:
            return write("a.py", "def one():\n    return 1\n")  # the rewrite, no "complete"
        if instruction(messages) == "Write a.py with one()":
            return write("a.py", "def one():\n    return 2\n")
        return write("test_a.py", "from a import one\n\n\ndef test_one():\n    assert one() == 1\n")

    events = []
    pipe = L2MAC(ScriptedLLM(agent), workdir=tmp_path, max_fix_rounds=0)
    result = pipe.run(
        "a.py, tested",
        registry=["Write a.py with one()", "Write test_a.py"],
        on_event=lambda e: events.append(e.kind),
    )
    assert result.repairs == 1 and result.registry[-1].startswith("Repair: fix the code")
    assert result.ok and result.repaired == [2] and result.failed_steps == [] and result.failures == []
    assert result.turns == 3 and events.count("repair") == 1


def test_a_file_cut_at_the_token_limit_is_refused_and_fix_rounds_sample_anew(tmp_path):
    from longweave.llm import Completion

    seeds = []

    class Cut(ScriptedLLM):
        async def generate(self, messages, **params):
            seeds.append(params.get("seed"))
            return await super().generate(messages, **params)

    def agent(messages):
        if "was cut at" in last(messages):
            return write("a.py", "def one():\n    return 2\n")
        if "assert 2 == 1" in messages[1]["content"]:
            return write("a.py", "def one():\n    return 1\n")
        if instruction(messages) == "Write test_a.py":
            return write("test_a.py", "from a import one\n\n\ndef test_one():\n    assert one() == 1\n")
        return Completion(
            text="ACTION: write_file\npath: a.py\n```python\ndef one(:\n    ret", finish_reason="length"
        )

    result = L2MAC(Cut(agent), workdir=tmp_path).run(
        "t", registry=["Write a.py with one()", "Write test_a.py"]
    )
    assert result.ok and result.files["a.py"] == "def one():\n    return 1\n"
    assert seeds == [None, None, None, 1]  # cut, rewritten, tests, then the fix round's own sample
    from longweave.agents._fixes import tests_file_for

    assert tests_file_for(["src/structures.py"]) == "test_structures.py"
    assert tests_file_for(["textstats/__init__.py", "textstats/core.py"]) == "test_textstats.py"
