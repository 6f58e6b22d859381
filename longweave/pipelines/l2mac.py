"""L2MAC: a stored-program LLM computer that writes codebases and books file by file.

Holt, Luyten and van der Schaar, "L2MAC: Large Language Model Automatic Computer for Extensive
Code Generation" (ICLR 2024). The model first writes a prompt program, the *instruction
registry*; each instruction is then run by a fresh agent whose context holds the task, the
instruction, the file listing and a short summary of the previous step. The agent works on a
`FileStore` through tools; the *control unit* counts its context and, near the window, asks for
a progress summary and restarts the step from it; when the agent marks the step complete, the
control unit runs the syntax check and the tests in a sandbox and feeds failures back, a
bounded number of times. With GPT-4 the paper reports 91.6% of a URL shortener's features
implemented, against 53.6% for GPT-4 alone.

Defaults: the registry is capped at 12 instructions and each step at 20 agent turns; the
window threshold for summarise-and-restart is 80% of the model's context; 3 rounds of
check-and-fix per step (the paper bounds these without fixing a number; ours are chosen so a
scripted test stays fast and a real run cannot loop for ever).

What counts as done, beyond the paper (which trusts GPT-4 to do what a step says): a step that
was asked to write files and changed none (compared by content hash before and after), or not
the file its headline names, is not done. The agent is told so and asked again, `max_reasks`
times (2), counted together with replies that hold no action at all; then the step is recorded
as failed (`L2MACResult.failures`) and the result is not `ok`. Steps that may change nothing are
those the headline makes a check ("Run the tests"); the rule is
`longweave.agents.prompt_program.may_change_nothing`. Small instruct models forget the protocol,
so: a reply with no action ends the step once the step changed files; a step out of turns whose
files are written and whose checks pass is done; a reply made only of writes that leaves every
file the instruction names written ends the step (no turn spent on "ACTION: complete"); a file
rewritten with its own content counts as written (an earlier step wrote it); an agent's reply is
cut where it starts writing the headings of its own prompt ("Files in the store:"), which is the
model inventing the next turn. Planned steps that write only packaging files the task does not
mention (setup.py, README.md) are dropped with the unrunnable ones.

The control unit's check also fails stubs (functions whose body is only ``pass``, ``...`` or
``raise NotImplementedError``). A failed check starts a fix round from a fresh context (prompt
``l2mac_fix``): pytest's output, the files at fault and the one file to rewrite
(``longweave.agents._fixes``); a reply that only runs or reads is told so, a "complete" without
the rewrite is asked again (`max_reasks`), and a rewrite identical to the broken file is named in
the next fix request. In code mode, when the final check fails, the control unit adds up to
`max_repairs` (2) instructions of its own ("Repair: write pytest tests in test_roman.py ...",
"Repair: fix the code ..."), each starting from the fix request; with ``require_tests`` (by
default, when the task mentions tests) a package whose tests are missing, or collect nothing,
fails the final check.

Deliberately not here: running the generated program as a service, or reviewing feature
coverage against the task (the paper's evaluation); tool execution lives in
``longweave.agents.control_unit`` and parsing in ``longweave.agents.tools``.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from longweave.agents._fixes import fix_request, render_files, tests_file_for
from longweave.agents.control_unit import CheckReport, ContextMeter, Observation, Toolbox, check_work
from longweave.agents.prompt_program import (
    check_registry,
    fit_registry,
    headline,
    may_change_nothing,
    missing_files,
    named_files,
    parse_registry,
    split_registry,
    unasked,
)
from longweave.agents.sandbox import SandboxLimits
from longweave.agents.tools import (
    TOOL_SPECS,
    ToolCall,
    native_tool_calls,
    parse_reply,
    render_calls,
)
from longweave.errors import BudgetError, ConfigError, InputError, MalformedOutput
from longweave.llm import LLM, Trace, Usage
from longweave.memory.file_store import META_DIR, FileStore
from longweave.pipelines.base import Pipeline, Result
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride

MODES = ("code", "book")
_MODE_HINT = {
    "code": "You write a Python codebase: modules in a package and pytest tests in test_*.py files. "
    "Every file must be complete, importable code.",
    "book": "You write a book in Markdown: one file per chapter (chapters/01_title.md, ...), plus "
    "outline.md. Keep names, facts and style consistent with the chapters already written.",
}
_CODE_TOOLS = "ACTION: run_tests\nACTION: run_python\npath: script.py\n"
_NO_ACTION = "No action found in your reply. Use the ACTION: format, and finish with ACTION: complete."
_NO_EFFECT = (
    "The control unit found that {found}, but this instruction asks for files "
    "to be written{what}. Write them now with write_file: the path, then the whole content in a fenced "
    "block. Then finish with ACTION: complete."
)
#: Headings of the agent's prompt: a small model that goes on to write them is inventing the
#: next prompt, so its reply is cut there.
_PROMPT_HEADINGS = ("\nAll instructions:", "\nSummary of the previous step:", "\nFiles in the store:",
                    "\nOverall task:", "(the current instruction)")  # fmt: skip
_WRITTEN = "The files of this instruction are written; if it is done, reply ACTION: complete."
_FIX_AGAIN = (
    "The check still fails and {target} was not rewritten: running or reading changes nothing. "
    "Reply with ACTION: write_file, path: {target}, and the whole corrected file in a fenced block."
)
_SAME = "\nYour last rewrite of {target} was identical to the file before it: the fault is still there.\n"
#: Headline prefix of the instructions the control unit adds after the planned ones.
REPAIR = "Repair: "
#: Characters of the check's feedback (pytest's output) a fix request shows.
_FEEDBACK_CHARS = 3000
#: Failures that were about the check only (the step's files were written): a repair can undo them.
_CHECK_FAILED = re.compile(r"^\d+: (?:checks still failing|did not rewrite \S+ after the check failed)")
_ASKS_FOR_TESTS = re.compile(r"\b(?:tests?|tested|testing|pytest|unittest)\b", re.I)
Event = Callable[[str, dict], None]
__all__ = ["L2MAC", "L2MACResult", "L2MACState", "check_registry", "parse_registry"]


class L2MACState(TypedDict, total=False):
    """Graph state: short strings and counters only; the output lives in the file store."""

    task: str
    mode: str
    registry: list[str]
    index: int
    previous: str
    turns: Annotated[int, operator.add]
    restarts: Annotated[int, operator.add]
    fix_rounds: Annotated[int, operator.add]
    failed_steps: Annotated[list[int], operator.add]
    failures: Annotated[list[str], operator.add]
    repairs: Annotated[int, operator.add]
    repaired_at: str
    stopped: str


@dataclass
class L2MACResult(Result):
    """What an L2MAC run produced.

    Attributes:
        files: ``{path: text}`` of the store at the end.
        registry: the instructions that were run.
        test_report: the control unit's final check (syntax and tests, in code mode).
        workdir: the store's root.
        turns: agent calls made (summaries excluded).
        restarts: steps restarted from a summary because the context was nearly full.
        fix_rounds: times a failed check was fed back to an agent.
        failed_steps: 1-based indices of instructions not done: checks still failing at the
            bound, no file changed by a step that had to write, or out of turns.
        failures: one line per failed step, "3: no file changed", in order.
        repairs: instructions the control unit added after the planned ones because the final
            check failed ("Repair: write pytest tests in test_roman.py ..."); they are in
            `registry` and their failures in `failures`.
        repaired: 1-based indices of steps that failed only their check (files written, tests
            failing) and that a repair made good: the final check passes. They are not in
            `failed_steps` or `failures`.
        dropped: planned steps left out because the sandbox cannot do them (pip, git, servers),
            or because they write only packaging files the task does not mention (setup.py).
        stopped: why the run stopped early ("max_steps"), or "" when it ran every instruction.
    """

    files: dict[str, str] = field(default_factory=dict)
    registry: list[str] = field(default_factory=list)
    test_report: CheckReport = field(default_factory=CheckReport)
    workdir: Path | None = None
    turns: int = 0
    restarts: int = 0
    fix_rounds: int = 0
    failed_steps: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    repairs: int = 0
    repaired: list[int] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    stopped: str = ""

    @property
    def ok(self) -> bool:
        """Every instruction done, the final check passed, and the store holds files (in code
        mode with ``require_tests``, tests among them)."""
        return bool(self.files) and not self.failed_steps and not self.stopped and self.test_report.ok


class L2MAC(Pipeline):
    """Instruction registry + control unit + file store (Holt et al., ICLR 2024).

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key | in/out | what |
    | --------- | ------ | ---- |
    | ``task``  | in     | what to build or write (required) |
    | ``files`` | out    | ``{path: text}`` of the file store at the end |

    Args:
        llm: the model, or a spec for `longweave.load_llm`.
        workdir: the directory of the file store (created if missing); the checkpoint and the
            registry are kept in its ``.longweave/`` folder.
        mode: "code" (a Python package with tests) or "book" (Markdown chapters).
        max_steps: agent calls allowed in the whole run; the run stops cleanly past it.
        max_turns_per_step: agent calls allowed for one instruction.
        max_instructions: longest registry the planner may write.
        max_fix_rounds: times a failed check is fed back per instruction.
        max_restarts: summarise-and-restart cycles allowed per instruction.
        max_reasks: times a step is asked again after a reply with no action, or after marking
            complete without changing the files it had to write (or, in a fix round, without
            rewriting the file at fault); then it fails.
        require_tests: in code mode, the final check also requires tests that pytest collects
            and passes; None (default): when the task mentions tests ("... plus pytest tests"),
            so a package asked for with tests is not done without them.
        max_repairs: in code mode, instructions the control unit may add after the planned ones
            when the final check fails: write the missing tests, or fix what fails. Each starts
            from a fix request that shows the failure and the files at fault.
        reply_tokens: max_tokens of each agent call (also kept free in the window).
        window_threshold: fraction of the window at which the step is summarised and restarted.
        limits: sandbox limits for tests and scripts.
        native_tools: send ``tools=`` and read native tool calls; None: where the backend
            supports them (`LLM.supports_tools`: OpenAI-compatible servers, llama.cpp with a
            tool-aware chat template). The plain-text action format is always understood.
        prompts: overrides of the ``l2mac_planner``, ``l2mac_agent``, ``l2mac_summary`` and
            ``l2mac_fix`` prompts.

    Example:
        >>> from longweave.llm import ScriptedLLM
        >>> llm = ScriptedLLM(rules=[("numbered", "1. Write hello.py"),
        ...     ("Instruction 1", "ACTION: write_file\\npath: hello.py\\n```\\nprint('hi')\\n```\\n"
        ...      "ACTION: complete\\nsummary: wrote hello.py")])
        >>> import tempfile
        >>> L2MAC(llm, workdir=tempfile.mkdtemp()).run("Say hi").files
        {'hello.py': "print('hi')\\n"}
    """

    node_io = NodeIO({"task": "task"}, ("task",), {"files": "files"})

    def __init__(
        self,
        llm: LLM | str,
        *,
        workdir: str | Path,
        mode: str = "code",
        max_steps: int = 200,
        max_turns_per_step: int = 20,
        max_instructions: int = 12,
        max_fix_rounds: int = 3,
        max_restarts: int = 5,
        max_reasks: int = 2,
        require_tests: bool | None = None,
        max_repairs: int = 2,
        reply_tokens: int = 2048,
        window_threshold: float = 0.8,
        limits: SandboxLimits | None = None,
        native_tools: bool | None = None,
        prompts: dict[str, PromptOverride] | None = None,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, not {mode!r}.")
        if (
            min(max_steps, max_turns_per_step, max_instructions) < 1
            or min(max_fix_rounds, max_restarts, max_reasks, max_repairs) < 0
        ):
            raise ConfigError(
                "max_steps, max_turns_per_step and max_instructions must be >= 1; the rest >= 0."
            )
        self.store = FileStore(workdir)
        self.mode = mode
        self.max_steps = max_steps
        self.max_turns_per_step = max_turns_per_step
        self.max_instructions = max_instructions
        self.max_fix_rounds = max_fix_rounds
        self.max_restarts = max_restarts
        self.max_reasks = max_reasks
        self.require_tests = require_tests if mode == "code" else False
        self.max_repairs = max_repairs if mode == "code" else 0
        self.reply_tokens = reply_tokens
        self.limits = limits or SandboxLimits()
        if native_tools is None:
            native_tools = self.llm.supports_tools
        self.native_tools = native_tools
        self.meter = ContextMeter(self.llm, reply_tokens, window_threshold)
        self.toolbox = Toolbox(self.store, mode, self.limits)
        self._trace = Trace()
        self._usage = Usage()
        self._on_event: Event | None = None
        self._dropped: list[str] = []

    # -- paths ----------------------------------------------------------------------------
    @property
    def meta_dir(self) -> Path:
        path = self.store.root / META_DIR
        path.mkdir(exist_ok=True)
        return path

    @property
    def registry_path(self) -> Path:
        return self.meta_dir / "registry.json"

    def load_registry(self) -> list[str]:
        """The registry saved by the last `plan` or run in this workdir."""
        if not self.registry_path.is_file():
            raise InputError(f"no registry saved in {self.store.root}; run plan() first.")
        return check_registry(json.loads(self.registry_path.read_text("utf-8")))

    def save_registry(self, registry: list[str]) -> None:
        self.registry_path.write_text(json.dumps(check_registry(registry), indent=1), "utf-8")

    # -- the graph ------------------------------------------------------------------------
    @property
    def graph(self):
        """The uncompiled-then-compiled graph without a checkpointer (for drawing, composing)."""
        return self._builder().compile()

    def _builder(self) -> StateGraph:
        g = StateGraph(L2MACState)
        g.add_node("plan", self._plan_node)
        g.add_node("step", self._step_node)
        g.add_node("review", self._review_node)
        g.add_node("final_check", self._final_node)
        g.add_edge(START, "plan")
        g.add_conditional_edges("plan", self._route, ["step", "review"])
        g.add_conditional_edges("step", self._route, ["step", "review"])
        g.add_conditional_edges("review", self._route_review, ["step", "final_check"])
        g.add_edge("final_check", END)
        return g

    def _route(self, state: L2MACState) -> str:
        if state.get("stopped") or state.get("index", 0) >= len(state.get("registry", [])):
            return "review"
        return "step"

    def _route_review(self, state: L2MACState) -> str:
        return "final_check" if self._route(state) == "review" else "step"

    def _emit(self, kind: str, **data) -> None:
        if self._on_event is not None:
            self._on_event(kind, data)

    async def _plan_node(self, state: L2MACState) -> dict:
        registry = state.get("registry") or await self.aplan(state["task"])
        self.save_registry(registry)
        self._emit("registry", registry=registry, dropped=list(self._dropped))
        return {"registry": registry, "index": state.get("index", 0)}

    async def _step_node(self, state: L2MACState) -> dict:
        index = state["index"]
        budget = self.max_steps - state.get("turns", 0)
        if budget <= 0:
            return {"stopped": "max_steps"}
        self._emit("step_start", index=index, instruction=state["registry"][index])
        before, writes_from = self.store.digests(), len(self.toolbox.writes)
        self.store.begin_step()
        try:
            out = await self._run_instruction(state, index, budget, before)
        finally:
            self.store.end_step()
        changed = changed_paths(before, self.store.digests())
        written = sorted(set(self.toolbox.writes[writes_from:]))
        reason = out["failures"][0].split(": ", 1)[1] if out["failures"] else ""
        self._emit("step_done", index=index, ok=not out["failed_steps"], reason=reason, changed=changed,
                   written=written, summary=out["previous"])  # fmt: skip
        return out

    def _tests_required(self, task: str) -> bool:
        if self.require_tests is None:
            return self.mode == "code" and _ASKS_FOR_TESTS.search(task) is not None
        return self.require_tests

    async def _review_node(self, state: L2MACState) -> dict:
        """The control unit's final check; where it fails, one more instruction to repair it."""
        registry = state.get("registry", [])
        if (
            state.get("stopped")
            or state.get("repairs", 0) >= self.max_repairs
            or state.get("turns", 0) >= self.max_steps
        ):
            return {}
        fingerprint = hashlib.sha256(json.dumps(self.store.digests(), sort_keys=True).encode()).hexdigest()
        if fingerprint == state.get("repaired_at"):  # the last repair changed nothing: another won't
            return {}
        report = check_work(self.store, self.mode, self.limits, self._tests_required(state["task"]))
        if report.ok:
            return {}
        instruction = repair_instruction(report, self.store.list())
        self._emit("repair", index=len(registry), instruction=instruction, feedback=report.feedback())
        return {"registry": [*registry, instruction], "repairs": 1, "repaired_at": fingerprint}

    async def _final_node(self, state: L2MACState) -> dict:
        return {}

    # -- planning -------------------------------------------------------------------------
    async def aplan(self, task: str) -> list[str]:
        """Ask the model for the instruction registry of `task` (also saved in the workdir)."""
        task = _check_task(task)
        messages = self.prompt("l2mac_planner").render(
            task=task, mode_hint=_MODE_HINT[self.mode], max_instructions=self.max_instructions
        )
        for _attempt in range(2):
            reply = await self.llm.complete(
                messages, role="l2mac_planner", trace=self._trace, max_tokens=self.reply_tokens
            )
            self._usage.record(reply, role="l2mac_planner")
            registry, dropped = split_registry(reply.text)
            if self.mode == "code":
                dropped += [r for r in registry if unasked(r, task)]
                registry = [r for r in registry if not unasked(r, task)]
            registry = fit_registry(registry, self.max_instructions)
            if registry:
                self._dropped = dropped
                self.save_registry(registry)
                return registry
            again = {"role": "user", "content": "Reply with a numbered list only: '1. ...', '2. ...'."}
            if dropped:
                again["content"] += (" Each instruction writes files of the project; none can install "
                                     "packages, use git, open an editor or run a server.")  # fmt: skip
            messages = [*messages, {"role": "assistant", "content": reply.text}, again]
        raise MalformedOutput(
            f"{self.llm.model} did not write a numbered list of instructions twice; write the registry "
            "yourself and pass it as run(task, registry=[...]).",
            model=self.llm.model,
        )

    def plan(self, task: str) -> list[str]:
        """Synchronous `aplan`: the registry to inspect or edit before `run(task, registry=...)`."""
        from longweave._sync import run_sync

        return run_sync(self.aplan(task))

    # -- one instruction: the agent loop, top to bottom ------------------------------------
    def _fresh_messages(self, state: L2MACState, index: int, progress: str, start: bool = True) -> list[dict]:
        registry = state["registry"]
        return self.prompt("l2mac_agent").render(
            mode_hint=_MODE_HINT[self.mode],
            extra_tools=_CODE_TOOLS if self.mode == "code" else "",
            task=state["task"],
            index=index + 1,
            count=len(registry),
            instruction=registry[index],
            start=_start_hint(registry[index]) if start else "",
            registry="\n".join(f"{i + 1}. {headline(r)}" for i, r in enumerate(registry)),
            files=self.toolbox.listing(),
            previous=state.get("previous") or "(this is the first step)",
            progress=f"\nProgress so far on this instruction (the step was restarted):\n{progress}"
            if progress
            else "",
        )

    def _fix_messages(
        self, state: L2MACState, index: int, report: CheckReport, same: str = ""
    ) -> tuple[list[dict], str]:
        """A fresh context for a step that failed its check: the instruction, then the failure,
        the files at fault and the one file to rewrite (`longweave.agents._fixes`). Returns the
        messages and that file. `same` names a file the last fix rewrote without a change."""
        request = fix_request(report, self.store)
        feedback = report.feedback()
        if len(feedback) > _FEEDBACK_CHARS:
            feedback = feedback[:_FEEDBACK_CHARS].rstrip() + "\n[... the rest of the output was cut]"
        fix = self.prompt("l2mac_fix").render(
            index=index + 1,
            feedback=feedback,
            files=render_files(self.store, request.shown),
            target=request.target,
            target_hint=(_SAME.format(target=same) if same else "") + request.hint + "\n",
        )
        messages = self._fresh_messages(state, index, "", start=False)
        messages[-1] = {"role": "user", "content": messages[-1]["content"] + "\n\n" + fix[-1]["content"]}
        return messages, request.target

    async def _call(self, messages: list[dict], role: str, attempt: int = 0):
        """One model call; `attempt` > 0 (a fix round) asks for another sample (``seed``): a
        model sampled with a fixed seed answers the same prompt the same way, and a fix request
        it answered with the broken file once it answers so again."""
        params: dict = {"max_tokens": self.reply_tokens}
        if attempt:
            params["seed"] = attempt
        if role == "l2mac_agent":
            params["stop"] = list(_PROMPT_HEADINGS)
        if self.native_tools and role == "l2mac_agent":
            params["tools"] = [s for s in TOOL_SPECS if self.mode == "code" or
                               s["function"]["name"] not in ("run_tests", "run_python")]  # fmt: skip
        reply = await self.llm.complete(messages, role=role, trace=self._trace, **params)
        self._usage.record(reply, role=role)
        return reply

    def _touched(self, before: dict[str, str], writes_from: int) -> list[str]:
        """Paths the step changed, or wrote (a file rewritten with its own content included:
        the instruction's file is there, written by an earlier step)."""
        changed = changed_paths(before, self.store.digests())
        return sorted({*changed, *self.toolbox.writes[writes_from:]})

    def _wrote_its_files(self, instruction: str, before: dict[str, str], writes_from: int) -> list[str]:
        """The paths the step touched if they include a file of each part that names one, else []."""
        wrote = self._touched(before, writes_from)
        return wrote if wrote and not _missing(instruction, wrote) else []

    def _all_named_exist(self, instruction: str) -> bool:
        files = self.store.list()
        return all(any(p == n or p.endswith("/" + n) for p in files) for n in named_files(instruction))

    async def _run_instruction(self, state: L2MACState, index: int, budget: int, before: dict) -> dict:
        instruction = state["registry"][index]
        runs_before, writes_from = len(self.toolbox.sandbox_runs), len(self.toolbox.writes)
        require = self._tests_required(state["task"]) and instruction.startswith(REPAIR)
        turns = restarts = fixes = reasks = 0
        progress, summary, failure = "", "", ""
        fixing, fix_from, fix_digest = "", 0, None  # the file a fix request asked for, since when
        seed_base = 10 * (index + 1) if instruction.startswith(REPAIR) else 0  # repairs sample anew
        if instruction.startswith(REPAIR):  # the control unit's own step starts from the failure
            messages, fixing = self._fix_messages(state, index, check_work(self.store, self.mode,
                                                                           self.limits, require))  # fmt: skip
            fix_from, fix_digest = len(self.toolbox.writes), self.store.digests().get(fixing)
        else:
            messages = self._fresh_messages(state, index, progress)
        while True:
            if turns >= min(budget, self.max_turns_per_step):
                wrote = self._wrote_its_files(instruction, before, writes_from)
                if wrote and check_work(self.store, self.mode, self.limits, require).ok:
                    break  # done, without saying so
                failure = f"out of turns after {turns}"
                break
            if self.meter.near_full(messages):
                if len(messages) <= 2 or restarts >= self.max_restarts:
                    raise BudgetError(
                        f"instruction {index + 1}'s context ({self.meter.tokens(messages)} tokens) does not "
                        f"fit {self.llm.model}'s window of {self.llm.context_window}; use a model with a "
                        "larger window, a smaller reply_tokens, or shorter instructions."
                    )
                asked = [*messages, *self.prompt("l2mac_summary").render()]
                progress = (await self._call(asked, "l2mac_summary")).text.strip()
                restarts += 1
                self._emit("restart", index=index, summary=progress)
                messages = self._fresh_messages(state, index, progress)
                continue
            reply = await self._call(messages, "l2mac_agent", attempt=fixes + seed_base)
            turns += 1
            wrote = self._touched(before, writes_from)
            missing = _missing(instruction, wrote)
            ran_checks = len(self.toolbox.sandbox_runs) > runs_before
            default = fixing or (missing[0] if len(missing) == 1 else None)
            calls = parse_reply(reply, default_path=default)
            if reply.finish_reason == "length":
                calls = _refuse_cut_writes(calls, self.reply_tokens)
            messages.append({"role": "assistant", "content": _transcript(reply)})
            if not calls and (wrote or may_change_nothing(instruction, ran_checks)) and not fixing:
                calls = [ToolCall("complete", {"summary": reply.text.strip()[:300]})]  # forgot to say so
            if not calls:
                if reasks >= self.max_reasks:
                    failure = "no action in the replies"
                    break
                reasks += 1
                messages.append({"role": "user", "content": _FIX_AGAIN.format(target=fixing) if fixing
                                 else _NO_ACTION})  # fmt: skip
                continue
            writes_now = len(self.toolbox.writes)
            observations = [self.toolbox.execute(c) for c in calls]
            wrote_now = len(self.toolbox.writes) > writes_now
            done = next((o for o in observations if o.done), None)
            feedback = "\n\n".join(f"[{o.tool}] {o.text}" for o in observations)
            if done is None and wrote_now and all(c.name == "write_file" for c in calls):
                # its files written, or the fix request's rewrite made: small models stop there
                if fixing or (named_files(instruction) and self._all_named_exist(instruction)
                              and self._wrote_its_files(instruction, before, writes_from)):  # fmt: skip
                    done = Observation("complete", "", done=True)
            if done is None:
                if fixing and len(self.toolbox.writes) == fix_from:
                    hint = "\n\n" + _FIX_AGAIN.format(target=fixing)
                elif self._wrote_its_files(instruction, before, writes_from):
                    hint = f"\n\n{_WRITTEN}"
                else:
                    hint = ""
                messages.append({"role": "user", "content": f"Results:\n{feedback}{hint}"})
                continue
            wrote = self._touched(before, writes_from)
            missing = _missing(instruction, wrote)
            summary = done.summary or summary
            ran_checks = len(self.toolbox.sandbox_runs) > runs_before
            if fixing and len(self.toolbox.writes) == fix_from:  # "complete" after a fix request, no rewrite
                if reasks >= self.max_reasks:
                    failure = f"did not rewrite {fixing} after the check failed"
                    break
                reasks += 1
                self._emit("no_effect", index=index, missing=[fixing])
                messages.append({"role": "user", "content": f"Results:\n{feedback}\n\n"
                                 + _FIX_AGAIN.format(target=fixing)})  # fmt: skip
                continue
            if (not wrote or missing) and not may_change_nothing(instruction, ran_checks):
                if reasks >= self.max_reasks:
                    failure = f"did not write {', '.join(missing)}" if wrote else "no file changed"
                    break
                reasks += 1
                self._emit("no_effect", index=index, missing=missing)
                note = _no_effect_note(wrote, missing)
                messages.append({"role": "user", "content": f"Results:\n{feedback}\n\n{note}"})
                continue
            report = check_work(self.store, self.mode, self.limits, require)
            if report.ok:
                break
            if fixes >= self.max_fix_rounds:
                failure = f"checks still failing after {fixes} fix rounds"
                break
            fixes += 1
            self._emit("check_failed", index=index, feedback=report.feedback())
            rewrote = fixing in self.toolbox.writes[fix_from:]
            same = fixing if rewrote and self.store.digests().get(fixing) == fix_digest else ""
            messages, fixing = self._fix_messages(state, index, report, same)
            fix_from, fix_digest = len(self.toolbox.writes), self.store.digests().get(fixing)
        wrote = self._touched(before, writes_from)
        summary = summary or (f"wrote {', '.join(wrote)}" if wrote else "changed no file")
        if failure:
            summary = f"not done ({failure}); {summary}"
        return {
            "index": index + 1,
            "previous": f"Instruction {index + 1} ({headline(instruction)}): {summary}"[:1000],
            "turns": turns,
            "restarts": restarts,
            "fix_rounds": fixes,
            "failed_steps": [index + 1] if failure else [],
            "failures": [f"{index + 1}: {failure}"] if failure else [],
        }

    # -- running --------------------------------------------------------------------------
    async def arun(
        self,
        task: str = "",
        *,
        registry: list[str] | None = None,
        thread_id: str = "main",
        resume: bool = False,
        on_event: Event | None = None,
    ) -> L2MACResult:
        """Run the task to completion, or resume thread `thread_id` from its checkpoint.

        Args:
            task: what to build or write.
            registry: instructions to run instead of asking the planner (e.g. an edited `plan`).
            thread_id: the checkpoint thread; a new run with the same id starts over.
            resume: continue the unfinished run of `thread_id` (task and registry come from it).
            on_event: called as ``on_event(kind, data)`` for "registry", "step_start",
                "step_done", "restart", "check_failed", "no_effect" and "repair" (an instruction
                the control unit added), e.g. to draw progress.
        """
        started = time.monotonic()
        self._trace, self._usage, self._on_event = Trace(), Usage(), on_event
        if registry is None and not resume:
            self._dropped = []
        config = {"configurable": {"thread_id": thread_id}, "recursion_limit": 10_000}
        async with AsyncSqliteSaver.from_conn_string(str(self.meta_dir / "checkpoints.sqlite")) as saver:
            await saver.setup()
            graph = self._builder().compile(checkpointer=saver)
            if resume:
                snap = await graph.aget_state(config)
                if not snap.values:
                    raise InputError(
                        f"there is no run {thread_id!r} to resume in {self.store.root}; start one."
                    )
                if snap.next:
                    self._emit("registry", registry=snap.values.get("registry", []))
                    state = await graph.ainvoke(None, config)
                else:
                    state = snap.values
            else:
                task = _check_task(task)
                init: L2MACState = {"task": task, "mode": self.mode, "index": 0, "previous": ""}
                if registry is not None:
                    init["registry"] = check_registry(registry)
                await saver.adelete_thread(thread_id)
                state = await graph.ainvoke(init, config)
        required = self._tests_required(state.get("task", ""))
        report = check_work(self.store, self.mode, self.limits, required)
        repaired = []  # steps whose check failed, fixed by a repair: the final check passes now
        if report.ok and state.get("repairs"):
            repaired = [int(f.split(":", 1)[0]) for f in state.get("failures", []) if _CHECK_FAILED.search(f)]
        return L2MACResult(
            trace=self._trace,
            usage=self._usage,
            seconds=time.monotonic() - started,
            files=self.store.snapshot(),
            registry=list(state.get("registry", [])),
            test_report=report,
            workdir=self.store.root,
            turns=state.get("turns", 0),
            restarts=state.get("restarts", 0),
            fix_rounds=state.get("fix_rounds", 0),
            failed_steps=[i for i in state.get("failed_steps", []) if i not in repaired],
            failures=[f for f in state.get("failures", []) if int(f.split(":", 1)[0]) not in repaired],
            repaired=repaired,
            repairs=state.get("repairs", 0),
            dropped=list(self._dropped),
            stopped=state.get("stopped", ""),
        )


def _transcript(reply) -> str:
    """The reply as the agent's own turn: its text, and its native calls in the text format."""
    native = render_calls(native_tool_calls(reply)) if reply.tool_calls else ""
    return "\n\n".join(x for x in ((reply.text or "").strip(), native) if x)


def _missing(instruction: str, wrote: list[str]) -> list[str]:
    """`missing_files`, except for the control unit's repairs: any file that makes the check
    pass will do (the tests it asked for in test_roman.py may land in tests/test_roman.py)."""
    return [] if instruction.startswith(REPAIR) else missing_files(instruction, wrote)


def _start_hint(instruction: str) -> str:
    """How to begin the reply, with the file the instruction names: a small model copies the
    examples of its prompt, paths included, so the nearest example carries the right path.
    (Ending the hint inside an opened fence was tried on the 1.5B coder: it then wrote another
    step's file first; a copied hint with no content is refused by the parser instead.)"""
    files = missing_files(instruction, [])
    return f"\nBegin your reply with:\nACTION: write_file\npath: {files[0]}\n" if files else ""


def _refuse_cut_writes(calls: list[ToolCall], limit: int) -> list[ToolCall]:
    """The calls of a reply cut at the token limit: a Python write that does not compile is the
    file cut short (the 1.5B coder's roman.py ended mid-line at 600 tokens, and every fix round
    rewrote it the same way), so it becomes an error for the model, not a broken file."""
    for call in calls:
        path = str(call.args.get("path", ""))
        if call.name != "write_file" or call.error or not path.endswith(".py"):
            continue
        try:
            compile(str(call.args["content"]), path, "exec")
        except SyntaxError:
            call.error = (f"the reply was cut at {limit} tokens, so {path} was not written (it would "
                          "end mid-file): write a shorter file, without comments or checks the task "
                          "does not ask for")  # fmt: skip
    return calls


def repair_instruction(report: CheckReport, files: list[str]) -> str:
    """The instruction the control unit adds when the final check fails (`REPAIR` heads it)."""
    if report.tests_missing and not report.tests_run:
        return (f"{REPAIR}write pytest tests in {tests_file_for(files)} for the code in the store "
                "(the final check found no tests).")  # fmt: skip
    return f"{REPAIR}fix the code so that the final check passes (it failed: {_first_line(report)})."


def _first_line(report: CheckReport) -> str:
    """What failed, in a few words without a file name (a headline's file is one it must write)."""
    if report.syntax_errors:
        return "a syntax error"
    if report.stubs:
        return f"{len(report.stubs)} function(s) only a placeholder"
    if report.tests_missing:
        return "pytest collected no test"
    summary = [x for x in report.output.strip().splitlines() if x.strip()][-1:]
    return summary[0].strip("= ") if summary else "the tests failed"


def _no_effect_note(wrote: list[str], missing: list[str]) -> str:
    found = f"this step changed {', '.join(wrote)} only" if wrote else "no file in the store changed"
    return _NO_EFFECT.format(found=found, what=f" ({', '.join(missing)})" if missing else "")


def changed_paths(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Paths written, changed or deleted between two `FileStore.digests`."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def _check_task(task: str) -> str:
    if not isinstance(task, str) or not task.strip():
        raise InputError("the task is empty; describe what to build or write.")
    return task.strip()
