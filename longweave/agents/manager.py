"""The Chain-of-Agents manager: answers (or summarises) from the last communication unit alone.

The manager never sees the source; only CU_l, the last worker's notes (Zhang et al., 2024).
With a question, the answer phrase is read out of its reply (`longweave.agents.answers`).
Deliberately not here: any access to chunks, which would break that contract.
"""

from __future__ import annotations

from longweave.agents.answers import as_answer
from longweave.llm import LLM, Trace
from longweave.prompts import PromptTemplate


def clean_answer(text: str) -> str:
    """A reply as an answer: trimmed, with a leading "Answer:" label removed."""
    text = text.strip()
    for label in ("Answer:", "Summary:"):
        if text.startswith(label):
            text = text[len(label) :].lstrip()
    return text


def render_manager(prompt: PromptTemplate, notes: str, query: str | None) -> list[dict]:
    values = {"notes": notes or "(no notes)"}
    if "query" in prompt.variables:
        values["query"] = query or ""
    return prompt.render(**values)


async def answer_from_unit(
    llm: LLM,
    prompt: PromptTemplate,
    *,
    notes: str,
    query: str | None,
    max_tokens: int,
    temperature: float = 0.0,
    trace: Trace | None = None,
) -> str:
    """The manager's answer phrase ("unknown" for a refusal), or the final summary, from the last CU."""
    completion = await llm.complete(
        render_manager(prompt, notes, query),
        role="manager",
        trace=trace,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    if query is None:
        return clean_answer(completion.text)
    instructions = "\n".join(m["content"] for m in render_manager(prompt, "", ""))
    return as_answer(completion.text, query, instructions=instructions, shown=notes)


__all__ = ["answer_from_unit", "clean_answer", "render_manager"]
