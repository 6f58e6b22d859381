from __future__ import annotations

import json

from longweave.agents.control_unit import Toolbox, check_work
from longweave.agents.tools import ToolCall, parse_reply, parse_text_actions
from longweave.llm import Completion
from longweave.memory.file_store import FileStore


def test_tolerant_text_actions():
    text = (
        "Sure, here is the module.\n"
        "**Action:** Write-File\n"
        "Path: `calc/ops.py`\n"
        "```python\ndef add(a, b):\n    return a + b\n```\n"
        "action = read\nfile: calc/ops.py\nstart: 2\n"
        "ACTION: run tests\n"
        "ACTION: frobnicate\n"
        "Action: done\nsummary: wrote ops\n"
    )
    calls = parse_text_actions(text)
    assert [c.name for c in calls] == ["write_file", "read_file", "run_tests", "frobnicate", "complete"]
    assert calls[0].args == {"path": "calc/ops.py", "content": "def add(a, b):\n    return a + b\n"}
    assert calls[1].args == {"path": "calc/ops.py", "start": 2}
    assert calls[3].error and "unknown tool" in calls[3].error
    assert calls[4].args["summary"] == "wrote ops"


def test_missing_closing_fence_and_nested_fences():
    calls = parse_text_actions(
        "ACTION: write_file\npath: a.md\n````\n# T\n```\ncode\n```\n````\nACTION: complete"
    )
    assert calls[0].args["content"] == "# T\n```\ncode\n```\n"
    calls = parse_text_actions("ACTION: write_file\npath: b.py\n```\nx = 1\n")
    assert calls[0].args["content"] == "x = 1\n"


def test_write_without_content_is_an_error_for_the_model():
    (call,) = parse_text_actions("ACTION: write_file\npath: a.py\n")
    assert call.error and "content" in call.error


def test_json_fallback():
    calls = parse_text_actions('{"tool": "write_file", "args": {"path": "a.py", "content": "x = 1\\n"}}')
    assert calls[0].name == "write_file" and calls[0].args["content"] == "x = 1\n"


def test_native_tool_calls_win_over_text():
    args = json.dumps({"path": "n.py", "content": "y = 2\n"})
    completion = Completion(
        text="ACTION: list_files", tool_calls=[{"id": "c1", "name": "write_file", "arguments": args}]
    )
    (call,) = parse_reply(completion)
    assert (call.name, call.args, call.id) == ("write_file", {"path": "n.py", "content": "y = 2\n"}, "c1")
    completion.tool_calls = [{"id": "c2", "name": "read_file", "arguments": "{not json"}]
    assert "not valid JSON" in parse_reply(completion)[0].error


def test_toolbox_turns_refusals_into_observations(tmp_path):
    box = Toolbox(FileStore(tmp_path))
    obs = box.execute(ToolCall("write_file", {"path": "../x.py", "content": "1"}))
    assert not obs.ok and "climbs out" in obs.text
    obs = box.execute(ToolCall("write_file", {"path": "big.py", "content": "\n".join(map(str, range(500)))}))
    obs = box.execute(ToolCall("read_file", {"path": "big.py"}))
    assert obs.text.endswith("[lines 1-200 of 500]") and "\n199\n" in obs.text and "\n250\n" not in obs.text
    book = Toolbox(FileStore(tmp_path / "book"), mode="book")
    assert "not available" in book.execute(ToolCall("run_tests")).text


def test_check_work_reports_syntax_errors_without_running(tmp_path):
    store = FileStore(tmp_path)
    store.write("bad.py", "def f(:\n")
    store.write("test_bad.py", "import bad\n")
    report = check_work(store)
    assert report.syntax_errors and "bad.py, line 1" in report.syntax_errors[0]
    assert not report.tests_run and not report.ok


def test_prose_with_named_fenced_blocks_becomes_writes():
    from longweave.agents.tools import fenced_files

    text = (
        "Sure! Here is the package.\n\n"
        "**textstats/core.py**\n```python\ndef word_count(text):\n    return len(text.split())\n```\n\n"
        "```python\n# tests/test_core.py\nfrom textstats.core import word_count\n```\n"
        "File: `textstats/__init__.py`\n```\nfrom .core import word_count\n```\n"
        "```python textstats/extra.py\nX = 1\n```\n"
        "Install it:\n```bash\npip install -e .\n```\n"
        "Example:\n```python\nprint(word_count('a b'))\n```\n"
    )
    calls = fenced_files(text)
    assert {c.args["path"]: c.args["content"] for c in calls} == {
        "textstats/core.py": "def word_count(text):\n    return len(text.split())\n",
        "tests/test_core.py": "# tests/test_core.py\nfrom textstats.core import word_count\n",
        "textstats/__init__.py": "from .core import word_count\n",
        "textstats/extra.py": "X = 1\n",
    }  # the shell block and the unnamed example are not files
    # one unnamed block goes to the file the instruction names, a block nested in a list is dedented
    (call,) = fenced_files("1. The code:\n   ```python\n   def f():\n       return 1\n   ```", "pkg/f.py")
    assert call.args == {"path": "pkg/f.py", "content": "def f():\n    return 1\n"}
    assert fenced_files("```python\nA = 1\n```\n```python\nB = 2\n```", "a.py") == []  # which one?


def test_parse_reply_falls_back_to_fenced_files_only_without_other_actions():
    prose = Completion(text="Here it is:\n**a.py**\n```python\nA = 1\n```\nACTION: complete")
    assert [(c.name, c.args.get("path")) for c in parse_reply(prose)] == [
        ("write_file", "a.py"),
        ("complete", None),
    ]
    # a native `complete` with the file in prose (how Qwen2.5-Coder-1.5B answers): the file comes first
    native = Completion(text="```python\n# a.py\nA = 1\n```", tool_calls=[{"id": "1", "name": "complete",
                                                                            "arguments": "{}"}])  # fmt: skip
    assert [c.name for c in parse_reply(native)] == ["write_file", "complete"]
    # a block under another action is that action's, never a file
    run = Completion(text="ACTION: run_python\npath: a.py\n```python\n4\n```")
    assert [c.name for c in parse_reply(run)] == ["run_python"]
    # a closing fence with junk after it opens nothing
    junk = Completion(
        text='(write_file {"path": "a.py", "content": ```python\nA = 1\n```})\n\nAction: complete'
    )
    assert [c.name for c in parse_reply(junk)] == ["complete"]


def test_native_arguments_may_hold_raw_newlines_and_calls_render_back_as_actions():
    from longweave.agents.tools import native_tool_calls, render_calls

    raw = '{"path": "a.py", "content": "def f():\n    return 1\n"}'  # newlines unescaped in the JSON
    (call,) = native_tool_calls(
        Completion(text="", tool_calls=[{"id": "1", "name": "write_file", "arguments": raw}])
    )
    assert call.error is None and call.args["content"] == "def f():\n    return 1\n"
    twice = json.dumps({"path": "b.py", "content": "def g():\\n    return 'x'\\n"})  # "\\n" in the file
    (call_b,) = native_tool_calls(
        Completion(text="", tool_calls=[{"name": "write_file", "arguments": twice}])
    )
    assert call_b.args["content"] == "def g():\n    return 'x'\n"
    calls = [call, ToolCall("complete", {"summary": "wrote a.py"})]
    again = parse_text_actions(render_calls(calls))
    assert [(c.name, c.args) for c in again] == [(c.name, c.args) for c in calls]


def test_a_write_without_content_is_refused_except_for_files_that_may_be_empty():
    # the 1.5B coder copied "ACTION: write_file / path: ..." from its prompt and stopped there
    (call,) = parse_text_actions("ACTION: write_file\npath: textstats/core.py\n```python\n")
    assert call.error and "no content for textstats/core.py" in call.error
    (init,) = parse_text_actions("ACTION: write_file\npath: pkg/__init__.py\n```python\n```\n")
    assert init.error is None and init.args["content"] == ""
