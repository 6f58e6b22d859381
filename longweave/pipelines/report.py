"""Report: read a corpus of any size, write a long report that cites it, check every citation.

Long input and long output in one run ("read these 40 reports and write a 10,000-word review
that cites them"). The parts are longweave's own:

1. index: the corpus is chunked file by file into passages that keep their source and offsets
   (`RAGIndex`: faiss over the hashed or MiniLM embedder), each labelled with its paragraph
   location, ``[reports/q3.txt, ¶12]``;
2. plan: AgentWrite's planner (LongWriter, Bai et al., 2024) is shown the request and an
   overview of the corpus, and plans sections with word budgets (200-1,000 words each, the
   paper's range); a fallback plan is made from the corpus when the model cannot plan;
3. per section: retrieve the passages for its title and point, interleaved with those for the
   request (passages earlier sections were given left out of this second list, so the request's
   evidence spreads over the report); top 6 in all by default, within a token budget; write it
   from them with AgentWrite's writer and length control, citing them;
4. check: every citation is checked in code against the corpus (``agents/citations.py``: the
   passage exists and supports the claim), a claim whose citation fails is revised once or
   dropped (``agents/citation_checker.py``);
5. a bibliography of the sources cited ends the text.

Like STORM (Shao et al., 2024) it writes from retrieved sources, outline first; unlike it, a
citation that does not hold never reaches the text. The graph is
``START -> index -> plan -> retrieve -> write -> check -> (retrieve | bibliography) -> END``.
Its state holds counts only (`ReportState`); the text, passages and citations live in the
checkpoint's `TextStore`, so with ``checkpoint=PATH`` a killed run resumes where it stopped
with nothing written twice. The index is rebuilt on resume (the corpus's fingerprint must match),
from the passage index cache unless ``index_cache=False``.

Example:
    >>> import re
    >>> from longweave import ScriptedLLM
    >>> corpus = {"lake.txt": "Lake Orla is 40 metres deep.", "town.txt": "Orla town has 900 people."}
    >>> def write(m, _):
    ...     return " ".join(f"{t} {c}" for c, t in re.findall(r"(\\[[^\\]]+\\]) (.+)", m[1]))
    >>> llm = ScriptedLLM(rules=[(r"Break down", "1. Lake (100 words)\\n2. Town (100 words)"),
    ...                          (r"<passages>\\n(.*?)</passages>", write)])
    >>> result = Report(llm, top_k=1, length=LengthPolicy(max_continues=0)).run(corpus, "Report on Orla.")
    >>> [(c.source, c.location, c.verified) for c in result.citations]
    [('lake.txt', '¶1', True), ('town.txt', '¶1', True)]

Deliberately not here: web search (give it files), re-ranking models, a model-written
bibliography (it is built from the checked citations), and parallel section writing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from longweave.agents.citation_checker import CitationChecker
from longweave.agents.citations import Citation, CitationRules, CorpusMap
from longweave.agents.plan import MAX_SECTION_WORDS, check_target, render_plan
from longweave.agents.plan import target_from_instruction as _stated_target
from longweave.agents.planner import Planner, PlanOutcome
from longweave.agents.report_planner import DEFAULT_REPORT_WORDS, ReportPlanner
from longweave.agents.writer import (
    NOTHING_WRITTEN,
    PREVIOUS_ENDS,
    SECTIONS_DONE,
    LengthPolicy,
    Writer,
    text_tail,
)
from longweave.errors import ConfigError
from longweave.events import EventHandler, Notice, StepDone
from longweave.llm import LLM
from longweave.memory.embedders import Embedder
from longweave.memory.index_cache import IndexCacheOption, open_index_cache
from longweave.memory.passage_index import RAGIndex
from longweave.pipelines._corpus import CorpusInput, LoadedCorpus, read_corpus
from longweave.pipelines._planned_run import PlannedPipeline, PlannedRun, plan_record
from longweave.pipelines._report_sources import (
    ReportResult,
    bibliography,
    render_passages,
    select_passages,
    strip_citations,
)
from longweave.pipelines.compose import NodeIO
from longweave.prompts import PromptOverride
from longweave.text import count_words


class ReportState(TypedDict, total=False):
    """The graph state: counts only; text, passages and citations are in the checkpoint's store.

    Input keys: ``next`` (0 to start). Output keys: ``total`` (sections), ``next`` (sections
    done), ``words`` (words written so far), ``citations`` (citations kept in the text).
    """

    total: int
    next: int
    words: int
    citations: int


@dataclass(kw_only=True)
class _Run(PlannedRun):
    """What one run's nodes share (LangGraph runtime context, never checkpointed)."""

    target_words: int
    loaded: LoadedCorpus
    index: RAGIndex | None = None
    corpus_map: CorpusMap | None = None


class Report(PlannedPipeline):
    """A long report written from a corpus, every citation checked against it.

    As a node of your own LangGraph graph (`longweave.as_node`), it reads and writes:

    | state key        | in/out | what |
    | ---------------- | ------ | ---- |
    | ``corpus``       | in     | files or folders, ``{name: text}`` or a `Corpus` (required) |
    | ``instruction``  | in     | what the report is about (required) |
    | ``target_words`` | in     | the length (optional) |
    | ``text``         | out    | the report, in Markdown, with its citations |

    With ``checkpoint=PATH``, the node resumes at the section it stopped in when the user's
    graph resumes.

    Args:
        llm: a model, or a spec for `longweave.load_llm`.
        embedder: "hash" (default: no model, works everywhere), "minilm" or an `Embedder`.
        chunk_tokens: passage size when indexing (default 200).
        index_cache: keep passage vectors on disk so a corpus is embedded once: True (the
            default folder, see `longweave.memory.index_cache`), a folder, an `IndexCache`, or False.
        top_k: passages retrieved per section (default 6).
        passage_tokens: the most passage text one writing prompt shows (default 1500).
        overview_tokens: the corpus overview's budget in the planning prompt (default 1200).
        min_overlap: share of a claim's content words its passage must hold (default 0.5).
        max_revisions: rewrites asked for a failing claim before it is dropped (default 1).
        judge: also ask the model whether each passage supports its claim (default False).
        length: the writer's `LengthPolicy` (AgentWrite's defaults).
        temperature: sampling temperature for writing (default 0.3: a report sticks to sources).
        max_section_words: sections above this are split (LongWriter's 1,000).
        checkpoint: a SQLite file to checkpoint to and resume from; None keeps nothing.
        prompts: overrides for "report_planner", "planner_repair", "report_writer",
            "report_writer_continue", "citation_reviser", "citation_judge".
    """

    node_io = NodeIO(
        {"corpus": "corpus", "instruction": "instruction", "target_words": "target_words"},
        ("corpus", "instruction"),
        {"text": "text"},
        run_id="run_id",
        resumable="checkpoint",
    )

    def __init__(
        self,
        llm: LLM | str,
        *,
        embedder: str | Embedder = "hash",
        chunk_tokens: int = 200,
        index_cache: IndexCacheOption = True,
        top_k: int = 6,
        passage_tokens: int = 1500,
        overview_tokens: int = 1200,
        min_overlap: float = 0.5,
        max_revisions: int = 1,
        judge: bool = False,
        length: LengthPolicy | None = None,
        temperature: float = 0.3,
        max_section_words: int = MAX_SECTION_WORDS,
        checkpoint: str | Path | None = None,
        prompts: dict[str, PromptOverride] | None = None,
    ) -> None:
        super().__init__(llm, prompts=prompts)
        if top_k < 1 or chunk_tokens < 1 or passage_tokens < 1:
            raise ConfigError("top_k, chunk_tokens and passage_tokens must be at least 1.")
        if not 0 < min_overlap <= 1:
            raise ConfigError(f"min_overlap must be in (0, 1], not {min_overlap}.")
        self.embedder, self.chunk_tokens, self.top_k = embedder, chunk_tokens, top_k
        self.index_cache = open_index_cache(index_cache)
        self.passage_tokens, self.min_overlap = passage_tokens, min_overlap
        self.max_revisions, self.judge, self.checkpoint = max_revisions, judge, checkpoint
        planner = Planner(
            self.llm, self.prompt("report_planner"), self.prompt("planner_repair"),
            max_section_words=max_section_words,
        )  # fmt: skip
        self.planner = ReportPlanner(planner, overview_tokens=overview_tokens)
        self.writer = Writer(
            self.llm,
            self.prompt("report_writer"),
            self.prompt("report_writer_continue"),
            policy=length,
            temperature=temperature,
        )
        self._builder = self._build()

    # -- the graph -----------------------------------------------------------------------

    method = "report"
    run_type = _Run
    claim_what = "report run"
    empty_instruction = "the report instruction is empty; say what the report should cover."

    def _build(self) -> StateGraph:
        builder = StateGraph(ReportState, context_schema=_Run)
        builder.add_node("index", self._index_node)
        builder.add_node("plan", self._plan_node)
        builder.add_node("retrieve", self._retrieve_node)
        builder.add_node("write", self._write_node)
        builder.add_node("check", self._check_node)
        builder.add_node("bibliography", self._bibliography_node)
        builder.add_edge(START, "index")
        builder.add_edge("index", "plan")
        builder.add_conditional_edges("plan", _more, ["retrieve", "bibliography"])
        builder.add_edge("retrieve", "write")
        builder.add_edge("write", "check")
        builder.add_conditional_edges("check", _more, ["retrieve", "bibliography"])
        builder.add_edge("bibliography", END)
        return builder

    def _ensure_index(self, run: _Run) -> RAGIndex:
        if run.index is None:
            started = time.monotonic()
            run.index = RAGIndex.build(
                run.loaded.corpus,
                embedder=self.embedder,
                chunk_tokens=self.chunk_tokens,
                on_event=run.emit,
                index_cache=self.index_cache if self.index_cache is not None else False,
            )
            run.corpus_map = CorpusMap(run.loaded.corpus)
            details = {
                "files": len(run.loaded.corpus.sources),
                "passages": len(run.index),
                "skipped": len(run.loaded.skipped),
                "seconds": time.monotonic() - started,
            }
            run.emit(Notice("indexed", details=details))
        return run.index

    async def _index_node(self, state: ReportState, runtime: Runtime[_Run]) -> ReportState:
        self._ensure_index(runtime.context)
        return {"next": 0, "words": 0, "citations": 0}

    async def _make_plan(self, run: _Run) -> dict:
        outcome = await self.planner.plan(
            run.instruction, run.loaded.corpus, run.target_words, trace=run.trace
        )
        return plan_record(outcome)

    async def _retrieve_node(self, state: ReportState, runtime: Runtime[_Run]) -> ReportState:
        run, i = runtime.context, state["next"]
        if run.store.get(run.run_id, f"passages/{i}") is None:
            index = self._ensure_index(run)
            assert run.corpus_map is not None
            used = {p["start"] for k in range(i) for p in run.json(f"passages/{k}") or []}
            found = select_passages(
                index, run.corpus_map, run.instruction, run.load_plan()[i], used,
                top_k=self.top_k, budget=self.passage_tokens, count_tokens=self.llm.count_tokens,
            )  # fmt: skip
            run.put_json(f"passages/{i}", found)
        return {}

    async def _write_node(self, state: ReportState, runtime: Runtime[_Run]) -> ReportState:
        run, i = runtime.context, state["next"]
        if run.store.get(run.run_id, f"draft/{i}") is None:
            cost = await self._write_section(run, i, self.writer, self._variables(run, i), f"draft/{i}")
            run.put_json(f"stats/{i}", cost)
        return {}

    async def _check_node(self, state: ReportState, runtime: Runtime[_Run]) -> ReportState:
        run, i = runtime.context, state["next"]
        plan = run.load_plan()
        if run.store.get(run.run_id, f"section/{i}") is None:
            started = time.monotonic()
            self._ensure_index(run)
            assert run.corpus_map is not None
            checker = CitationChecker(
                self.llm,
                CitationRules(run.corpus_map, min_overlap=self.min_overlap),
                self.prompt("citation_reviser"),
                self.prompt("citation_judge") if self.judge else None,
                max_revisions=self.max_revisions,
                judge=self.judge,
            )
            passages = render_passages(run.json(f"passages/{i}") or [])
            checked = await checker.check(
                run.store.get(run.run_id, f"draft/{i}") or "", passages, section=i, trace=run.trace
            )
            dropped = [{"section": i, **d} for d in checked.dropped]
            run.put_json(f"citations/{i}", [c.to_dict() for c in checked.citations])
            run.put_json(f"dropped/{i}", dropped)
            run.store.put(run.run_id, f"section/{i}", checked.text)  # last: marks the section done
            stats = run.json(f"stats/{i}") or {}
            counts = {
                "citations": sum(c.verified for c in checked.citations),
                "failed": sum(not c.verified for c in checked.citations),
                "revised": checked.revised,
                "dropped": len(dropped),
            }
            run.emit(StepDone(
                i,
                plan[i].title,
                words=count_words(f"## {plan[i].title}\n\n{checked.text}"),
                budget=stats.get("budget", plan[i].words),
                calls=stats.get("calls", 0),
                completion_tokens=stats.get("completion_tokens", 0),
                seconds=stats.get("seconds", 0.0) + time.monotonic() - started,
                text=run.assemble(),
                details=counts,
            ))  # fmt: skip
        kept = sum(1 for k in range(i + 1) for c in run.json(f"citations/{k}") or [] if c["verified"])
        return {"next": i + 1, "words": run.words_written(), "citations": kept}

    async def _bibliography_node(self, state: ReportState, runtime: Runtime[_Run]) -> ReportState:
        run = runtime.context
        if run.store.get(run.run_id, "bibliography") is None:
            bib = bibliography(
                c for i in range(len(run.load_plan())) for c in run.json(f"citations/{i}") or []
            )
            run.put_json("bibliography", bib)
            run.emit(Notice("bibliography", details={"sources": len(bib)}))
        return {}

    # -- what a writing step sees --------------------------------------------------------

    def _variables(self, run: _Run, i: int) -> dict:
        plan = run.load_plan()
        if i:
            done = "; ".join(f"{k + 1}. {plan[k].title}" for k in range(i))
            tail = text_tail(run.store.get(run.run_id, f"section/{i - 1}") or "", 200, self.llm)
            written = f"{SECTIONS_DONE} {done}.\n{PREVIOUS_ENDS}\n{tail}"
        else:
            written = NOTHING_WRITTEN
        return {
            "instruction": run.instruction,
            "plan": render_plan(plan, current=i),
            "written": written,
            "number": i + 1,
            "total": len(plan),
            "title": plan[i].title,
            "point": plan[i].point,
            "passages": render_passages(run.json(f"passages/{i}") or []) or "(no passages were found)",
        }

    # -- running -------------------------------------------------------------------------

    def _target(self, instruction: str, target_words: int | None) -> int:
        if target_words is None:
            target_words = _stated_target(instruction) or DEFAULT_REPORT_WORDS
        return check_target(target_words)

    async def aplan(
        self, corpus: CorpusInput, instruction: str, target_words: int | None = None
    ) -> PlanOutcome:
        """Only the plan (what ``longweave report --dry-run`` shows); nothing is written or stored."""
        instruction = self._check_instruction(instruction)
        loaded = read_corpus(corpus)
        return await self.planner.plan(instruction, loaded.corpus, self._target(instruction, target_words))

    async def arun(
        self,
        corpus: CorpusInput,
        instruction: str,
        target_words: int | None = None,
        *,
        run_id: str = "report",
        on_event: EventHandler | None = None,
    ) -> ReportResult:
        """Write the report `instruction` asks for from `corpus`.

        Args:
            corpus: files or folders (a path or a list), ``{name: text}``, or a `Corpus`.
            instruction: what the report should cover.
            target_words: its length; default: as the instruction states, else 1,500 words.
            run_id: the run's id in the checkpoint.
            on_event: called with each `longweave.events` event: `Progress` (indexing),
                `Notice` "indexed" (files, passages, skipped, seconds), `PlanReady`, `Resumed`,
                `StepStarted`, `StepDone` (with the text so far; ``details``: citations held
                and failed, sentences revised and dropped), `StepFailed`, `Notice` "bibliography".

        Raises:
            InputError: an empty instruction or corpus, a file that cannot be read, a bad
                target, or a checkpoint that holds a different run under `run_id`.
            SectionFailed: a section could not be written; run again to resume.
        """
        instruction = self._check_instruction(instruction)
        target = self._target(instruction, target_words)
        loaded = read_corpus(corpus)
        meta = {
            "instruction": instruction,
            "target_words": target,
            "corpus": loaded.fingerprint,
            "retrieval": [str(self.embedder), self.chunk_tokens, self.top_k, self.passage_tokens],
        }
        return await self._execute(run_id, meta, on_event, target_words=target, loaded=loaded)

    def _result(self, run: _Run, resumed: bool, started: float) -> ReportResult:
        plan = run.load_plan()
        stored = run.json("plan")
        body = run.assemble()
        bib = run.json("bibliography") or []
        lines = [f"{k}. {b['source']}: {', '.join(b['locations'])}" for k, b in enumerate(bib, 1)]
        text = body + ("\n\n## Sources\n\n" + "\n".join(lines) if lines else "")
        citations = [Citation(**c) for i in range(len(plan)) for c in run.json(f"citations/{i}") or []]
        return ReportResult(
            trace=run.trace,
            usage=run.trace.usage(),
            seconds=time.monotonic() - started,
            text=text,
            citations=citations,
            plan=[s.to_dict() for s in plan],
            plan_source=stored["source"],
            sections=run.written(),
            dropped=[d for i in range(len(plan)) for d in run.json(f"dropped/{i}") or []],
            bibliography=bib,
            sources=[s.name for s in run.loaded.corpus.sources],
            skipped=run.loaded.skipped,
            target_words=stored["target_words"],
            words=count_words(strip_citations(body)),
            passages=len(run.index) if run.index is not None else 0,
            run_id=run.run_id,
            resumed=resumed,
        )

    def _resume_hint(self) -> str:
        if self.checkpoint is None:
            return (
                "no checkpoint was kept, so a new run starts over; pass a checkpoint to make runs resumable"
            )
        return f"the sections before it are checkpointed in {self.checkpoint}: run the same command again"


def _more(state: ReportState) -> str:
    return "retrieve" if state.get("next", 0) < state.get("total", 0) else "bibliography"


__all__ = ["Report", "ReportResult", "ReportState"]
