"""Answering from text in the prompt: passages (RAG, full context) or verified evidence (ALR^2).

The reader answers from retrieved or whole-document passages; the reasoner is ALR^2's second
stage (Li et al., 2024, "ALR^2: A Retrieve-then-Reason Framework for Long-context Question
Answering"): it sees only the quotes that survived verification, never the document.

Both read the answer phrase out of the reply (`longweave.agents.answers.extract_answer`)
and return "unknown" for a refusal and for a reply that only echoes the prompt's own words.
When the reader, shown all passages, does not know, it is asked again with the best passages
one at a time: models use a long context worse than a short one and are misled by near-miss
passages (Liu et al., 2023, "Lost in the Middle"; Jin et al., 2024, "Long-Context LLMs Meet
RAG", hard negatives). Each re-read costs one short call; RAG and RetrieveThenReason choose
how many (3 by default).

Deliberately not here: retrieval and quote checking (see `longweave.agents.extractor`).
"""

from __future__ import annotations

from collections.abc import Sequence

from longweave.agents.answers import UNKNOWN, as_answer, content_words
from longweave.llm import LLM, Trace
from longweave.prompts import PromptTemplate
from longweave.text.headings import without_section_lines


def instructions_of(prompt: PromptTemplate, **empty: str) -> str:
    """The prompt's own words: rendered with its inputs left empty."""
    return "\n".join(m["content"] for m in prompt.render(**empty))


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
    reread: Sequence[str] = (),
) -> str:
    """The reader: answer `query` from `context` (retrieved passages or the whole document).

    Args:
        reread: passages, best first, to show one at a time while the answer is "unknown"
            (empty: one call only).
    """
    answer = UNKNOWN
    instructions = instructions_of(prompt, context="", query="")
    for shown in [context, *(format_passages([p]) for p in reread)]:
        completion = await llm.complete(
            prompt.render(context=shown, query=query),
            role="reader",
            trace=trace,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        answer = as_answer(completion.text, query, instructions=instructions, shown=shown)
        if answer != UNKNOWN:
            break
    return answer


def off_topic(answer: str, quotes: Sequence[str], query: str) -> bool:
    """Whether `answer` was read out of quotes that share no content word with `query`.

    A quote the extractor chose wrongly can still be verbatim: asked for the period of the
    random module's generator, the 1.5B Qwen2.5-Coder quoted "The underlying implementation in
    C is both fast and threadsafe." and its reasoner answered "both fast and threadsafe". A
    quote that answers a question nearly always names something the question names. An answer
    found in no quote (put together from several) is not judged.

    Example:
        >>> off_topic("both fast and threadsafe", ["The implementation is both fast and threadsafe."],
        ...           "What is the period of the core generator?")
        True
    """
    words = content_words(answer)
    holding = [q for q in quotes if words and words <= content_words(q)]
    asked = {w[:5] for w in content_words(query)}
    return bool(holding) and not any(asked & {w[:5] for w in content_words(q)} for q in holding)


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
    """ALR^2 stage two: answer from the verified quotes alone.

    "unknown" for a refusal, and for an answer read out of quotes that do not bear on the
    question (`off_topic`), so the pipeline falls back as it does when the reasoner does not know.
    """
    evidence = "\n".join(f"- {q}" for q in quotes) if quotes else "(no evidence was found)"
    completion = await llm.complete(
        prompt.render(evidence=evidence, query=query),
        role="reasoner",
        trace=trace,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    instructions = instructions_of(prompt, evidence="", query="")
    answer = as_answer(completion.text, query, instructions=instructions, shown=evidence)
    own_words = [without_section_lines(q) for q in quotes]  # a quote's section is not its words
    return UNKNOWN if off_topic(answer, own_words, query) else answer


__all__ = ["answer_from_passages", "format_passages", "instructions_of", "off_topic", "reason_over_evidence"]
