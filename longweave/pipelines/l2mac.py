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
the next fix request. With ``samples`` > 1 a failed check is repaired by best-of-n draws
instead (``longweave.pipelines._l2mac_sample``): candidates of the file at fault, each from a
context that does not show the broken file, checked in the sandbox, the best kept. In code mode,
when the final check fails, the control unit adds up to
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave.agents.control_unit import CheckReport, ContextMeter, Toolbox, check_work
from longweave.agents.prompt_program import (
    check_registry,
    headline,
    parse_registry,
)
from longweave.agents.sandbox import SandboxLimits
from longweave.errors import ConfigError, InputError
from longweave.events import EventHandler, Notice, PlanReady, StepDone, StepStarted
from longweave.llm import LLM
from longweave.memory.file_store import FileStore
from longweave.pipelines._l2mac_registry import RegistryMixin, check_task, repair_instruction
from longweave.pipelines._l2mac_sample import BestOfN
from longweave.pipelines._l2mac_step import InstructionLoop, L2MACRun, changed_paths
from longweave.pipelines.base import Pipeline, Result
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride

MODES = ("code", "book")
SMALL_MODEL_SAMPLES = 3  # best-of-n draws for a model run on this CPU (BENCHMARKS.md, issue 15 L2MAC)
#: Failures that were about the check only (the step's files were written): a repair can undo them.
_CHECK_FAILED = re.compile(r"^\d+: (?:checks still failing|did not rewrite \S+ after the check failed)")
_ASKS_FOR_TESTS = re.compile(r"\b(?:tests?|tested|testing|pytest|unittest)\b", re.I)
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


class L2MAC(RegistryMixin, InstructionLoop, BestOfN, Pipeline):
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
        max_turns_per_step: agent turns allowed in one instruction's conversation (best-of-n
            candidates are bounded by `samples` and `max_fix_rounds` instead).
        max_instructions: longest registry the planner may write.
        max_fix_rounds: times a failed check is fed back per instruction (with `samples` > 1:
            draws of candidates per instruction).
        samples: candidates drawn for the file at fault when a step's check fails (best-of-n,
            ``longweave.pipelines._l2mac_sample``): each from a fresh context without the broken
            file, with its own seed, written and checked in the sandbox; the first that passes
            is kept, else the one passing most tests, and the next draw is for the counterpart
            (the tests of a module, the module of a test file). 1: fix rounds instead, a
            conversation that shows the broken file and asks for its correction, which suits
            models that can correct code; small ones (the 1.5B coder) mostly rewrite the same
            file. None (default): 3 for a model run on this machine's CPU (`LLM.runs_on_cpu`,
            the embedded models: 1 -> 4 of 5 bench_l2mac tasks with the 1.5B), else 1. Each
            candidate is an agent call of `max_steps`.
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
        prompts: overrides of the ``l2mac_planner``, ``l2mac_agent``, ``l2mac_summary``,
            ``l2mac_fix`` and ``l2mac_sample`` prompts.

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
        samples: int | None = None,
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
        if samples is None:
            samples = SMALL_MODEL_SAMPLES if self.llm.runs_on_cpu else 1
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, not {mode!r}.")
        if (
            min(max_steps, max_turns_per_step, max_instructions, samples) < 1
            or min(max_fix_rounds, max_restarts, max_reasks, max_repairs) < 0
        ):
            raise ConfigError(
                "max_steps, max_turns_per_step, max_instructions and samples must be >= 1; the rest >= 0."
            )
        self.store = FileStore(workdir)
        self.mode = mode
        self.max_steps = max_steps
        self.max_turns_per_step = max_turns_per_step
        self.max_instructions = max_instructions
        self.max_fix_rounds = max_fix_rounds
        self.samples = samples
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

    # -- the graph ------------------------------------------------------------------------
    @property
    def graph(self):
        """The uncompiled-then-compiled graph without a checkpointer (for drawing, composing)."""
        return self._builder().compile()

    def _builder(self) -> StateGraph:
        g = StateGraph(L2MACState, context_schema=L2MACRun)
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

    async def _plan_node(self, state: L2MACState, runtime: Runtime[L2MACRun]) -> dict:
        run = runtime.context
        given = state.get("registry")
        registry = given or await self._plan(run, state["task"])
        self.save_registry(registry)
        run.emit(_registry_event(registry, "user" if given else "model", run.dropped))
        return {"registry": registry, "index": state.get("index", 0)}

    async def _step_node(self, state: L2MACState, runtime: Runtime[L2MACRun]) -> dict:
        run, index = runtime.context, state["index"]
        budget = self.max_steps - state.get("turns", 0)
        if budget <= 0:
            return {"stopped": "max_steps"}
        instruction = state["registry"][index]
        run.emit(StepStarted(index, headline(instruction), instruction=instruction))
        before, writes_from = self.store.digests(), len(run.toolbox.writes)
        self.store.begin_step()
        try:
            out = await self._run_instruction(run, state, index, budget, before)
        finally:
            self.store.end_step()
        details = {
            "changed": changed_paths(before, self.store.digests()),
            "written": sorted(set(run.toolbox.writes[writes_from:])),
            "summary": out["previous"],
        }
        reason = out["failures"][0].split(": ", 1)[1] if out["failures"] else ""
        run.emit(
            StepDone(index, headline(instruction), ok=not out["failed_steps"], reason=reason, details=details)
        )
        return out

    def _tests_required(self, task: str) -> bool:
        if self.require_tests is None:
            return self.mode == "code" and _ASKS_FOR_TESTS.search(task) is not None
        return self.require_tests

    async def _review_node(self, state: L2MACState, runtime: Runtime[L2MACRun]) -> dict:
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
        details = {"instruction": instruction, "feedback": report.feedback()}
        runtime.context.emit(Notice("repair", len(registry), details))
        return {"registry": [*registry, instruction], "repairs": 1, "repaired_at": fingerprint}

    async def _final_node(self, state: L2MACState) -> dict:
        return {}

    # -- running --------------------------------------------------------------------------
    async def arun(
        self,
        task: str = "",
        *,
        registry: list[str] | None = None,
        thread_id: str = "main",
        resume: bool = False,
        on_event: EventHandler | None = None,
    ) -> L2MACResult:
        """Run the task to completion, or resume thread `thread_id` from its checkpoint.

        Args:
            task: what to build or write.
            registry: instructions to run instead of asking the planner (e.g. an edited `plan`).
            thread_id: the checkpoint thread; a new run with the same id starts over.
            resume: continue the unfinished run of `thread_id` (task and registry come from it).
            on_event: called with each `longweave.events` event, e.g. to draw progress:
                `PlanReady` (the registry: ``sections`` as ``{"title", "instruction"}``, source
                "model", "user" or "checkpoint", and ``dropped``), `StepStarted`, `StepDone`
                (``ok``, ``reason``; ``details``: ``changed``, ``written``, ``summary``), and
                `Notice` "restart" (``summary``), "check_failed" (``feedback``), "no_effect"
                (``missing``), "sampled" (a best-of-n draw: ``target``, ``scores`` per candidate
                as ``(ok, tests passed)`` or None, ``kept``) and "repair" (an instruction the
                control unit added: ``instruction``, ``feedback``).
        """
        started = time.monotonic()
        run = L2MACRun(Toolbox(self.store, self.mode, self.limits), on_event=on_event)
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
                    run.emit(_registry_event(snap.values.get("registry", []), "checkpoint"))
                    state = await graph.ainvoke(None, config, context=run)
                else:
                    state = snap.values
            else:
                task = check_task(task)
                init: L2MACState = {"task": task, "mode": self.mode, "index": 0, "previous": ""}
                if registry is not None:
                    init["registry"] = check_registry(registry)
                await saver.adelete_thread(thread_id)
                state = await graph.ainvoke(init, config, context=run)
        required = self._tests_required(state.get("task", ""))
        report = check_work(self.store, self.mode, self.limits, required)
        repaired = []  # steps whose check failed, fixed by a repair: the final check passes now
        if report.ok and state.get("repairs"):
            repaired = [int(f.split(":", 1)[0]) for f in state.get("failures", []) if _CHECK_FAILED.search(f)]
        return L2MACResult(
            trace=run.trace,
            usage=run.usage,
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
            dropped=list(run.dropped),
            stopped=state.get("stopped", ""),
        )


def _registry_event(registry: list[str], source: str, dropped: list[str] = ()) -> PlanReady:
    sections = [{"title": headline(r), "instruction": r} for r in registry]
    return PlanReady(sections, source, list(dropped))
