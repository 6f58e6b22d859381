"""The resumable plan-then-write run that AgentWrite, CogWriter and Report share.

`PlannedPipeline` is their base: a template `_execute` (open the checkpoint, claim the run,
compile the graph with the checkpointer, say what a resumed run has done, run the graph with
sync durability, re-raise `SectionFailed` with how to resume), the plan node and the writing
of one section, with a few hooks a pipeline fills in. Their text stays out of the graph state
(so checkpoints stay small): the plan is stored under ``"plan"`` and section i under
``"section/{i}"`` in the checkpoint's `TextStore`, keyed by the run id. A run's context
object, passed as LangGraph runtime context (``context_schema``), holds what one run's nodes
share; `RunContext` and `PlannedRun` are its bases (keyword-only dataclasses holding the
shared fields) and read the store back, send events and assemble the Markdown text. Nothing
of a run is kept on the pipeline.

Deliberately not here: what each pipeline stores besides plan and sections, and its graph.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime

from longweave.agents.plan import Section
from longweave.agents.planner import PlanOutcome
from longweave.agents.writer import SectionFailed, Writer
from longweave.errors import CheckpointError, InputError
from longweave.events import EventHandler, PlanReady, Resumed, StepFailed, StepStarted
from longweave.llm import Trace
from longweave.pipelines.base import Pipeline, Result, event_fields
from longweave.pipelines.checkpoint import open_checkpoint
from longweave.pipelines.text_store import TextStore
from longweave.text import count_words

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class RunContext:
    """What every plan-then-write run's nodes share: its id and instruction, the text store, the
    trace and the caller's event handler. Each pipeline's run context adds its own fields
    (keyword-only, so the shared ones are declared once)."""

    run_id: str
    instruction: str
    store: TextStore
    trace: Trace = field(default_factory=Trace)
    on_event: EventHandler | None = None

    def emit(self, event) -> None:
        """Send a progress event to the caller's handler, if any (and log it at info)."""
        log.info("%s %s: %s", self.run_id, event.kind, event_fields(event))
        if self.on_event is not None:
            self.on_event(event)

    def json(self, key: str) -> Any:
        """The JSON record stored under `key`, or None."""
        return json.loads(self.store.get(self.run_id, key) or "null")

    def put_json(self, key: str, value: object) -> None:
        self.store.put(self.run_id, key, json.dumps(value, ensure_ascii=False))

    def has_plan(self) -> bool:
        return self.store.get(self.run_id, "plan") is not None

    def missing_plan(self) -> CheckpointError:
        return CheckpointError(
            f"run {self.run_id!r} has no plan stored; the checkpoint is inconsistent: delete it, "
            "or use another checkpoint path, to start over."
        )

    # what a run context gives `PlannedPipeline`
    def plan_event(self) -> PlanReady:
        """The stored plan, as the event that announces it."""
        raise NotImplementedError

    def progress(self) -> tuple[int, int]:
        """Sections done and words written so far (what a resumed run says it has)."""
        raise NotImplementedError


@dataclass(kw_only=True)
class PlannedRun(RunContext):
    """The context of a run whose plan is a list of `Section`s (``plan``, ``plan_source``).

    A plan stored with ``"single": true`` is one piece written in one call; one stored with
    ``"headings": false`` is a short piece planned as paragraphs. Both are assembled without
    section headings (an email or a toast has none).
    """

    plan: list[Section] = field(default_factory=list)
    plan_source: str = ""
    single: bool = False
    headings: bool = True
    # A stored section never changes, so its text and its words (heading included) are read and
    # counted once: a batch's budgets and progress then cost no recount of the whole text.
    _texts: dict[int, str] = field(default_factory=dict, repr=False)
    _words: dict[int, int] = field(default_factory=dict, repr=False)

    def load_plan(self) -> list[Section]:
        """The stored plan (read once, then cached)."""
        if not self.plan:
            stored = self.json("plan")
            if stored is None:
                raise self.missing_plan()
            self.plan = [Section(**s) for s in stored["sections"]]
            self.plan_source = stored["source"]
            self.single = bool(stored.get("single"))
            self.headings = bool(stored.get("headings", True)) and not self.single
        return self.plan

    def plan_event(self) -> PlanReady:
        return PlanReady([s.to_dict() for s in self.load_plan()], self.plan_source)

    def progress(self) -> tuple[int, int]:
        return len(self.written()), self.words_written()

    def section(self, i: int) -> str | None:
        """Section i's stored text, or None when it is not written yet."""
        text = self._texts.get(i)
        if text is None:
            text = self.store.get(self.run_id, f"section/{i}")
            if text is not None:
                self._texts[i] = text
        return text

    def written(self) -> list[str]:
        """The texts of the sections written so far, in plan order, up to the first missing one."""
        out = []
        for i in range(len(self.load_plan())):
            text = self.section(i)
            if text is None:
                break
            out.append(text)
        return out

    def words_written(self, upto: int | None = None) -> int:
        """Words of the sections written so far (before `upto`), headings included: the count
        of `assemble(upto)`, summed per section (the blank lines between them join no words)."""
        total = 0
        for i, text in enumerate(self.written()[:upto]):
            if i not in self._words:
                self._words[i] = count_words(self._piece(i, text))
            total += self._words[i]
        return total

    def budget(self, i: int) -> int:
        """Section i's body budget: its plan words plus what earlier sections missed.

        The shortfall (or excess) carries over bounded to half a section either way, so the
        whole lands on the target; the heading's words come out of the budget, as the total
        counts them.
        """
        plan = self.load_plan()
        own = plan[i].words
        missed = sum(s.words for s in plan[:i]) - self.words_written(upto=i)
        adjusted = min(max(own + missed, own // 2), own + own // 2)
        return max(1, adjusted - (count_words(plan[i].title) if self.headings else 0))

    def assemble(self, upto: int | None = None) -> str:
        """The Markdown text of the sections written so far (before `upto`), each under its title."""
        return "\n\n".join(self._piece(i, t) for i, t in enumerate(self.written()[:upto]))

    def _piece(self, i: int, text: str) -> str:
        """Section i as it stands in the assembled text: under its heading, unless headings are off."""
        return f"## {self.load_plan()[i].title}\n\n{text}" if self.headings else text


def plan_record(outcome: PlanOutcome) -> dict:
    """A planner's outcome as the record stored under "plan"."""
    return {
        "source": outcome.source,
        "target_words": outcome.target_words,
        "sections": [s.to_dict() for s in outcome.sections],
        "problems": outcome.problems,
    }


class PlannedPipeline(Pipeline):
    """Base of the resumable plan-then-write pipelines: a template run with small hooks.

    A subclass builds ``self._builder`` (its `StateGraph`, with its run context as
    ``context_schema`` and `_plan_node` as the node "plan"), sets ``self.checkpoint``, and gives:

    - ``method`` (stored with the run), ``claim_what`` (named when a checkpoint holds another
      run), ``start`` (the graph's input for a new run), ``empty_instruction`` (the message
      for an empty instruction);
    - ``run_type``, its run context (a `RunContext` dataclass);
    - `_make_plan` (the plan record to store), `_resume_hint` and `_result`;
    - its ``arun``, which checks the inputs and calls `_execute` with the run's own fields.
    """

    method: ClassVar[str]
    run_type: ClassVar[type[RunContext]]
    claim_what: ClassVar[str] = "writing run"
    start: ClassVar[dict] = {"next": 0}
    empty_instruction: ClassVar[str] = "the instruction is empty; say what to write."
    checkpoint: str | Path | None
    _builder: StateGraph

    @property
    def graph(self):
        """The compiled graph (without a checkpointer; `arun` compiles one with it)."""
        return self._builder.compile()

    def _check_instruction(self, instruction: object) -> str:
        if not isinstance(instruction, str) or not instruction.strip():
            raise InputError(self.empty_instruction)
        return instruction.strip()

    def _run_config(self, run_id: str) -> dict:
        return {"configurable": {"thread_id": run_id}, "recursion_limit": 10_000}

    async def _execute(self, run_id: str, meta: dict, on_event: EventHandler | None, **fields: Any) -> Result:
        """Run (or resume, or read back) run `run_id` defined by `meta` (its ``instruction``
        among them); `fields` are the run context's own (``run_type``); see the class."""
        started = time.monotonic()
        async with open_checkpoint(self.checkpoint) as cp:
            cp.store.claim(run_id, {"method": self.method, **meta}, what=self.claim_what)
            graph = cp.compiled(self._builder)
            config = self._run_config(run_id)
            run = self.run_type(
                run_id=run_id, instruction=meta["instruction"], store=cp.store, on_event=on_event, **fields
            )
            snapshot = await graph.aget_state(config)
            resumed = bool(snapshot.values)
            if not resumed or snapshot.next:  # else finished before: the result is read back
                if resumed and run.has_plan():  # planned before: show that plan again
                    run.emit(run.plan_event())
                    run.emit(Resumed(*run.progress()))
                try:
                    start = None if resumed else dict(self.start)
                    await graph.ainvoke(start, config, context=run, durability="sync")
                except SectionFailed as exc:
                    raise SectionFailed(f"{exc}; {self._resume_hint()}") from exc
            return self._result(run, resumed, started)

    async def _plan_node(self, state: dict, runtime: Runtime[Any]) -> dict:
        run = runtime.context
        if not run.has_plan():  # not planned yet (or killed before the step saved)
            run.put_json("plan", await self._make_plan(run))
        event = run.plan_event()
        run.emit(event)
        return {"total": len(event.sections), **self.start}

    async def _write_section(self, run: PlannedRun, i: int, writer: Writer, variables: dict, key: str,
                             **options: Any) -> dict:  # fmt: skip
        """Write section i with `writer`, store it under `key`; returns what it cost (budget,
        calls, completion_tokens, seconds). Sends `StepStarted`, and `StepFailed` when it fails."""
        plan = run.load_plan()
        section, budget = plan[i], run.budget(i)
        run.emit(StepStarted(i, section.title, words=budget))
        started, calls_before = time.monotonic(), len(run.trace)
        options.setdefault("label", f"section {i + 1} of {len(plan)} ({section.title!r})")
        options.setdefault("titles", plan_titles(plan))
        try:
            written = await writer.write(variables, budget, trace=run.trace, **options)
        except SectionFailed as exc:
            run.emit(StepFailed(i, section.title, str(exc)))
            raise
        run.store.put(run.run_id, key, written.text)
        return {
            "budget": budget,
            "calls": written.calls,
            "completion_tokens": sum(r.completion_tokens for r in run.trace.calls[calls_before:]),
            "seconds": time.monotonic() - started,
        }

    # -- hooks ----------------------------------------------------------------------------

    async def _make_plan(self, run: Any) -> dict:
        """The plan record to store under "plan" (``source``, ``target_words``, ``sections``...)."""
        raise NotImplementedError

    def _resume_hint(self) -> str:
        """What a user whose section failed can do (appended to the `SectionFailed` message)."""
        raise NotImplementedError

    def _result(self, run: Any, resumed: bool, started: float) -> Result:
        """The result, read back from the store while the checkpoint is open."""
        raise NotImplementedError


def plan_titles(plan: list) -> tuple[str, ...]:
    """The plan's section titles, each also without the " (2/3)" a split section's parts carry."""
    titles = [s.title for s in plan]
    return tuple(dict.fromkeys(titles + [re.sub(r"\s*\(\d+/\d+\)$", "", t) for t in titles]))


__all__ = ["PlannedPipeline", "PlannedRun", "RunContext", "plan_record"]
