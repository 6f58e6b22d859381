"""The tools L2MAC's agents call, and the one place their calls are parsed.

Two protocols reach the same `ToolCall`s:

* native tool calls, where the backend returns them (OpenAI-compatible servers, and llama.cpp
  with a tool-aware chat template, given ``tools=TOOL_SPECS``): read from
  `Completion.tool_calls`;
* a plain-text action format for models without tool calling (the embedded base model, many
  vLLM models), parsed tolerantly: case, ``**bold**`` markers, hyphens, aliases, a missing
  closing fence are all accepted::

      ACTION: write_file
      path: calc/ops.py
      ```python
      def add(a, b):
          return a + b
      ```
      ACTION: run_tests
      ACTION: complete
      summary: wrote calc/ops.py with add()

A call the parser cannot understand becomes a `ToolCall` with an ``error``, which the control
unit feeds back to the model as an observation (a model's mistake is never our exception).

Last fallback, for instruct models that answer in prose with the code in fenced blocks: when a
reply holds no valid write_file call, `fenced_files` writes each fenced block that is named, by
its info string (```` ```python textstats/core.py ````), by a path comment on its first line
(``# textstats/core.py``), or by the line just above it (``**textstats/core.py**``, ``File:
`core.py```, ``Create `core.py` with:``); shell blocks are never files. One unnamed code block
goes to the caller's `default_path` (the file the instruction names), if given; a reply that
was prose only then ends with an implied ``complete``.

Deliberately not here: executing tools against the store (see `Toolbox` in
``longweave.agents.control_unit``) and anything about graphs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

TOOL_SPECS: list[dict] = [
    {"type": "function", "function": {
        "name": "list_files", "description": "List every file in the store with its size.",
        "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {
        "name": "read_file", "description": "Read a file, or lines start..end of it (capped).",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"}},
            "required": ["path"]}}},
    {"type": "function", "function": {
        "name": "write_file", "description": "Create or replace a file with the given content.",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string"}, "content": {"type": "string"}}, "required": ["path", "content"]}}},
    {"type": "function", "function": {
        "name": "delete_file", "description": "Delete a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}},
    {"type": "function", "function": {
        "name": "run_tests", "description": "Run the test suite (pytest) in the sandbox.",
        "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {
        "name": "run_python", "description": "Run a Python file of the store in the sandbox.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}},
    {"type": "function", "function": {
        "name": "complete", "description": "Mark the current instruction done, with a short summary.",
        "parameters": {"type": "object", "properties": {"summary": {"type": "string"}}}}},
]  # fmt: skip

TOOL_NAMES = tuple(spec["function"]["name"] for spec in TOOL_SPECS)
CODE_ONLY_TOOLS = ("run_tests", "run_python")

_ALIASES = {
    "ls": "list_files", "list": "list_files", "listfiles": "list_files",
    "read": "read_file", "view": "read_file", "open": "read_file", "cat": "read_file",
    "write": "write_file", "create_file": "write_file", "save": "write_file", "writefile": "write_file",
    "delete": "delete_file", "remove": "delete_file", "rm": "delete_file",
    "test": "run_tests", "tests": "run_tests", "pytest": "run_tests", "run_test": "run_tests",
    "run": "run_python", "python": "run_python", "execute": "run_python",
    "done": "complete", "finish": "complete", "finished": "complete", "mark_complete": "complete",
    "step_complete": "complete", "complete_step": "complete",
}  # fmt: skip

_ACTION = re.compile(r"^[ \t>*_#-]*action[*_ ]*[:=][ \t*_`]*([A-Za-z][\w -]*?)[ \t*_`]*$", re.I | re.M)
_ARG = re.compile(r"^[ \t*_-]*([A-Za-z_]+)[*_ ]*[:=][ \t]*(.*?)[ \t]*$")
_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})[^\n]*$", re.M)
#: A relative file path with an extension a project holds (what `fenced_files` accepts as a name).
FILE_PATH = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:py|md|txt|toml|cfg|ini|json|ya?ml|rst|csv))(?![\w/-])"
)
_BLOCK = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([^\n]*)\n(.*?)(?:^[ \t]*\2[ \t]*$|\Z)", re.S | re.M)
_SHELL = {"bash", "sh", "shell", "console", "zsh", "cmd", "powershell", "bat", "terminal", "output"}
_PATH_COMMENT = re.compile(
    r"^[ \t]*(?:#|//|<!--)[ \t]*(?:(?:file(?:name)?|path)[ \t]*:[ \t]*)?`?([^\s`]+?)`?"
    r"[ \t]*:?[ \t]*(?:-->)?[ \t]*$",
    re.I,
)


@dataclass(slots=True)
class ToolCall:
    """One call of a tool, as parsed; `error` says why it cannot run, if so."""

    name: str
    args: dict = field(default_factory=dict)
    error: str | None = None
    id: str | None = None


def normalize_name(name: str) -> str:
    key = name.strip().strip("`*_").lower().replace("-", "_").replace(" ", "_")
    return key if key in TOOL_NAMES else _ALIASES.get(key.replace("_", ""), _ALIASES.get(key, key))


def _unescape(content: str) -> str:
    """A file's content escaped twice (small models write ``"def f():\\n    ..."`` inside JSON
    arguments, which decodes to a literal backslash-n): one line with literal ``\\n`` in it
    is taken as the escaped text."""
    if "\n" in content.rstrip("\n") or "\\n" not in content:
        return content
    return content.replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"').replace("\\'", "'")


def _may_be_empty(path: object) -> bool:
    """Files that are complete when empty (a package's ``__init__.py``, a marker file)."""
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    return name in ("__init__.py", "py.typed", ".gitkeep") or not name.endswith((".py", ".md"))


def _check(call: ToolCall) -> ToolCall:
    if call.error:
        return call
    if call.name not in TOOL_NAMES:
        call.error = f"unknown tool {call.name!r}; the tools are: {', '.join(TOOL_NAMES)}"
    elif call.name in ("read_file", "write_file", "delete_file", "run_python") and not call.args.get("path"):
        call.error = f"{call.name} needs a path"
    elif call.name == "write_file" and "content" not in call.args:
        call.error = "write_file needs the file's content in a fenced block after the path line"
    elif (
        call.name == "write_file"
        and not str(call.args["content"]).strip()
        and not _may_be_empty(call.args["path"])
    ):
        call.error = (f"write_file got no content for {call.args['path']}: after the path line comes the "
                      "whole file in a fenced block")  # fmt: skip
    elif call.name == "write_file":
        call.args["content"] = _unescape(str(call.args["content"]))
    for key in ("start", "end"):
        if key in call.args and not isinstance(call.args[key], int):
            try:
                call.args[key] = int(str(call.args[key]).strip())
            except ValueError:
                call.args.pop(key)
    return call


def _parse_segment(name: str, body: str) -> ToolCall:
    args: dict = {}
    fence = _FENCE.search(body)
    head = body[: fence.start()] if fence else body
    for line in head.splitlines():
        m = _ARG.match(line)
        if m and m[2]:
            args[m[1].lower()] = m[2].strip().strip("`'\"")
    if "file" in args and "path" not in args:
        args["path"] = args.pop("file")
    if fence:
        marker = fence[2]
        rest = body[fence.end() + 1 :]
        close = re.search(rf"^[ \t]*{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$", rest, re.M)
        content = rest[: close.start()] if close else rest  # tolerate a missing closing fence
        args.setdefault("content", content)
    elif "content" in args:
        args["content"] = args["content"] + "\n"
    return _check(ToolCall(normalize_name(name), args))


def parse_text_actions(text: str) -> list[ToolCall]:
    """Every action in a plain-text reply, in order (see the module docstring for the format)."""
    marks = list(_ACTION.finditer(text))
    calls = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        calls.append(_parse_segment(m[1], text[m.end() : end]))
    if not calls:
        calls.extend(_parse_json_actions(text))
    return calls


def _parse_json_actions(text: str) -> list[ToolCall]:
    """Fallback: a JSON object (or list) like ``{"tool": "write_file", "args": {...}}``."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return []
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    calls = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name = item.get("tool") or item.get("name") or item.get("action")
        if not isinstance(name, str):
            continue
        args = item.get("args") or item.get("arguments") or {}
        calls.append(_check(ToolCall(normalize_name(name), dict(args) if isinstance(args, dict) else {})))
    return calls


def _path(text: str) -> str | None:
    found = [m[1] for m in FILE_PATH.finditer(text.replace("`", " ").replace("*", " "))]
    return found[-1].lstrip("./") if found else None


def _dedent(body: str, width: int) -> str:
    """`body` without the indentation of its fence (a block nested under a list item)."""
    if not width:
        return body
    lines = body.split("\n")
    return "\n".join(line[width:] if not line[:width].strip() else line.lstrip() for line in lines)


def fenced_files(text: str, default_path: str | None = None) -> list[ToolCall]:
    """write_file calls for the named fenced blocks of a prose reply (see the module docstring).

    Example:
        >>> (call,) = fenced_files("**a/b.py**\\n```python\\nX = 1\\n```")
        >>> call.args
        {'path': 'a/b.py', 'content': 'X = 1\\n'}
    """
    found: dict[str, str] = {}
    unnamed: list[str] = []
    for m in _BLOCK.finditer(text):
        info, body = m[3].strip(), _dedent(m[4], len(m[1]))
        lang = info.split(":")[0].split()[0].lower() if info else ""
        if lang in _SHELL or (info and not info[0].isalnum()):  # "```})" closes, never opens
            continue
        lines = body.split("\n", 1)
        first = _PATH_COMMENT.match(lines[0])
        above = text[: m.start()].rstrip("\n").rsplit("\n", 2)[-2:]
        above = [line for line in above if line.strip()][-1:]
        path = (
            _path(info)
            or (_path(first[1]) if first and _path(first[1]) == first[1].lstrip("./") else None)
            or (_path(above[0]) if above and len(above[0]) < 200 else None)
        )
        if path:
            found[path] = body
        elif body.strip():
            unnamed.append(body)
    if not found and default_path and len(unnamed) == 1:
        found[default_path] = unnamed[0]
    return [ToolCall("write_file", {"path": p, "content": c}) for p, c in found.items()]


def render_calls(calls: list[ToolCall]) -> str:
    """`calls` written in the plain-text action format: how a native call is shown back to the
    model in the transcript, so that it sees the format its prompt describes, not a new one."""
    out = []
    for call in calls:
        lines = [f"ACTION: {call.name}"]
        lines += [f"{k}: {v}" for k, v in call.args.items() if k != "content"]
        if "content" in call.args:
            content = str(call.args["content"])
            fence = "````" if "```" in content else "```"
            lines += [fence, content.rstrip("\n"), fence]
        out.append("\n".join(lines))
    return "\n".join(out)


def native_tool_calls(completion) -> list[ToolCall]:
    """The native tool calls of a reply (`Completion.tool_calls`), checked.

    Arguments are read as JSON that may hold raw newlines inside strings (``strict=False``):
    small models write a file's content that way more often than not.
    """
    calls = []
    for rc in getattr(completion, "tool_calls", None) or []:
        name = rc.get("name") or ""
        try:
            args = json.loads(rc.get("arguments") or "{}", strict=False)
            call = ToolCall(normalize_name(name), args if isinstance(args, dict) else {}, id=rc.get("id"))
        except ValueError as exc:
            call = ToolCall(normalize_name(name), error=f"arguments are not valid JSON ({exc})")
        calls.append(_check(call))
    return calls


def parse_reply(completion, default_path: str | None = None) -> list[ToolCall]:
    """The tool calls of a reply: native ones if the backend returned any, else parsed from text.

    Then, if none of them writes a file and the text holds no action but ``complete`` (a block
    under ``ACTION: run_python`` is that action's, not a file), the files of its named fenced
    blocks come first (`fenced_files`, `default_path` for one unnamed block), replacing failed
    writes. A reply that was all prose is an answer, not a turn of a dialogue: a ``complete``
    follows its files.
    """
    text = completion.text or ""
    actions = parse_text_actions(text)
    calls = native_tool_calls(completion) or actions
    if any(c.name == "write_file" and c.error is None for c in calls):
        return calls
    if any(c.name != "complete" for c in actions):
        return calls
    files = fenced_files(text, default_path)
    if files:
        calls = [*files, *(c for c in calls if c.name != "write_file")]
        if len(calls) == len(files):
            calls.append(ToolCall("complete", {"summary": ""}))
    return calls
