"""What the control unit shows an agent whose step failed its check: the files at fault.

A small model told only "the tests failed" calls run_tests again, or rewrites the file it was
last working on with the same bug (seen from Qwen2.5-Coder-1.5B in issue 15: roman's fix round
spent on run_tests, ini's rewrite identical to the broken file). So the fix request names one
file to rewrite and shows it, with the test that failed, read from the check's own report:
store paths in pytest's output (traceback frames, ``FAILED path::test``), files with syntax
errors or stubs, and the modules the failing tests import.

Deliberately not here: deciding whether a fix round happens (``longweave.pipelines.l2mac``) or
running anything (``longweave.agents.control_unit``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from longweave.agents.control_unit import CheckReport, is_test_file
from longweave.memory.file_store import FileStore

#: Characters of file content a fix request shows at most (the target first, whole).
SHOW_CHARS = 6000

_OUTPUT_PATH = re.compile(r"(?<![\w/.-])([\w-][\w./-]*\.py)(?=:\d+|::| - |\"|\s|$)", re.M)
_FRAME = re.compile(r"^([\w-][\w./-]*\.py):\d+: ", re.M)
#: An assertion that compares a float carrying representation noise (0.1 + 0.2 -> 0.30000000000000004).
_FLOAT_NOISE = re.compile(r"^E\s+assert.*\d\.\d*(?:0{6,}|9{6,})\d+\b", re.M)
_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)


@dataclass(slots=True)
class FixRequest:
    """The file an agent should rewrite after a failed check, and what to show it.

    Attributes:
        target: the store path to write (a new test file when tests are missing).
        shown: store paths whose content is shown, the target first where it exists.
        hint: one sentence on which file is at fault and why.
    """

    target: str
    shown: list[str] = field(default_factory=list)
    hint: str = ""


def _module_paths(module: str, files: list[str]) -> list[str]:
    """Store paths of a dotted module name: ``pkg/mod.py``, or a package's ``__init__.py`` and
    its modules (``from textstats import word_count`` may come from any of them)."""
    base = module.replace(".", "/")
    if f"{base}.py" in files:
        return [f"{base}.py"]
    inside = [p for p in files if p.startswith(f"{base}/") and p.endswith(".py") and not is_test_file(p)]
    return sorted(inside, key=lambda p: (not p.endswith("__init__.py"), p))


def _imported(test_path: str, store: FileStore, files: list[str]) -> list[str]:
    found: list[str] = []
    for m in _IMPORT.finditer(store.read(test_path)):
        for path in _module_paths(m[1] or m[2], files):
            if path not in found:
                found.append(path)
    return found


def tests_file_for(files: list[str]) -> str:
    """The name of a test file for the modules of `files`: ``test_roman.py`` for roman.py or
    src/roman.py, ``test_textstats.py`` for a package textstats/ (its ``__init__.py`` first)."""
    modules = [p for p in files if p.endswith(".py") and not is_test_file(p) and p != "setup.py"]
    if not modules:
        return "test_main.py"
    parts = modules[0].removesuffix(".py").split("/")
    name = parts[-2] if parts[-1] == "__init__" and len(parts) > 1 else parts[-1]
    return f"test_{name}.py"


def fix_request(report: CheckReport, store: FileStore) -> FixRequest:
    """Which file to rewrite after `report` failed, which files to show, and a hint why."""
    files = store.list()
    py = [p for p in files if p.endswith(".py")]
    bad = [e.split(",", 1)[0] for e in report.syntax_errors] + [s.split(": ", 1)[0] for s in report.stubs]
    named = [m[1].lstrip("./") for m in _OUTPUT_PATH.finditer(report.output)]
    frames = [m[1].lstrip("./") for m in _FRAME.finditer(report.output)]
    referenced = list(dict.fromkeys(p for p in [*bad, *named] if p in files))
    for path in [p for p in referenced if is_test_file(p)]:
        referenced += [m for m in _imported(path, store, files) if m not in referenced]
    modules = [p for p in referenced if not is_test_file(p)]
    tests = [p for p in referenced if is_test_file(p)]
    if bad:
        target, hint = bad[0], f"Rewrite {bad[0]}: fix what the control unit found in it."
    elif report.tests_missing and not report.tests_run:
        target = tests_file_for(files)
        shown = [p for p in py if not is_test_file(p)]
        hint = (f"Write the tests of the code above in {target}: a test function (def test_...) per "
                "public function, asserting results you have worked out by hand.")  # fmt: skip
        return FixRequest(target, _fit(store, shown), hint)
    elif report.tests_missing:
        target = next((p for p in files if is_test_file(p)), tests_file_for(files))
        hint = f"Rewrite {target} so that it holds test functions named test_..., each with an assert."
    elif raised := [p for p in frames if p in files and not is_test_file(p)]:
        target, hint = raised[-1], f"The error is raised in {raised[-1]}: rewrite it so the tests pass."
    elif tests and _FLOAT_NOISE.search(report.output):
        target = tests[0]
        hint = (f"{target} compares floats with == and the result differs only in the last "
                "digits (floating point): rewrite it with pytest.approx for float results "
                "(import pytest).")  # fmt: skip
    elif modules and (error := _error_line(report.output)) and "AssertionError" not in error:
        test = tests[0] if tests else "the test file"
        target = modules[0]
        hint = (f"The tests stop with an error ({error}). Rewrite {target} if it is at fault; if "
                f"instead the test uses the code wrongly, rewrite {test}.")  # fmt: skip
    elif modules:
        test = tests[0] if tests else "the test file"
        target = modules[0]
        hint = (f"A test's expected value differs from what {target} returns. Rewrite {target} if it is "
                f"wrong; if instead the test expects a wrong value (or compares floats with ==, where "
                f"pytest.approx is needed), rewrite {test} with the right expected values.")  # fmt: skip
    else:
        target = tests[0] if tests else tests_file_for(files)
        hint = f"Rewrite {target} so that the tests pass."
    shown = list(dict.fromkeys([target, *modules, *tests]))
    return FixRequest(target, _fit(store, [p for p in shown if p in files]), hint)


def _error_line(output: str) -> str:
    """The first exception line of pytest's output ("TypeError: 'module' object is not callable")."""
    for line in output.splitlines():
        m = re.match(r"^E\s+(\w+(?:Error|Exception)\b.*)$", line)
        if m:
            return m[1].strip()[:200]
    return ""


def _fit(store: FileStore, paths: list[str]) -> list[str]:
    """The first of `paths` whose contents fit `SHOW_CHARS` together (the first always)."""
    kept, used = [], 0
    for path in paths:
        size = len(store.read(path))
        if kept and used + size > SHOW_CHARS:
            continue
        kept.append(path)
        used += size
    return kept


def render_files(store: FileStore, paths: list[str]) -> str:
    """`paths` with their contents in fenced blocks, for a prompt."""
    if not paths:
        return "(no file yet)"
    return "\n\n".join(f"{p}:\n```python\n{store.read(p).rstrip()}\n```" for p in paths)
