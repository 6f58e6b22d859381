"""L2MAC's best-of-n repair: after a failed check, sample rewrites of the file at fault and keep
the one the sandboxed tests accept.

Why: in issue 15's benchmark Qwen2.5-Coder-1.5B, shown its broken file with pytest's failure,
wrote the same file again (roman's lookup table, ini's ``line.split('=')``), seeds or not. It
writes a correct file more often from scratch than it corrects one. So a *draw* asks for up to
`L2MAC.samples` candidates of one file, each from a fresh context that holds the task, the
instruction, the failure and the other files involved, but not the file itself, each with its
own seed; every candidate is written to the store and checked (syntax, stubs, tests in the
sandbox). The first whose check passes is kept and the draw stops; when none passes, the one
with the most passing tests is kept if it beats the file as it was, else the file is put back.

Each draw is for the file the check blames (``longweave.agents._fixes.fix_request``). The tests
may be what is wrong (the model's own test expects a dict the task never asked for, or compares
floats with ==): no module can pass them. So when the check still blames the file the last draw
was for, the next draw is for its counterpart: the test file for a module, the module a test
file imports for a test file. A test candidate passes only if pytest collects a test from it,
so an empty file is no fix. A step whose conversation never wrote its file (the 1.5B copied
the start hint's two action lines and stopped, turn after turn) gets a draw of that file too.

Deliberately not here: when a draw happens and how many rounds (``_l2mac_step``), what the
check does (``longweave.agents.control_unit``), which file is at fault (``longweave.agents._fixes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from longweave.agents._fixes import fix_request, render_files
from longweave.agents.control_unit import CheckReport, check_work, is_test_file
from longweave.agents.tools import ToolCall, parse_reply
from longweave.events import Notice

#: Characters of the check's feedback (pytest's output) a candidate's prompt shows.
_FEEDBACK_CHARS = 3000
_WHY_MODULE = (
    "Write {target} again, from the task and the instruction, so that the tests above pass: "
    "a new, complete implementation."
)
_WHY_TESTS = (
    "Write {target} again: pytest tests (def test_...) of what the task asks for. Import what "
    "you test from the modules above ({modules}), assert values you have worked out by hand, "
    "and compare float results with pytest.approx (import pytest)."
)


@dataclass(slots=True)
class Draw:
    """One draw of candidates for one file.

    Attributes:
        target: the store path the candidates were for.
        shown: the other store paths their prompt showed (the counterpart is among them).
        report: the check of the store as the draw left it.
        calls: model calls made (one per candidate).
        kept: 1-based number of the candidate kept, or 0 when the file was left as it was.
        scores: per candidate, ``(ok, tests passed, tests collected)``, or None when its reply
            wrote no such file.
    """

    target: str
    shown: list[str]
    report: CheckReport
    calls: int = 0
    kept: int = 0
    scores: list[tuple[bool, int, bool] | None] = field(default_factory=list)


def passed_count(report: CheckReport) -> int:
    """Tests pytest reported passed ("3 passed, 1 failed" -> 3); 0 when none ran."""
    found = re.findall(r"\b(\d+) passed\b", report.output)
    return int(found[-1]) if found else 0


def _brief(report: CheckReport) -> str:
    """What failed, without the tests' source: pytest's error and summary lines. A test file's
    candidates shown the failing tests in the traceback copied them (ini's wrong expectations,
    temperature's import of a module that does not exist), so they see only the verdict."""
    if report.tests_missing or not report.tests_run:
        return report.feedback()
    lines = [x for x in report.output.splitlines() if re.match(r"^(?:E\s|FAILED\b|ERROR\b)", x)]
    return "the tests failed:\n" + "\n".join(lines[:20])


def module_name(path: str) -> str:
    """The import name of a store path: ``textstats/core.py`` -> ``textstats.core``."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _score(report: CheckReport) -> tuple[bool, int, bool]:
    """Better is larger: the check passes, then more tests pass, then tests were collected at
    all (a test file that fails beats none: the next draw can mend what it shows)."""
    return report.ok, passed_count(report), report.tests_run and not report.tests_missing


def counterpart(target: str, shown: list[str]) -> str | None:
    """The other side of a failing test: the first test file of `shown` for a module `target`,
    the first module of `shown` for a test file `target`; None when there is none."""
    others = [p for p in shown if p != target and is_test_file(p) != is_test_file(target)]
    return others[0] if others else None


class BestOfN:
    """Best-of-n draws (mixed into `L2MAC`, whose settings and `_fresh_messages` it uses)."""

    def _sample_messages(self, run, state: dict, index: int, report: CheckReport, target: str,
                         shown: list[str], feedback: str = "") -> list[dict]:  # fmt: skip
        feedback = feedback or (_brief(report) if is_test_file(target) else report.feedback())
        if len(feedback) > _FEEDBACK_CHARS:
            feedback = feedback[:_FEEDBACK_CHARS].rstrip() + "\n[... the rest of the output was cut]"
        modules = ", ".join(module_name(p) for p in shown if p.endswith(".py") and not is_test_file(p))
        why = (_WHY_TESTS if is_test_file(target) else _WHY_MODULE).format(
            target=target, modules=modules or "none yet"
        )
        ask = self.prompt("l2mac_sample").render(
            index=index + 1,
            feedback=feedback,
            files=render_files(self.store, [p for p in shown if p != target]),
            target=target,
            why=why,
        )
        messages = self._fresh_messages(run, state, index, "", start=False)
        messages[-1] = {"role": "user", "content": messages[-1]["content"] + "\n\n" + ask[-1]["content"]}
        return messages

    async def _draw(
        self, run, state: dict, index: int, report: CheckReport, require: bool, budget: int,
        seed: int, target: str | None = None, feedback: str = "",
    ) -> Draw:  # fmt: skip
        """Up to ``min(self.samples, budget)`` candidates of one file (the fix request's target,
        or `target`); seeds ``seed``, ``seed + 1``, ...; the store is left with the best. A file
        that does not exist yet is worse than any candidate; `feedback` replaces the report's."""
        request = fix_request(report, self.store)
        target = target or request.target
        shown = [p for p in dict.fromkeys([*request.shown, target]) if self.store.exists(p)]
        # a module's candidates see the tests they must pass; a test file's, the code it tests
        # (the 1.5B's test imported a module that does not exist, and no module was shown)
        wanted = [p for p in self.store.list() if p.endswith(".py") and p not in shown
                  and is_test_file(p) != is_test_file(target)]  # fmt: skip
        if not any(p.endswith(".py") and is_test_file(p) != is_test_file(target) for p in shown):
            shown += wanted[:1] if not is_test_file(target) else wanted[:4]
        require = require or is_test_file(target)
        original = self.store.read(target) if self.store.exists(target) else None
        draw = Draw(target, [p for p in shown if p != target], report)
        best, best_text = (_score(report) if original is not None else (False, -1, False)), original
        messages = self._sample_messages(run, state, index, report, target, shown, feedback)
        for k in range(min(self.samples, budget)):
            reply = await self._call(run, messages, "l2mac_sample", attempt=seed + k)
            draw.calls += 1
            text = _written(reply, target, self.reply_tokens)
            if text is None:
                draw.scores.append(None)
                continue
            if not run.toolbox.execute(ToolCall("write_file", {"path": target, "content": text})).ok:
                draw.scores.append(None)  # refused by the store (too large)
                continue
            checked = check_work(self.store, self.mode, self.limits, require)
            draw.scores.append(_score(checked))
            if draw.scores[-1] > best:
                best, best_text, draw.kept, draw.report = draw.scores[-1], text, k + 1, checked
            if checked.ok:
                break
        if best_text is None:
            if self.store.exists(target):  # no candidate could be read: nothing was written
                self.store.delete(target)
        else:
            self.store.write(target, best_text)
        run.emit(Notice("sampled", index, {"target": target, "scores": draw.scores, "kept": draw.kept}))
        return draw

    async def _sample_fixes(
        self, run, state: dict, index: int, report: CheckReport, require: bool, budget: int
    ) -> tuple[CheckReport, int, int]:
        """Up to `max_fix_rounds` draws, each for the file the check blames (`fix_request`), or,
        when that is the file the last draw was for, its counterpart where there is one.
        Returns the final check, the rounds and the calls."""
        rounds = calls = 0
        last: Draw | None = None
        while not report.ok and rounds < self.max_fix_rounds and calls < budget:
            target = fix_request(report, self.store).target
            if last is not None and target == last.target:
                target = counterpart(last.target, last.shown) or target
            run.emit(Notice("check_failed", index, {"feedback": report.feedback()}))
            seed = 1000 * (index + 1) + 10 * rounds + 1
            last = await self._draw(run, state, index, report, require, budget - calls, seed, target)
            rounds, calls, report = rounds + 1, calls + last.calls, last.report
        return report, rounds, calls


def _written(reply, target: str, limit: int) -> str | None:
    """The content the reply writes to `target` (a bare fenced block counts as it), or None: no
    such write, or a Python file that does not compile because the reply was cut at `limit`."""
    calls = parse_reply(reply, default_path=target)
    name = target.rsplit("/", 1)[-1]
    for call in reversed(calls):
        path = str(call.args.get("path", "")).lstrip("./")
        if call.name == "write_file" and not call.error and (path == target or path == name):
            text = str(call.args["content"])
            if reply.finish_reason == "length" and target.endswith(".py"):
                try:
                    compile(text, target, "exec")
                except SyntaxError:
                    return None
            return text
    return None


__all__ = ["BestOfN", "Draw", "counterpart", "module_name", "passed_count"]
