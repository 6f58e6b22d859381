"""SCM's memory controller: decide whether memory is needed, then activate the right memories.

Self-Controlled Memory (SCM, Wang et al. 2023) pairs a memory stream with a controller that,
for each new input:

1. decides whether the input needs memory at all (it asks the model; here also "always" or
   "never" by configuration, which saves a call per turn);
2. ranks archived items by relevance (cosine similarity of embeddings) plus recency, and keeps
   the top k;
3. always adds *flash memory*, the previous turn, so short-range coherence never depends on
   retrieval;
4. when the activated memories' full text exceeds the memory budget, replaces them by their
   summaries (written by the model once, lazily, and stored in the stream), lowest-ranked
   first, and drops what still does not fit; so the prompt stays bounded however long the
   history grows. SCM reports that without its retrieved memory, answer accuracy fell from
   77% to 11%.

Defaults: top_k=5 archived memories, shortlist of 50 by relevance re-ranked by relevance +
0.1 x recency, recency halving every 100 turns (SCM ranks by the sum of the two scores; the
small recency weight keeps an old but exact match above recent chatter), summaries of at
most 64 tokens.

Deliberately not here: storing turns (the pipeline does), the response prompt, and graphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from longweave.llm import LLM, Trace
from longweave.memory.stream import MemoryItem, MemoryStream
from longweave.prompts import PromptTemplate, load_prompt

MODES = ("ask", "always", "never")


@dataclass(slots=True)
class Activated:
    """One memory brought into the prompt, and how."""

    item: MemoryItem
    relevance: float = 0.0
    recency: float = 0.0
    score: float = 0.0
    as_summary: bool = False
    flash: bool = False

    @property
    def text(self) -> str:
        """The line this memory contributes to the prompt's text (the budget is counted on it)."""
        it = self.item
        where = f"turn {it.turn}" + (f", from {it.source}" if it.source else "")
        if self.flash:
            where += ", previous turn"
        if self.as_summary:
            return f"[{where}, summary] {it.summary}"
        return f"[{where}] {it.content}"

    @property
    def exchange(self) -> tuple[str, str] | None:
        """(user message, reply) of a chat exchange shown in full; None for anything else."""
        it = self.item
        said, sep, replied = it.content.partition("\nAssistant: ")
        if self.as_summary or it.role != "dialogue" or not sep or not said.startswith("User: "):
            return None
        return said.removeprefix("User: ").strip(), replied.strip()


@dataclass(slots=True)
class ActivatedMemory:
    """What the controller brings back for one input: archived memories and flash memory."""

    archived: list[Activated] = field(default_factory=list)
    flash: list[Activated] = field(default_factory=list)
    needed: bool = False
    tokens: int = 0
    dropped: int = 0

    @property
    def all(self) -> list[Activated]:
        """Archived memories in chronological order, then the flash memory."""
        return sorted(self.archived, key=lambda a: (a.item.turn, a.item.id)) + self.flash

    def render(self) -> str:
        """Every memory as a line of text ("(none)" when empty); the budget is counted on this."""
        return "\n".join(a.text for a in self.all) or "(none)"

    def notes(self) -> str:
        """The memories that are not chat exchanges shown in full (documents, summaries), as
        lines ("(none)" when there are none)."""
        return "\n".join(a.text for a in self.all if a.exchange is None) or "(none)"

    def messages(self) -> list[dict]:
        """The chat exchanges shown in full, as earlier turns of the conversation, oldest first.

        A small instruct model reads a recalled exchange best as a turn of its own chat: shown
        as a "User: ... / Assistant: ..." transcript in the system message, the 0.5B
        Qwen2.5-Coder replied to the transcript's last user line instead of the new message;
        retold as notes ("I said: ...") it echoed the notes (issue 15).
        """
        out: list[dict] = []
        for act in self.all:
            if (pair := act.exchange) is not None:
                out += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
        return out


class MemoryController:
    """Decides whether memory is needed and assembles the activated memory within a budget.

    Args:
        llm: the model asked "does this need memory?" and asked for summaries.
        stream: the memory stream to read from (summaries are written back to it).
        mode: "ask" (the model decides, SCM's default), "always" or "never".
        top_k: archived memories brought back at most.
        candidates: shortlist size taken by relevance before re-ranking with recency.
        recency_weight: weight of recency (in [0, 1]) added to relevance (cosine) in the rank.
        recency_half_life: turns after which an item's recency score halves.
        summary_tokens: the longest summary the model may write.
        prompts: overrides for the "memory_controller" and "memory_summarizer" prompts.
    """

    def __init__(
        self,
        llm: LLM,
        stream: MemoryStream,
        *,
        mode: str = "ask",
        top_k: int = 5,
        candidates: int = 50,
        recency_weight: float = 0.1,
        recency_half_life: float = 100.0,
        summary_tokens: int = 64,
        prompts: dict | None = None,
    ) -> None:
        from longweave.errors import ConfigError

        if mode not in MODES:
            raise ConfigError(f"memory mode must be one of {MODES} (got {mode!r}).")
        if top_k < 0 or candidates < 1 or summary_tokens < 1:
            raise ConfigError("top_k must be >= 0, candidates and summary_tokens >= 1.")
        self.llm, self.stream, self.mode = llm, stream, mode
        self.top_k, self.candidates = top_k, max(candidates, top_k)
        self.recency_weight, self.recency_half_life = recency_weight, recency_half_life
        self.summary_tokens = summary_tokens
        prompts = prompts or {}
        self.decide_prompt: PromptTemplate = load_prompt(
            "memory_controller", prompts.get("memory_controller")
        )
        self.summary_prompt: PromptTemplate = load_prompt(
            "memory_summarizer", prompts.get("memory_summarizer")
        )

    # -- step 1: is memory needed? -------------------------------------------------------

    async def needs_memory(self, message: str, *, trace: Trace | None = None) -> bool:
        """Whether `message` needs archived memory: by configuration, or by asking the model.

        An answer that is neither yes nor no counts as yes: retrieving needlessly costs
        tokens, missing a memory costs the answer.
        """
        if self.mode != "ask":
            return self.mode == "always"
        if len(self.stream) == 0:
            return False
        reply = await self.llm.complete(
            self.decide_prompt.render(message=message),
            role="memory_controller",
            trace=trace,
            max_tokens=4,
            temperature=0.0,
        )
        word = re.match(r"\W*(\w+)", reply.text.lower())
        return not (word and word[1] in ("no", "n", "b"))

    # -- step 2 to 4: rank, add flash, fit the budget ------------------------------------

    def rank(self, query: str, *, exclude: set[int] | None = None) -> list[Activated]:
        """Archived items ranked by relevance + recency, best first (top_k of them)."""
        if self.top_k == 0:
            return []
        now = self.stream.turn
        ranked = []
        for item, relevance in self.stream.search(query, k=self.candidates, exclude=exclude or ()):
            recency = 0.5 ** (max(0, now - item.turn) / self.recency_half_life)
            score = relevance + self.recency_weight * recency
            ranked.append(Activated(item, relevance, recency, score))
        ranked.sort(key=lambda a: a.score, reverse=True)
        return ranked[: self.top_k]

    async def activate(
        self,
        query: str,
        *,
        budget_tokens: int,
        needed: bool = True,
        trace: Trace | None = None,
    ) -> ActivatedMemory:
        """The activated memory for `query`, at most `budget_tokens` tokens when rendered.

        Flash memory (the items of the latest turn) comes first in the budget; archived items
        follow by rank. When the full texts exceed the budget, the lowest-ranked are replaced
        by their summaries one at a time (flash memory last) until the whole fits; anything
        that still does not fit is dropped.
        """
        flash_items = self.stream.at_turn(self.stream.turn) if len(self.stream) else []
        flash = [Activated(it, flash=True) for it in flash_items]
        archived = self.rank(query, exclude={it.id for it in flash_items}) if needed else []
        memory = ActivatedMemory(archived=archived, flash=flash, needed=needed)
        count = self.stream.tokenizer.count

        def total() -> int:
            return count(memory.render()) if memory.all else 0

        # Summaries replace full text from the lowest-ranked archived item up, then flash.
        order = list(reversed(archived)) + list(reversed(flash))
        for act in order:
            if total() <= budget_tokens:
                break
            await self._summarize(act, trace)
        # Still too long: drop archived from the lowest rank, then flash.
        while memory.all and total() > budget_tokens:
            (memory.archived or memory.flash).pop()
            memory.dropped += 1
        memory.tokens = total()
        return memory

    async def _summarize(self, act: Activated, trace: Trace | None) -> None:
        item = act.item
        if item.summary is None:
            words = max(8, int(self.summary_tokens * 0.7))
            reply = await self.llm.complete(
                self.summary_prompt.render(content=item.content, words=words),
                role="memory_summarizer",
                trace=trace,
                max_tokens=self.summary_tokens,
                temperature=0.0,
            )
            summary = reply.text.strip() or item.content[:200]
            self.stream.set_summary(item.id, summary)
            item.summary, item.summary_tokens = summary, self.stream.tokenizer.count(summary)
        if (item.summary_tokens or 0) < item.tokens:
            act.as_summary = True
