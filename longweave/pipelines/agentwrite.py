"""AgentWrite: plan a long piece as sections with word budgets, then write them one by one.

After LongWriter (Bai et al., 2024, "LongWriter: Unleashing 10,000+ Word Generation from Long
Context LLMs", Section 3.1). Models stop at about 2,000 words however long their window;
AgentWrite gets 10,000+ words from an off-the-shelf model by planning paragraphs with word
budgets (200-1,000 words each, the paper's range) and writing them in order.

Three departures from the published script, measured in BENCHMARKS.md:

- A piece that fits one reply (at most ``single_call_words``, default 300: about what a small
  instruct model writes unforced; Qwen2.5-0.5B's single replies ran 108-262 words) is written
  in one call, in the form asked, with no plan (plan source ``"single"``). A piece of at most
  ``max_section_words`` (the paper's 1,000) is planned as paragraphs and assembled without
  section headings; an email, a letter or a toast has none. Forcing a small model past the
  end of a piece it has finished (min_tokens) only makes it pad: a 600-word toast written in
  one call looped on "[Your Wedding Date]" after its sign-off.

- Bounded context (default): each step sees the instruction, the plan, a rolling summary of
  what is written and the end of the previous section verbatim, within a token budget, instead
  of everything written so far. ``context="full"`` reproduces the original for comparison.
- Length control and failure handling (see ``agents/writer.py``): sections are held near their
  budget, a shortfall or overshoot carries into the next section's budget so the whole lands
  on the target, and a section that cannot be written stops the run with a clear error instead
  of saving an error message as text.

The graph is ``START -> plan -> write (once per section) -> END``; its state holds only counts,
the text lives in the checkpoint's `TextStore`, so with ``checkpoint=PATH`` a run killed at any
moment resumes where it stopped when run again, with nothing written twice.

Example:
    >>> from longweave import ScriptedLLM
    >>> llm = ScriptedLLM(rules=[(r"Break down", "1. Start (800 words)\\n2. End (800 words)"),
    ...                          (r'"(\\w+)": .*Write about (\\d+) words',
    ...                           lambda m, _: f"{m[1]} " * int(m[2])),
    ...                          (r"summary", "It went well.")])
    >>> result = AgentWrite(llm).run("Write a 1600-word note.")
    >>> result.words, [s["title"] for s in result.plan]
    (1600, ['Start', 'End'])

Deliberately not here: parallel section writing (CogWriter does it) and quality review.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave.agents.plan import (
    MAX_SECTION_WORDS,
    WORDS_PER_SECTION,
    Section,
    check_target,
    render_plan,
    target_from_instruction,
)
from longweave.agents.plan_parser import user_plan
from longweave.agents.planner import Planner, PlanOutcome
from longweave.agents.summarizer import Summarizer
from longweave.agents.writer import (
    ALREADY_WRITTEN,
    NOTHING_WRITTEN,
    PREVIOUS_ENDS,
    SUMMARY_SO_FAR,
    LengthPolicy,
    Writer,
    text_tail,
)
from longweave.errors import ConfigError
from longweave.events import EventHandler, StepDone
from longweave.llm import LLM, Trace
from longweave.pipelines._planned_run import PlannedPipeline, PlannedRun, plan_record
from longweave.pipelines.base import Result
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride

SINGLE_CALL_WORDS = 300
SMALL_MODEL_SECTION_WORDS = 300


class WriteState(TypedDict, total=False):
    """The graph state: counts only; plan and text are in the checkpoint's text store."""

    total: int
    next: int
    words: int


@dataclass
class WriteResult(Result):
    """What a writing run produced.

    Attributes:
        text: the piece, in Markdown (a ``##`` heading per section).
        plan: the sections as dicts (title, point, words).
        plan_source: "model", "repaired", "fallback", "user", or "single" (written in one call,
            without a plan).
        target_words: the length asked for; ``words``: the length written.
        sections: each section's text, without its heading.
        run_id: the checkpoint's run id; ``resumed``: whether this call continued a stopped run.
    """

    text: str = ""
    plan: list[dict] = field(default_factory=list)
    plan_source: str = ""
    target_words: int = 0
    words: int = 0
    sections: list[str] = field(default_factory=list)
    run_id: str = ""
    resumed: bool = False


@dataclass(kw_only=True)
class _Run(PlannedRun):
    """What one run's nodes share (passed as LangGraph runtime context, never checkpointed)."""

    target_words: int | None
    user_plan: list[Section] | None


class AgentWrite(PlannedPipeline):
    """Plan-then-write long-form generation (LongWriter's AgentWrite) with bounded context.

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key        | in/out | what |
    | ---------------- | ------ | ---- |
    | ``instruction``  | in     | what to write (required) |
    | ``target_words`` | in     | the length (optional) |
    | ``plan``         | in     | the user's outline (optional) |
    | ``text``         | out    | the piece, in Markdown |

    With ``checkpoint=PATH``, the node resumes at the section it stopped in when the user's
    graph resumes.

    Args:
        llm: a model, or a spec for `longweave.load_llm` ("local", "openai:gpt-4o-mini"...).
        context: "bounded" (summary + end of the previous section) or "full" (all previous
            text, as the paper does; needs a window that holds the whole piece).
        context_tokens: the budget for plan + summary + tail in a bounded step (default 2000).
        summary_tokens: the rolling summary's budget; None (default) means 400, or 150 for a
            model run on this machine's CPU (`LLM.runs_on_cpu`).
        tail_tokens: how much of the previous section is shown verbatim; None (default) means
            300, or 100 on this CPU. A small model copies what it is shown of its own prose (the
            0.5B opened every section of a story by restating the first one from the summary),
            and each token shown is prompt evaluation on a slow machine.
        summarize: "model" (the model folds each section into the summary), "extractive"
            (first sentences, no model calls) or "auto" (default: "extractive" for a base model
            prompted without a chat template, which cannot follow a summary instruction and
            only spends its token budget, and for a model run on this machine's CPU
            (`LLM.runs_on_cpu`), where each summary call costs about as much prompt
            evaluation as the section it summarises; "model" otherwise).
        length: the `LengthPolicy` (defaults: 1.4 tokens/word, continue under 85%, cut over 115%).
        temperature: sampling temperature for writing (planning uses 0.5).
        max_plan_repairs: re-asks for an unreadable plan before a derived plan is used; None
            (default) means 1, or 0 for a base model prompted without a chat template, whose
            re-ask only echoes the requested format (the embedded model: 1,320 tokens and 48 s
            for no plan, every time).
        max_section_words: sections above this are split (the paper's 1,000).
        section_words: the section size plans aim for; None (default) means `WORDS_PER_SECTION`
            (500, the paper's middle), or `SMALL_MODEL_SECTION_WORDS` (300) for a model run on
            this machine's CPU (`LLM.runs_on_cpu`): Qwen2.5-Coder-0.5B writes 250-400 words when
            asked for 300 and stops far short of 500-750 (story-1500 traces, BENCHMARKS.md).
        single_call_words: a piece of at most this many words (stated, or chosen by the
            planner when the instruction states none) is written in one call, without a plan;
            0 always plans. Default `SINGLE_CALL_WORDS` (300). Pieces up to
            `max_section_words` get no section headings.
        checkpoint: a SQLite file to checkpoint to and resume from; None keeps nothing.
        prompts: overrides for the agents "planner", "planner_repair", "writer",
            "writer_continue", "writer_single", "writer_single_continue", "summarizer".
    """

    node_io = NodeIO(
        {"instruction": "instruction", "target_words": "target_words", "plan": "plan"},
        ("instruction",),
        {"text": "text"},
        run_id="run_id",
        resumable="checkpoint",
    )

    def __init__(
        self,
        llm: LLM | str,
        *,
        context: Literal["bounded", "full"] = "bounded",
        context_tokens: int = 2000,
        summary_tokens: int | None = None,
        tail_tokens: int | None = None,
        summarize: Literal["auto", "model", "extractive"] = "auto",
        length: LengthPolicy | None = None,
        temperature: float = 0.7,
        max_plan_repairs: int | None = None,
        max_section_words: int = MAX_SECTION_WORDS,
        section_words: int | None = None,
        single_call_words: int | None = None,
        checkpoint: str | Path | None = None,
        prompts: dict[str, PromptOverride] | None = None,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        if context not in ("bounded", "full"):
            raise ConfigError(f"context must be 'bounded' or 'full', not {context!r}.")
        if summarize not in ("auto", "model", "extractive"):
            raise ConfigError(f"summarize must be 'auto', 'model' or 'extractive', not {summarize!r}.")
        chat_model = getattr(self.llm, "uses_chat_template", True)
        small = self.llm.runs_on_cpu  # a small local model: the defaults below differ for it
        if summarize == "auto":
            summarize = "model" if chat_model and not small else "extractive"
        if max_plan_repairs is None:
            max_plan_repairs = 1 if chat_model else 0
        self.context = context
        self.context_tokens = context_tokens
        self.tail_tokens = tail_tokens if tail_tokens is not None else (100 if small else 300)
        summary_tokens = summary_tokens if summary_tokens is not None else (150 if small else 400)
        if section_words is None:
            section_words = SMALL_MODEL_SECTION_WORDS if small else WORDS_PER_SECTION
        self.checkpoint = checkpoint
        self.planner = Planner(
            self.llm,
            self.prompt("planner"),
            self.prompt("planner_repair"),
            max_repairs=max_plan_repairs,
            max_section_words=max_section_words,
            section_words=section_words,
        )
        self.writer = Writer(
            self.llm,
            self.prompt("writer"),
            self.prompt("writer_continue"),
            policy=length,
            temperature=temperature,
        )
        self.single_call_words = SINGLE_CALL_WORDS if single_call_words is None else single_call_words
        self.max_section_words = max_section_words
        self.single_writer = Writer(
            self.llm,
            self.prompt("writer_single"),
            self.prompt("writer_single_continue"),
            policy=length,
            temperature=temperature,
        )
        self.summarizer = Summarizer(
            self.llm, self.prompt("summarizer"), max_tokens=summary_tokens, use_model=summarize == "model"
        )
        self._builder = self._build()

    # -- the graph -----------------------------------------------------------------------

    method = "agentwrite"
    run_type = _Run
    start = {"next": 0, "words": 0}
    empty_instruction = (
        "the writing instruction is empty; say what to write, e.g. 'Write a 2000-word story ...'."
    )

    def _build(self) -> StateGraph:
        builder = StateGraph(WriteState, context_schema=_Run)
        builder.add_node("plan", self._plan_node)
        builder.add_node("write", self._write_node)
        builder.add_edge(START, "plan")
        builder.add_conditional_edges("plan", _more, ["write", END])
        builder.add_conditional_edges("write", _more, ["write", END])
        return builder

    async def _make_plan(self, run: _Run) -> dict:
        if run.user_plan is not None:
            outcome = PlanOutcome(run.user_plan, "user", sum(s.words for s in run.user_plan), [])
        else:
            outcome = await self._outline(run.instruction, run.target_words, run.trace)
        return {
            **plan_record(outcome),
            "single": outcome.source == "single",
            "headings": outcome.target_words > self.max_section_words,
        }

    async def _write_node(self, state: WriteState, runtime: Runtime[_Run]) -> WriteState:
        run = runtime.context
        plan, i = run.load_plan(), state["next"]
        section = plan[i]
        text = run.section(i)
        if text is None:  # idempotent: a section stored before a kill is not written again
            if run.single:
                options = {"label": "the piece", "headings": True}
            else:
                options = {"seen": run.assemble(upto=i), "quoting": run.instruction}
            writer = self.single_writer if run.single else self.writer
            variables = self._variables(run, i)
            cost = await self._write_section(run, i, writer, variables, f"section/{i}", **options)
            words = run.words_written(upto=i + 1) - run.words_written(upto=i)  # as the total counts
            run.emit(StepDone(i, section.title, words=words, text=run.assemble(), **cost))
            text = run.section(i) or ""
        if (
            self.context == "bounded"
            and i < len(plan) - 1
            and run.store.get(run.run_id, f"summary/{i}") is None
        ):
            previous = run.store.get(run.run_id, f"summary/{i - 1}", "") if i else ""
            summary = await self.summarizer.update(previous, section.title, text, trace=run.trace)
            run.store.put(run.run_id, f"summary/{i}", summary)
        return {"next": i + 1, "words": run.words_written()}

    # -- what a step sees ----------------------------------------------------------------

    def _variables(self, run: _Run, i: int) -> dict:
        plan = run.load_plan()
        section = plan[i]
        base = {
            "instruction": run.instruction,
            "number": i + 1,
            "total": len(plan),
            "title": section.title,
            "point": section.point,
        }
        if run.single:
            return base
        if self.context == "full":
            previous = run.assemble(upto=i)
            written = f"{ALREADY_WRITTEN}\n\n{previous}" if previous else NOTHING_WRITTEN
            return {**base, "plan": render_plan(plan), "written": written}
        return {**base, **self._bounded(run, i)}

    def _bounded(self, run: _Run, i: int) -> dict:
        """Plan, summary and tail within `context_tokens`: shrink plan, then tail, then summary."""
        plan = run.load_plan()
        summary = run.store.get(run.run_id, f"summary/{i - 1}", "") if i else ""
        tail = text_tail(run.section(i - 1) or "", self.tail_tokens, self.llm) if i else ""
        count = self.llm.count_tokens
        plan_text = render_plan(plan)  # unmarked: the same text in every step, a cacheable prefix
        if count(plan_text) + count(summary) + count(tail) > self.context_tokens:
            plan_text = _compact_plan(plan, i)
        room = self.context_tokens - count(plan_text)
        if count(summary) + count(tail) > room:
            tail = text_tail(tail, max(0, room // 3), self.llm) if room > 0 else ""
            summary = text_tail(summary, max(0, room - count(tail)), self.llm) if room > count(tail) else ""
        if not i:
            written = NOTHING_WRITTEN
        else:
            written = f"{SUMMARY_SO_FAR}\n{summary or '(none)'}\n\n{PREVIOUS_ENDS}\n{tail}"
        return {"plan": plan_text, "written": written}

    # -- running -------------------------------------------------------------------------

    def _resume_hint(self) -> str:
        if self.checkpoint is None:
            return (
                "no checkpoint was kept, so a new run starts over; pass a checkpoint path "
                "(--checkpoint) to make runs resumable, or try a stronger model"
            )
        return (
            f"the sections before it are checkpointed in {self.checkpoint}: run the same command "
            "again to resume from this section, or try a stronger model"
        )

    async def aplan(self, instruction: str, target_words: int | None = None) -> PlanOutcome:
        """Only the plan (what ``agentwrite --dry-run`` shows); nothing is written or stored."""
        instruction = self._check_instruction(instruction)
        return await self._outline(instruction, target_words)

    async def _outline(
        self, instruction: str, target_words: int | None, trace: Trace | None = None
    ) -> PlanOutcome:
        """The plan, or one "single" section for a piece that fits one call."""
        stated = target_words if target_words is not None else target_from_instruction(instruction)
        if stated is None or stated > self.single_call_words:
            outcome = await self.planner.plan(instruction, target_words, trace=trace)
            if stated is not None or outcome.target_words > self.single_call_words:
                return outcome
            stated = outcome.target_words  # the planner chose a length that fits one call
        return PlanOutcome([Section("The piece", instruction, stated)], "single", stated, [])

    async def arun(
        self,
        instruction: str,
        target_words: int | None = None,
        plan: list | None = None,
        *,
        run_id: str = "agentwrite",
        on_event: EventHandler | None = None,
    ) -> WriteResult:
        """Write the piece `instruction` asks for.

        Args:
            instruction: what to write.
            target_words: the length; default: the length the instruction states, else the plan's.
            plan: the user's own outline (dicts with "title" and "words", optionally "point");
                skips planning.
            run_id: the run's id in the checkpoint (one checkpoint file can hold several runs).
            on_event: called with each `longweave.events` event: `PlanReady`, `Resumed`,
                `StepStarted`, `StepDone` (a section, with the text so far, for writing it out as
                it grows), `StepFailed`.

        Raises:
            InputError: empty instruction, bad target or plan, or a checkpoint that holds a
                different run under `run_id`.
            SectionFailed: a section could not be written; run again to resume.
        """
        instruction = self._check_instruction(instruction)
        if target_words is not None:
            check_target(target_words)
        sections = None
        if plan is not None:
            sections, target_words = user_plan(plan, target_words)
        meta = {
            "instruction": instruction,
            "target_words": target_words,
            "plan": [s.to_dict() for s in sections] if sections else None,
        }
        return await self._execute(run_id, meta, on_event, target_words=target_words, user_plan=sections)

    def _result(self, run: _Run, resumed: bool, started: float) -> WriteResult:
        text = run.assemble()
        stored = run.json("plan")
        return WriteResult(
            trace=run.trace,
            usage=run.trace.usage(),
            seconds=time.monotonic() - started,
            text=text,
            plan=[s.to_dict() for s in run.load_plan()],
            plan_source=stored["source"],
            target_words=stored["target_words"],
            words=run.words_written(),
            sections=run.written(),
            run_id=run.run_id,
            resumed=resumed,
        )


def _more(state: WriteState) -> str:
    return "write" if state.get("next", 0) < state.get("total", 0) else END


def _compact_plan(plan: list[Section], current: int, near: int = 2) -> str:
    """The plan with main points only near the current section, titles elsewhere."""
    full = render_plan(plan).splitlines()
    return "\n".join(
        full[k] if abs(k - current) <= near else f"{k + 1}. {s.title} ({s.words} words)"
        for k, s in enumerate(plan)
    )


__all__ = ["AgentWrite", "WriteResult", "WriteState"]
