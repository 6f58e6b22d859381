"""What a plan-then-write run's graph nodes share: the plan and sections in a `TextStore`.

AgentWrite and Report keep their text out of the graph state (so checkpoints stay small): the
plan is stored under ``"plan"`` and section i under ``"section/{i}"``, keyed by the run id. A
run's context object (passed as LangGraph runtime context) mixes `PlannedRun` in to read them
back, send progress events and assemble the Markdown text.

Deliberately not here: what each pipeline stores besides plan and sections.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from longweave.agents.plan import Section
from longweave.errors import CheckpointError
from longweave.pipelines.base import event_fields
from longweave.pipelines.checkpoint import TextStore
from longweave.text import count_words

log = logging.getLogger(__name__)


class PlannedRun:
    """Mixin for a run context with ``run_id``, ``store``, ``on_event``, ``plan``, ``plan_source``.

    A plan stored with ``"single": true`` is one piece written in one call; one stored with
    ``"headings": false`` is a short piece planned as paragraphs. Both are assembled without
    section headings (an email or a toast has none).
    """

    run_id: str
    store: TextStore
    on_event: Callable[[dict], None] | None
    plan: list[Section]
    plan_source: str
    single: bool = False
    headings: bool = True

    def emit(self, kind: str, **data: object) -> None:
        """Send a progress event to the caller's handler, if any."""
        log.info("%s %s: %s", self.run_id, kind, event_fields(data))
        if self.on_event is not None:
            self.on_event({"event": kind, **data})

    def load_plan(self) -> list[Section]:
        """The stored plan (read once, then cached)."""
        if not self.plan:
            stored = json.loads(self.store.get(self.run_id, "plan") or "null")
            if stored is None:
                raise CheckpointError(
                    f"run {self.run_id!r} has no plan stored; the checkpoint is inconsistent: delete it, "
                    "or use another checkpoint path, to start over."
                )
            self.plan = [Section(**s) for s in stored["sections"]]
            self.plan_source = stored["source"]
            self.single = bool(stored.get("single"))
            self.headings = bool(stored.get("headings", True)) and not self.single
        return self.plan

    def section(self, i: int) -> str | None:
        """Section i's stored text, or None when it is not written yet."""
        return self.store.get(self.run_id, f"section/{i}")

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
        """Words of the sections written so far (before `upto`), headings included."""
        return count_words(self.assemble(upto))

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
        plan, texts = self.load_plan(), self.written()[:upto]
        if not self.headings:
            return "\n\n".join(texts)
        return "\n\n".join(f"## {plan[i].title}\n\n{t}" for i, t in enumerate(texts))
