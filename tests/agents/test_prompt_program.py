"""The instruction registry as instruct models write it (plans seen from Qwen2.5-Coder-1.5B)."""

from __future__ import annotations

import pytest

from longweave.agents.prompt_program import (
    check_registry,
    fit_registry,
    headline,
    may_change_nothing,
    missing_files,
    named_files,
    parse_registry,
    split_registry,
    unrunnable,
)
from longweave.errors import InputError

F = "```"
PLAN = f"""Here is the plan:

1. Create the package directory 'textstats'.
2. Create the file 'textstats/core.py' with the following code:
   {F}python
   def word_count(text):
       # 1. split on whitespace
       return len(text.split())
   {F}
3. **Write `tests/test_core.py`**:
   - test word_count on an empty string
   - test it on two words
   {F}python
   from textstats.core import word_count

   def test_two():
       assert word_count("a b") == 2
   {F}
4. Install the package using pip:
   {F}bash
   pip install -e .
   {F}
5. Run the tests with pytest.

These steps give you a small, tested package.
"""


def test_steps_keep_their_sub_lines_and_code_and_unrunnable_ones_are_dropped():
    kept, dropped = split_registry(PLAN)
    assert [headline(s) for s in kept] == [
        "Create the file 'textstats/core.py' with the following code:",
        "**Write `tests/test_core.py`**:",
        "Run the tests with pytest.",
    ]
    # the code under a step is part of it, dedented, and "# 1." inside the fence starts no step
    assert kept[0].split("\n", 1)[1] == (
        f"{F}python\ndef word_count(text):\n    # 1. split on whitespace\n    return len(text.split())\n{F}"
    )
    assert "- test it on two words" in kept[1] and 'assert word_count("a b") == 2' in kept[1]
    assert "These steps" not in kept[2]  # the planner's closing remark is no part of step 5
    assert [headline(s) for s in dropped] == [
        "Create the package directory 'textstats'.",
        "Install the package using pip:",
    ]
    assert parse_registry(PLAN) == kept


@pytest.mark.parametrize(
    ("step", "runnable"),
    [
        ("Install the dependencies with pip", False),
        ("Create a virtual environment", False),
        ("Commit the changes and push them to the remote repository", False),
        ("Open your editor and create a new project", False),
        ("Start the development server", False),
        ("Publish the package to PyPI", False),
        ("Set up the project structure", False),
        ("No other files required as per the instructions.", False),
        ("Nothing else is needed.", False),
        ("No changes to test_roman.py are required", True),  # names a file: the agent judges
        ("Create setup.py so that pip can install the package", True),  # names a file
        ("Write stack.py with a Stack class: push, pop and peek", True),
        ("Run the tests", True),
        ("Write the README.md with installation instructions", True),
    ],
)
def test_unrunnable_steps(step, runnable):
    assert (unrunnable(step) is None) is runnable


def test_numbering_styles_and_bullets():
    assert parse_registry("### Step 1: Write a.py\n**2.** Write b.py\n3) Write c.py") == [
        "Write a.py",
        "Write b.py",
        "Write c.py",
    ]
    assert parse_registry("- Write a.py\n  - with A = 1\n- Write b.py") == [
        "Write a.py\n- with A = 1",
        "Write b.py",
    ]
    nested = parse_registry("1. Write the package:\n   1. a.py\n   2. b.py\n2. Write tests")
    assert nested == ["Write the package:\n1. a.py\n2. b.py", "Write tests"]
    assert parse_registry("no list here") == []
    # seen from Qwen2.5-Coder-1.5B: the numbers on one line, the steps as bullets under them
    bullets = "1. 2. 3. 4. 5.\n- `ini.py`: parse_ini(text)\n- `test_ini.py`: tests for ini.py"
    assert parse_registry(bullets) == ["`ini.py`: parse_ini(text)", "`test_ini.py`: tests for ini.py"]


def test_which_steps_may_change_nothing():
    assert may_change_nothing("Run the tests")
    assert may_change_nothing("Finally, verify that every function handles empty text")
    assert may_change_nothing("**Make sure** the tests pass")
    assert not may_change_nothing("Write textstats/core.py with word_count")
    assert not may_change_nothing("`test_textstats.py`\n```python\n...```")  # a file, not the verb "test"
    assert not may_change_nothing("Test word_count by writing tests in test_core.py")
    assert not may_change_nothing("Run the tests and fix any failure")  # unless the agent ran them:
    assert may_change_nothing("Run the tests and fix any failure", ran_checks=True)
    assert not may_change_nothing("Create core.py", ran_checks=True)


def test_named_and_missing_files_and_the_bound():
    step = "Create `textstats/core.py` and tests/test_core.py:\n```python\nimport other.py\n```"
    assert named_files(step) == ["textstats/core.py", "tests/test_core.py"]  # the headline's only
    assert missing_files(step, ["textstats/core.py"]) == []
    assert missing_files("Write core.py", ["textstats/core.py"]) == []  # a path ending in the name
    assert missing_files("Write core.py", ["other.py"]) == ["core.py"]
    merged = fit_registry(["Write a.py", "Write b.py", "Write test_c.py"], 2)
    assert merged == ["Write a.py", "Write b.py\n\nThen: Write test_c.py"]
    assert missing_files(merged[1], ["b.py"]) == ["test_c.py"]  # each merged part must write its file
    assert fit_registry(["x"], 3) == ["x"]


def test_user_registries_keep_their_lines():
    assert check_registry(["  Write   a.py  ", "Write b.py:\n```\nB = 1   \n```\n"]) == [
        "Write a.py",
        "Write b.py:\n```\nB = 1\n```",
    ]
    with pytest.raises(InputError, match="non-empty list"):
        check_registry(["ok", " "])


def test_packaging_steps_the_task_does_not_ask_for_are_not_its_steps():
    from longweave.agents.prompt_program import unasked

    task = "A Python module temperature.py with celsius_to_kelvin, plus pytest tests"
    assert unasked("setup.py\n- Defines the project metadata (if needed).", task)
    assert unasked("Write README.md and requirements.txt", task)
    assert unasked("temperature.py\n- the functions", task) is None
    assert unasked("Write setup.py and temperature.py", task) is None  # not only chores
    assert unasked("Write setup.py", "A package with a setup.py so pip can install it") is None
    assert unasked("Run the tests", task) is None
