"""L2MAC's control unit: runs tool calls, counts each agent's context, checks the work.

In L2MAC (Holt et al., ICLR 2024) the control unit (CU) sits between the LLM "processor" and
its memories. This module holds its three duties, each small and testable alone:

* `Toolbox` executes parsed `ToolCall`s against the `FileStore` and the sandbox and turns
  every outcome, refusals included, into an observation string for the model;
* `ContextMeter` counts the agent's messages against the model's window, so the pipeline
  can ask for a progress summary and restart the step from it before the window overflows;
* `check_work` runs the syntax check (``compile`` on every Python file, nothing executed),
  finds stubs (functions whose body is only ``pass``, ``...`` or ``raise NotImplementedError``:
  small models copy the planner's sketch and call it done), runs the test suite in the sandbox,
  and reports what failed so it can be fed back; with ``require_tests`` a store without a
  collected, passing test is not done either.

Deliberately not here: the step loop itself (``longweave.pipelines.l2mac``) and prompt text.
"""

from __future__ import annotations

import ast
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
        #: Paths written successfully, in order, same content included (`FileStore.digests`
        #: tells what changed; this tells what the agent wrote).
        self.writes: list[str] = []

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
                self.writes.append(self.store.resolve(a["path"]).relative_to(self.store.root).as_posix())
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
    """What the control unit found after a step: syntax errors, stubs and the test run.

    Attributes:
        syntax_errors: "path, line N: message" per Python file that does not compile.
        stubs: "path: name()" per function whose body is only a placeholder (see `find_stubs`).
        tests_run: whether pytest ran (it runs when a ``test_*.py`` file exists and all compile).
        tests_passed: pytest's verdict (True when it did not run).
        tests_missing: tests were required and there is no test file, or pytest collected none.
        output: pytest's output.
        seconds: how long pytest took.
    """

    syntax_errors: list[str] = field(default_factory=list)
    stubs: list[str] = field(default_factory=list)
    tests_run: bool = False
    tests_passed: bool = True
    tests_missing: bool = False
    output: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.syntax_errors and not self.stubs and self.tests_passed and not self.tests_missing

    def feedback(self) -> str:
        parts = [f"syntax error: {e}" for e in self.syntax_errors]
        parts += [f"not implemented (its body is only a placeholder): {s}" for s in self.stubs]
        if self.tests_missing and not self.tests_run:
            parts.append("there are no tests: write pytest tests in a test_*.py file")
        elif self.tests_missing:
            parts.append(
                "pytest collected no test: test files are named test_*.py and hold functions "
                f"named test_*\n{self.output.strip()}"
            )
        elif self.tests_run and not self.tests_passed:
            parts.append(f"the tests failed:\n{self.output.strip()}")
        return "\n".join(parts) or "all checks passed"

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "syntax_errors": list(self.syntax_errors),
            "stubs": list(self.stubs),
            "tests_run": self.tests_run,
            "tests_passed": self.tests_passed,
            "tests_missing": self.tests_missing,
            "output": self.output,
        }


def is_test_file(path: str) -> bool:
    """Whether pytest collects `path` by its default rule (``test_*.py`` or ``*_test.py``)."""
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


_ABSTRACT = {"abstractmethod", "overload", "abstractproperty"}


def _name(node: ast.expr) -> str:
    """``abstractmethod`` of ``@abstractmethod``, ``@abc.abstractmethod`` or ``typing.Protocol``."""
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def _placeholder(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)  # ... or a docstring
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def find_stubs(source: str) -> list[str]:
    """Functions of `source` whose body is only placeholders: ``pass``, ``...``, a docstring,
    ``raise NotImplementedError``. Abstract methods, overloads and Protocol classes are not
    stubs; a source that does not parse has none (the syntax check reports it).

    Example:
        >>> find_stubs("def f(x):\n    pass\n\ndef g():\n    return 1\n")
        ['f()']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[str] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                bases = {_name(b) for b in node.bases}
                if not bases & {"Protocol", "ABC"}:
                    visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                marks = {_name(d) for d in node.decorator_list}
                if not marks & _ABSTRACT and all(_placeholder(s) for s in node.body):
                    found.append(f"{prefix}{node.name}()")

    visit(tree.body, "")
    return found


def check_work(
    store: FileStore, mode: str = "code", limits: SandboxLimits | None = None, require_tests: bool = False
) -> CheckReport:
    """Syntax-check every Python file, find stubs, and run the tests (if any) in the sandbox.

    With `require_tests`, a store with no test file, or whose test files hold no test pytest
    collects, is not done (`CheckReport.tests_missing`).
    """
    report = CheckReport()
    if mode != "code":
        empty = [p for p in store.list() if not store.read(p).strip()]
        report.syntax_errors = [f"{p} is empty" for p in empty]
        return report
    files = store.list()
    for path in files:
        if path.endswith(".py"):
            source = store.read(path)
            try:
                compile(source, path, "exec")
            except SyntaxError as exc:
                report.syntax_errors.append(f"{path}, line {exc.lineno}: {exc.msg}")
                continue
            report.stubs += [f"{path}: {name}" for name in find_stubs(source)]
    has_tests = any(is_test_file(p) for p in files)
    report.tests_missing = require_tests and not has_tests
    if has_tests and not report.syntax_errors:
        result = run_pytest(store.root, limits)
        report.tests_run = True
        report.tests_passed = result.ok
        report.output = result.output
        report.seconds = result.seconds
        report.tests_missing = require_tests and result.returncode == 5  # pytest: no tests collected
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
