"""Answering from text in the prompt: passages (RAG, full context) or verified evidence (ALR^2).

The reader answers from retrieved or whole-document passages; the reasoner is ALR^2's second
stage (Li et al., 2024, "ALR^2: A Retrieve-then-Reason Framework for Long-context Question
Answering"): it sees only the quotes that survived verification, never the document.

Deliberately not here: retrieval and quote checking (see `longweave.agents.extractor`).
"""

from __future__ import annotations

from collections.abc import Sequence

from longweave.agents.manager import clean_answer
from longweave.llm import LLM, Trace
from longweave.prompts import PromptTemplate


def format_passages(passages: Sequence[str]) -> str:
    """Passages numbered in the order given, separated by blank lines."""
    return "\n\n".join(f"[{i}] {p.strip()}" for i, p in enumerate(passages, 1))


async def answer_from_passages(
    llm: LLM,
    prompt: PromptTemplate,
    *,
    context: str,
    query: str,
    max_tokens: int,
    temperature: float = 0.0,
    trace: Trace | None = None,
) -> str:
    """The reader: answer `query` from `context` (retrieved passages or the whole document)."""
    completion = await llm.complete(
        prompt.render(context=context, query=query),
        role="reader",
        trace=trace,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    return clean_answer(completion.text)


async def reason_over_evidence(
    llm: LLM,
    prompt: PromptTemplate,
    *,
    quotes: Sequence[str],
    query: str,
    max_tokens: int,
    temperature: float = 0.0,
    trace: Trace | None = None,
) -> str:
    """ALR^2 stage two: answer from the verified quotes alone."""
    evidence = "\n".join(f"- {q}" for q in quotes) if quotes else "(no evidence was found)"
    completion = await llm.complete(
        prompt.render(evidence=evidence, query=query),
        role="reasoner",
        trace=trace,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    return clean_answer(completion.text)


__all__ = ["answer_from_passages", "format_passages", "reason_over_evidence"]
