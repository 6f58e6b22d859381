"""CogWriter: hierarchical plan, parallel generation agents, monitor and reviewer.

After Wan et al. (2025), "A Cognitive Writing Perspective for Constrained Long-Form Text
Generation". A planning agent splits the task into units and gives each unit the constraints
that apply to it (single, range, periodic; ``agents/cog_planner.py``); generation agents write
the units in parallel, each seeing only its own constraints; a monitor checks each unit
(``agents/monitor.py``: rules where a rule can decide, the model as judge for the rest) and a
reviewer turns failures into revision instructions (``agents/reviewer.py``); the text is
assembled in plan order. Defaults: ``concurrency=8`` units in flight, ``max_revisions=2``
rewrites per unit (the paper's loop has no bound; ours does).

The plan is a dependency graph (networkx): a unit waits for the units it ``depends_on`` (a
conclusion for all of them), the rest are written concurrently through LangGraph fan-out
(``Send``), at most ``concurrency`` at a time (``max_concurrency`` in the run config). The
graph is ``START -> plan -> schedule -> unit (fan-out) -> schedule ... -> END``; its state holds
only numbers, the text lives in the checkpoint's `TextStore` (drafts, reports, final units), so
with ``checkpoint=PATH`` a run killed at any moment resumes where it stopped, without
rewriting a stored draft.

Example:
    >>> from longweave import ScriptedLLM
    >>> llm = ScriptedLLM(rules=[
    ...     (r'"(Week \\d)".*?must mention: (\\w+)', lambda m, _: f"{m[1]}: the {m[2]} grew" + " tall" * 17),
    ...     (r'"(Week \\d)"', lambda m, _: f"{m[1]}: calm" + " days" * 18)])
    >>> r = CogWriter(llm, use_model_planner=False).run(
    ...     "A diary of 3 weeks, 20 words each. In week 2, mention the garden.")
    >>> r.sections[1][:22], [x["passed"] for x in r.reviews]
    ('Week 2: the garden gre', [True, True, True])

Deliberately not here: the published code's model self-review of length (length is a rule)
and quality scoring.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import networkx as nx
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from longweave.agents.cog_planner import CogPlan, CogPlanner, Unit, render_constraints, units_from_user
from longweave.agents.monitor import Monitor, UnitReport
from longweave.agents.plan import MAX_SECTION_WORDS, Section, check_target
from longweave.agents.planner import Planner, PlanOutcome
from longweave.agents.reviewer import revision_instructions
from longweave.agents.writer import LengthPolicy, SectionFailed, Writer
from longweave.errors import ConfigError, InputError
from longweave.events import EventHandler, PlanReady, StepDone, StepFailed, StepStarted
from longweave.llm import LLM, Trace
from longweave.pipelines._planned_run import PlannedPipeline, RunContext
from longweave.pipelines.agentwrite import AgentWrite, WriteResult
from longweave.prompts import PromptOverride
from longweave.text import count_words


class CogState(TypedDict, total=False):
    """The graph state: numbers only (plan and text are in the text store)."""

    total: int
    ready: list[int]


class UnitTask(TypedDict):
    number: int


@dataclass
class CogResult(WriteResult):
    """What a CogWriter run produced (the fields of `WriteResult`, plus the reviews).

    Attributes:
        reviews: per unit, in plan order: ``{"unit", "title", "passed", "revisions", "checks"
            (the last report's checks), "failed_before" (names of checks that failed on earlier
            drafts)}``.
        constraints: the plan's constraints as dicts.
        graph_waves: the units written together, wave by wave (dependency generations).
    """

    reviews: list[dict] = field(default_factory=list)
    constraints: list[dict] = field(default_factory=list)
    graph_waves: list[list[int]] = field(default_factory=list)


@dataclass(kw_only=True)
class _Run(RunContext):
    """What one run's nodes share (LangGraph runtime context, never checkpointed)."""

    target_words: int | None
    user_units: list[Unit] | None
    plan: CogPlan | None = None

    def load_plan(self) -> CogPlan:
        if self.plan is None:
            stored = self.json("plan")
            if stored is None:
                raise self.missing_plan()
            self.plan = CogPlan.from_dict(stored)
        return self.plan

    def plan_event(self) -> PlanReady:
        plan = self.load_plan()
        return PlanReady([_section(u).to_dict() for u in plan.units], plan.source)

    def progress(self) -> tuple[int, int]:
        """Units done (they finish in any order) and the words of the text so far."""
        return len(self.store.keys(self.run_id, "unit/")), count_words(self.assemble())

    def final(self, number: int) -> str | None:
        return self.store.get(self.run_id, f"unit/{number}")

    def assemble(self) -> str:
        parts = []
        for u in self.load_plan().units:
            text = self.final(u.number)
            if text is not None:
                parts.append(f"## {u.title}\n\n{text}")
        return "\n\n".join(parts)


def dependency_graph(units: list[Unit]) -> nx.DiGraph:
    """The plan as a DiGraph: an edge d -> u when unit u depends on unit d.

    Raises:
        InputError: the dependencies form a cycle (no order can satisfy them).
    """
    g = nx.DiGraph()
    g.add_nodes_from(u.number for u in units)
    g.add_edges_from((d, u.number) for u in units for d in u.depends_on)
    if not nx.is_directed_acyclic_graph(g):
        cycle = " -> ".join(str(a) for a, _ in nx.find_cycle(g))
        raise InputError(f"the plan's dependencies form a cycle ({cycle}); remove one of them.")
    return g


class CogWriter(PlannedPipeline):
    """Constrained long-form writing with parallel units, a monitor and a bounded reviewer.

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key        | in/out | what |
    | ---------------- | ------ | ---- |
    | ``instruction``  | in     | what to write, with its constraints (required) |
    | ``target_words`` | in     | the length (optional) |
    | ``plan``         | in     | the user's units (optional) |
    | ``text``         | out    | the piece, in Markdown |

    With ``checkpoint=PATH``, the node resumes at the unit it stopped in when the user's
    graph resumes.

    Args:
        llm: the model, or a spec for `longweave.load_llm`.
        concurrency: units written at once (default 8).
        max_revisions: rewrites per unit after failed checks (default 2; 0: monitor only).
        use_model_planner: ask the model for the constraint list too (rules always run).
        min_ratio, max_ratio: the length range the monitor accepts, as fractions of a budget.
        context_tokens: how much of the units a dependent unit (a conclusion) sees.
        length: the writer's `LengthPolicy`; temperature: sampling temperature.
        checkpoint: SQLite file for resume; None keeps nothing.
        prompts: overrides for "cog_planner", "cog_writer", "cog_writer_continue",
            "cog_reviser", "monitor", "planner", "planner_repair".
    """

    node_io = AgentWrite.node_io  # a writer's keys: instruction, target_words, plan -> text

    def __init__(
        self,
        llm: LLM | str,
        *,
        concurrency: int = 8,
        max_revisions: int = 2,
        use_model_planner: bool = True,
        min_ratio: float = 0.5,
        max_ratio: float = 1.5,
        context_tokens: int = 1500,
        length: LengthPolicy | None = None,
        temperature: float = 0.7,
        checkpoint: str | Path | None = None,
        prompts: dict[str, PromptOverride] | None = None,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigError(f"concurrency must be a whole number >= 1, not {concurrency!r}.")
        if not isinstance(max_revisions, int) or max_revisions < 0:
            raise ConfigError(f"max_revisions must be a whole number >= 0, not {max_revisions!r}.")
        self.concurrency = concurrency
        self.max_revisions = max_revisions
        self.context_tokens = context_tokens
        self.min_ratio, self.max_ratio = min_ratio, max_ratio
        self.checkpoint = checkpoint
        sections = Planner(self.llm, self.prompt("planner"), self.prompt("planner_repair"),
                           max_section_words=MAX_SECTION_WORDS)  # fmt: skip
        self.planner = CogPlanner(self.llm, self.prompt("cog_planner"), sections, use_model=use_model_planner)
        policy = length or LengthPolicy(max_continues=2)
        cont = self.prompt("cog_writer_continue")
        self.writer = Writer(
            self.llm, self.prompt("cog_writer"), cont, policy=policy, temperature=temperature
        )
        self.reviser = Writer(
            self.llm, self.prompt("cog_reviser"), cont, policy=policy, temperature=temperature
        )
        self.monitor = Monitor(self.llm, self.prompt("monitor"), min_ratio=min_ratio, max_ratio=max_ratio)
        self._builder = self._build()

    # -- the graph -----------------------------------------------------------------------

    method = "cogwriter"
    run_type = _Run
    start = {"ready": []}
    empty_instruction = "the writing instruction is empty; say what to write, e.g. 'A diary of 52 weeks ...'."

    def _build(self) -> StateGraph:
        builder = StateGraph(CogState, context_schema=_Run)
        builder.add_node("plan", self._plan_node)
        builder.add_node("schedule", self._schedule_node)
        builder.add_node("unit", self._unit_node, input_schema=UnitTask)
        builder.add_edge(START, "plan")
        builder.add_edge("plan", "schedule")
        builder.add_conditional_edges("schedule", _fan_out, ["unit", END])
        builder.add_edge("unit", "schedule")
        return builder

    async def _make_plan(self, run: _Run) -> dict:
        plan = await self.planner.plan(
            run.instruction, run.target_words, user_units=run.user_units, trace=run.trace
        )
        dependency_graph(plan.units)
        return plan.to_dict()

    async def _schedule_node(self, state: CogState, runtime: Runtime[_Run]) -> CogState:
        run = runtime.context
        plan = run.load_plan()
        done = {u.number for u in plan.units if run.final(u.number) is not None}
        ready = [
            u.number for u in plan.units if u.number not in done and all(d in done for d in u.depends_on)
        ]
        return {"ready": ready}

    async def _unit_node(self, task: UnitTask, runtime: Runtime[_Run]) -> CogState:
        run = runtime.context
        plan = run.load_plan()
        unit = plan.units[task["number"] - 1]
        if run.final(unit.number) is not None:
            return {}
        key = f"{unit.number}"
        variables = self._variables(run, unit)
        label = f"unit {unit.number} of {len(plan.units)} ({unit.title!r})"
        run.emit(StepStarted(unit.number - 1, unit.title, words=unit.words))
        started = time.monotonic()
        local = Trace()
        text = run.store.get(run.run_id, f"draft/{key}/0")
        if text is None:
            try:
                text = (await self.writer.write(variables, unit.words, label=label, trace=local)).text
            except SectionFailed as exc:
                run.emit(StepFailed(unit.number - 1, unit.title, str(exc)))
                raise
            run.store.put(run.run_id, f"draft/{key}/0", text)
        failed_before: list[list[str]] = []
        revision = 0
        while True:
            report = await self.monitor.check(unit, text, trace=local)
            run.put_json(f"report/{key}/{revision}", report.to_dict())
            if report.passed or revision >= self.max_revisions:
                break
            failed_before.append([c.name for c in report.failed])
            revision += 1
            stored = run.store.get(run.run_id, f"draft/{key}/{revision}")
            if stored is None:
                stored = await self._revise(unit, variables, text, report, label, local)
                run.store.put(run.run_id, f"draft/{key}/{revision}", stored)
            text = stored
        review = {
            **report.to_dict(),
            "revisions": revision,
            "failed_before": failed_before,
        }
        run.put_json(f"review/{key}", review)
        for record in local.entries():
            run.trace.add(record)
        run.store.put(run.run_id, f"unit/{key}", text)
        run.emit(StepDone(
            unit.number - 1,
            unit.title,
            words=count_words(f"## {unit.title}\n\n{text}"),  # as the total counts
            budget=unit.words,
            calls=len(local.calls),
            completion_tokens=sum(r.completion_tokens for r in local),
            seconds=time.monotonic() - started,
            text=run.assemble(),
            details={"passed": report.passed, "revisions": revision},
        ))  # fmt: skip
        return {}

    async def _revise(self, unit: Unit, variables: dict, draft: str, report: UnitReport, label: str,
                      trace: Trace) -> str:  # fmt: skip
        steps = revision_instructions(unit, report, min_ratio=self.min_ratio, max_ratio=self.max_ratio)
        sub = Trace()
        written = await self.reviser.write(
            {**variables, "draft": draft, "instructions": "\n".join(f"- {s}" for s in steps)},
            unit.words,
            label=f"revision of {label}",
            trace=sub,
        )
        for record in sub.entries():
            record.role = "reviser"
            trace.add(record)
        return written.text

    def _variables(self, run: _Run, unit: Unit) -> dict:
        plan = run.load_plan()
        if unit.depends_on:
            share = max(32, self.context_tokens // len(unit.depends_on))
            parts = [f"## {plan.units[d - 1].title}\n{_head(run.final(d) or '', share, self.llm)}"
                     for d in unit.depends_on]  # fmt: skip
            context = "This unit builds on these units (already written):\n\n" + "\n\n".join(parts)
        else:
            context = "The other units are written separately; write this one on its own."
        return {
            "brief": plan.brief,
            "number": unit.number,
            "total": len(plan.units),
            "title": unit.title,
            "point": unit.point if unit.point and unit.point != unit.title else "",
            "constraints": render_constraints(unit),
            "context": context,
        }

    # -- running -------------------------------------------------------------------------

    async def aplan(self, instruction: str, target_words: int | None = None) -> PlanOutcome:
        """Only the plan, as sections (what ``agentwrite --dry-run`` shows); nothing is written."""
        instruction = self._check_instruction(instruction)
        plan = await self.planner.plan(instruction, target_words)
        dependency_graph(plan.units)
        return PlanOutcome([_section(u) for u in plan.units], plan.source, plan.target_words, plan.problems)

    async def arun(
        self,
        instruction: str,
        target_words: int | None = None,
        plan: list | None = None,
        *,
        run_id: str = "cogwriter",
        on_event: EventHandler | None = None,
    ) -> CogResult:
        """Write the piece `instruction` asks for, unit by unit, checked and revised.

        Args:
            instruction: what to write (with its constraints).
            target_words: the whole length; default: stated per unit or in total, else 150 a unit.
            plan: the user's units (dicts: title, words, optional point, constraints,
                depends_on); the instruction's rule constraints still apply by unit number.
            run_id: the run's id in the checkpoint.
            on_event: called with each `longweave.events` event: `PlanReady`, `Resumed`,
                `StepStarted`, `StepDone` (a unit; ``details``: ``passed``, ``revisions``), `StepFailed`.

        Raises:
            InputError: empty instruction, bad target or plan, a dependency cycle, or a
                checkpoint holding a different run under `run_id`.
            SectionFailed: a unit could not be written; run again (with a checkpoint) to resume.
        """
        instruction = self._check_instruction(instruction)
        if target_words is not None:
            check_target(target_words)
        user_units = units_from_user(plan) if plan is not None else None
        if user_units is not None:
            dependency_graph(user_units)
        meta = {
            "instruction": instruction,
            "target_words": target_words,
            "plan": [u.to_dict() for u in user_units] if user_units else None,
        }
        return await self._execute(run_id, meta, on_event, target_words=target_words, user_units=user_units)

    def _run_config(self, run_id: str) -> dict:
        return {**super()._run_config(run_id), "max_concurrency": self.concurrency}

    def _resume_hint(self) -> str:
        hint = (
            "run the same command again to resume"
            if self.checkpoint
            else "pass a checkpoint to make runs resumable"
        )
        return f"{hint}, or try a stronger model"

    def _result(self, run: _Run, resumed: bool, started: float) -> CogResult:
        cog = run.load_plan()
        text = run.assemble()
        waves = [sorted(g) for g in nx.topological_generations(dependency_graph(cog.units))]
        return CogResult(
            trace=run.trace,
            usage=run.trace.usage(),
            seconds=time.monotonic() - started,
            text=text,
            plan=[u.to_dict() for u in cog.units],
            plan_source=cog.source,
            target_words=cog.target_words,
            words=count_words(text),
            sections=[run.final(u.number) or "" for u in cog.units],
            run_id=run.run_id,
            resumed=resumed,
            reviews=[run.json(f"review/{u.number}") or {} for u in cog.units],
            constraints=[c.to_dict() for c in cog.constraints],
            graph_waves=waves,
        )


def _fan_out(state: CogState) -> list[Send] | str:
    ready = state.get("ready") or []
    return [Send("unit", {"number": n}) for n in ready] if ready else END


def _section(unit: Unit) -> Section:
    point = "; ".join(c.text for c in unit.constraints) or unit.point
    return Section(unit.title, point, unit.words)


def _head(text: str, tokens: int, llm: LLM) -> str:
    ids = llm.tokenizer.encode(text)
    return text if len(ids) <= tokens else llm.tokenizer.decode(ids[:tokens]) + " ..."


def build_pipeline(llm: LLM, **opts) -> CogWriter:
    """The factory ``agentwrite --method cogwriter`` uses (ignores AgentWrite-only options)."""
    opts.pop("context", None)
    if opts.get("concurrency") is None:
        opts.pop("concurrency", None)
    return CogWriter(llm, **opts)


__all__ = ["CogResult", "CogState", "CogWriter", "build_pipeline", "dependency_graph"]
