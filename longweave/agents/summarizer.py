"""The rolling summary: what is written so far, in a bounded number of tokens.

AgentWrite as published resends the whole text written so far with every section, so a
20-section piece resends about 100k words. We keep a running summary instead: after each
section the model folds the new section into the previous summary. If the model's summary is
empty or runs over its budget, an extractive one is used (the first sentence of each new
paragraph, appended, oldest dropped first), so the summary is always bounded.

Deliberately not here: the verbatim tail of the previous section (the pipeline adds it).
"""

from __future__ import annotations

import re

from longweave.llm import LLM, Trace
from longweave.prompts import PromptTemplate


class Summarizer:
    """Folds each new section into a bounded running summary.

    Args:
        llm: the model.
        prompt: variables summary, title, section, words.
        max_tokens: the summary's budget in tokens (default 400).
        section_tokens: how much of a new section the prompt shows (its head and its end).
        use_model: False gives the extractive summary only (no model calls).
    """

    def __init__(
        self,
        llm: LLM,
        prompt: PromptTemplate,
        *,
        max_tokens: int = 400,
        section_tokens: int = 1500,
        use_model: bool = True,
    ) -> None:
        self.llm = llm
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.section_tokens = section_tokens
        self.use_model = use_model

    async def update(self, summary: str, title: str, section: str, *, trace: Trace | None = None) -> str:
        """The summary after `section`, within `max_tokens` tokens."""
        if self.use_model:
            messages = self.prompt.render(
                summary=summary or "(nothing yet)",
                title=title,
                section=self._shorten(section),
                words=int(self.max_tokens / 1.4),
            )
            reply = await self.llm.complete(
                messages, role="summarizer", trace=trace, max_tokens=self.max_tokens, temperature=0.2
            )
            text = reply.text.strip()
            if reply.finish_reason != "length" and re.search(r"[^\W\d_]{2,}", text):
                return text
        return self.extractive(summary, title, section)

    def extractive(self, summary: str, title: str, section: str) -> str:
        """Previous summary plus the first sentence of each paragraph, cut from the front."""
        firsts = [
            re.split(r"(?<=[.!?])\s", p.strip(), maxsplit=1)[0] for p in section.split("\n\n") if p.strip()
        ]
        text = (summary + "\n" if summary else "") + f"{title}: " + " ".join(firsts)
        ids = self.llm.tokenizer.encode(text)
        if len(ids) <= self.max_tokens:
            return text
        cut = self.llm.tokenizer.decode(ids[-self.max_tokens :])
        return cut[cut.find(" ") + 1 :]

    def _shorten(self, section: str) -> str:
        ids = self.llm.tokenizer.encode(section)
        if len(ids) <= self.section_tokens:
            return section
        half = self.section_tokens // 2
        tok = self.llm.tokenizer
        return tok.decode(ids[:half]) + " [...] " + tok.decode(ids[-half:])


__all__ = ["Summarizer"]
