"""L2MAC's control unit: runs tool calls, counts each agent's context, checks the work.

In L2MAC (Holt et al., ICLR 2024) the control unit (CU) sits between the LLM "processor" and
its memories. This module holds its three duties, each small and testable alone:

* `Toolbox` executes parsed `ToolCall`s against the `FileStore` and the sandbox and turns
  every outcome, refusals included, into an observation string for the model;
* `ContextMeter` counts the agent's messages against the model's window, so the pipeline
  can ask for a progress summary and restart the step from it before the window overflows;
* `check_work` runs the syntax check (``compile`` on every Python file, nothing executed) and
  the test suite in the sandbox, and reports what failed so it can be fed back.

Deliberately not here: the step loop itself (``longweave.pipelines.l2mac``) and prompt text.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from longweave.agents.sandbox import SandboxLimits, SandboxResult, run_pytest, run_sandboxed
from longweave.agents.tools import CODE_ONLY_TOOLS, ToolCall
from longweave.errors import LongweaveError
from longweave.memory.file_store import FileStore

#: Lines a single read_file call returns at most (the agent pages through longer files).
READ_LINE_CAP = 200


@dataclass(slots=True)
class Observation:
    """The result of one tool call, as the model will read it."""

    tool: str
    text: str
    ok: bool = True
    done: bool = False
    summary: str = ""


class Toolbox:
    """Executes tool calls for one store.

    Args:
        store: the file store the agents work in.
        mode: "code" (all tools) or "book" (no test or run tools).
        limits: sandbox limits for run_tests / run_python.
    """

    def __init__(self, store: FileStore, mode: str = "code", limits: SandboxLimits | None = None) -> None:
        self.store = store
        self.mode = mode
        self.limits = limits or SandboxLimits()
        self.sandbox_runs: list[SandboxResult] = []

    def listing(self) -> str:
        files = self.store.list()
        if not files:
            return "(the store is empty)"
        return "\n".join(f"{p} ({self.store.size(p)} bytes)" for p in files)

    def execute(self, call: ToolCall) -> Observation:
        """Run `call`; every failure the model caused becomes an observation, never an exception."""
        if call.error:
            return Observation(call.name, f"error: {call.error}", ok=False)
        if self.mode != "code" and call.name in CODE_ONLY_TOOLS:
            return Observation(
                call.name, f"error: {call.name} is not available when writing a book", ok=False
            )
        a = call.args
        try:
            if call.name == "list_files":
                return Observation(call.name, self.listing())
            if call.name == "read_file":
                start = a.get("start") or 1
                end = a.get("end") or start + READ_LINE_CAP - 1
                end = min(end, start + READ_LINE_CAP - 1)
                text = self.store.read(a["path"], start, end)
                total = len(self.store.read(a["path"]).splitlines())
                more = f"\n[lines {start}-{min(end, total)} of {total}]" if total > end or start > 1 else ""
                return Observation(call.name, f"{a['path']}:\n{text}{more}")
            if call.name == "write_file":
                content = str(a["content"])
                self.store.write(a["path"], content)
                return Observation(call.name, f"wrote {a['path']} ({len(content.splitlines())} lines)")
            if call.name == "delete_file":
                self.store.delete(a["path"])
                return Observation(call.name, f"deleted {a['path']}")
            if call.name == "run_tests":
                result = run_pytest(self.store.root, self.limits)
                self.sandbox_runs.append(result)
                return Observation(call.name, _describe_run("tests", result), ok=result.ok)
            if call.name == "run_python":
                self.store.resolve(a["path"])  # refuse paths outside the store before running
                result = run_sandboxed([sys.executable, a["path"]], self.store.root, self.limits)
                self.sandbox_runs.append(result)
                return Observation(call.name, _describe_run(a["path"], result), ok=result.ok)
            if call.name == "complete":
                return Observation(
                    call.name, "step marked complete", done=True, summary=str(a.get("summary", ""))
                )
        except LongweaveError as exc:
            return Observation(call.name, f"error: {exc}", ok=False)
        except (OSError, UnicodeError) as exc:
            return Observation(call.name, f"error: {exc}", ok=False)
        return Observation(call.name, f"error: {call.name} is not implemented", ok=False)


def _describe_run(what: str, result: SandboxResult) -> str:
    if result.timed_out:
        status = "stopped at the time limit"
    elif what == "tests" and result.returncode == 5:
        status = "no tests were found"
    else:
        status = "passed" if result.ok and what == "tests" else f"exit status {result.returncode}"
    return f"{what}: {status}\n{result.output.strip()}"


@dataclass(slots=True)
class CheckReport:
    """What the control unit found after a step: syntax errors and the test run."""

    syntax_errors: list[str] = field(default_factory=list)
    tests_run: bool = False
    tests_passed: bool = True
    output: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.syntax_errors and self.tests_passed

    def feedback(self) -> str:
        parts = [f"syntax error: {e}" for e in self.syntax_errors]
        if self.tests_run and not self.tests_passed:
            parts.append(f"the tests failed:\n{self.output.strip()}")
        return "\n".join(parts) or "all checks passed"

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "syntax_errors": list(self.syntax_errors),
            "tests_run": self.tests_run,
            "tests_passed": self.tests_passed,
            "output": self.output,
        }


def check_work(store: FileStore, mode: str = "code", limits: SandboxLimits | None = None) -> CheckReport:
    """Syntax-check every Python file and run the tests (if any exist) in the sandbox."""
    report = CheckReport()
    if mode != "code":
        empty = [p for p in store.list() if not store.read(p).strip()]
        report.syntax_errors = [f"{p} is empty" for p in empty]
        return report
    files = store.list()
    for path in files:
        if path.endswith(".py"):
            try:
                compile(store.read(path), path, "exec")
            except SyntaxError as exc:
                report.syntax_errors.append(f"{path}, line {exc.lineno}: {exc.msg}")
    has_tests = any(p.rsplit("/", 1)[-1].startswith("test_") and p.endswith(".py") for p in files)
    if has_tests and not report.syntax_errors:
        result = run_pytest(store.root, limits)
        report.tests_run = True
        report.tests_passed = result.ok
        report.output = result.output
        report.seconds = result.seconds
    return report


class ContextMeter:
    """Counts an agent's context against the window, keeping room for the reply.

    Args:
        llm: the model (its tokenizer and ``context_window``).
        reply_tokens: tokens kept free for the model's next reply.
        threshold: fraction of the window at which the step is summarised and restarted
            (L2MAC restarts "when the context is close to full"; 0.8 leaves room for the summary).
    """

    def __init__(self, llm, reply_tokens: int, threshold: float = 0.8) -> None:
        self.llm = llm
        self.reply_tokens = reply_tokens
        self.threshold = threshold

    @property
    def limit(self) -> int:
        return int(self.llm.context_window * self.threshold) - self.reply_tokens

    def tokens(self, messages: list[dict]) -> int:
        return self.llm.count_tokens(messages)

    def near_full(self, messages: list[dict]) -> bool:
        return self.tokens(messages) > self.limit
