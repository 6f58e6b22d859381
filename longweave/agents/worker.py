"""The Chain-of-Agents worker: reads one chunk and rewrites the communication unit (CU).

Worker i sees chunk i, the previous worker's CU and the query (Zhang et al., 2024, "Chain of
Agents: Large Language Models Collaborating on Long-Context Tasks"), and writes CU_i, which is
all the next worker and, finally, the manager will know. The same worker, with the
``worker_summary`` prompt and no query, builds a running summary for query-free tasks.

Deliberately not here: splitting the text, the order of workers, and budgets (the pipeline owns
them); this module only renders the prompt, calls the model and cleans the reply.
"""

from __future__ import annotations

from longweave.llm import LLM, Trace
from longweave.prompts import PromptTemplate

# A CU budget in tokens becomes a word limit in the prompt: about 0.75 English words a token.
WORDS_PER_TOKEN = 0.75


def render_worker(
    prompt: PromptTemplate, chunk: str, previous: str, query: str | None, cu_tokens: int
) -> list[dict]:
    """The worker's messages; `query` None renders a query-free (summary) prompt."""
    values = {
        "chunk": chunk,
        "previous": previous or "(none yet)",
        "cu_words": int(cu_tokens * WORDS_PER_TOKEN),
    }
    if "query" in prompt.variables:
        values["query"] = query or ""
    return prompt.render(**values)


def clean_unit(text: str) -> str:
    """A worker's reply as the next CU: trimmed, with a leading "Notes:" label removed."""
    text = text.strip()
    for label in ("Notes:", "Summary:"):
        if text.startswith(label):
            text = text[len(label) :].lstrip()
    return text


async def write_unit(
    llm: LLM,
    prompt: PromptTemplate,
    *,
    chunk: str,
    previous: str,
    query: str | None,
    cu_tokens: int,
    temperature: float = 0.0,
    trace: Trace | None = None,
    role: str = "worker",
) -> str:
    """Run one worker: chunk i plus CU_{i-1} in, CU_i out (at most `cu_tokens` tokens)."""
    messages = render_worker(prompt, chunk, previous, query, cu_tokens)
    completion = await llm.complete(
        messages, role=role, trace=trace, max_tokens=cu_tokens, temperature=temperature
    )
    return clean_unit(completion.text)


__all__ = ["WORDS_PER_TOKEN", "clean_unit", "render_worker", "write_unit"]
