"""The Chain-of-Agents worker: reads one chunk and rewrites the communication unit (CU).

Worker i sees chunk i, the previous worker's CU and the query (Zhang et al., 2024, "Chain of
Agents: Large Language Models Collaborating on Long-Context Tasks"), and writes CU_i, which is
all the next worker and, finally, the manager will know. The same worker, with the
``worker_summary`` prompt and no query, builds a running summary for query-free tasks.

With a question, facts the previous notes held and the worker's reply dropped are put back
(`carry_forward`): a small instruct model often rewrites the notes from its own chunk alone,
or replies "no relevant information", and a fact lost early never reaches the manager; the
paper's workers are 8k-window models that keep them.

Deliberately not here: splitting the text, the order of workers, and budgets (the pipeline owns
them); this module only renders the prompt, calls the model and cleans the reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


_WORD = re.compile(r"[a-z0-9_]+")
_PIECE = re.compile(r"(?<=[.!?])\s+|\n+")
_STOP = set(
    "a an the of for in on at to by and or is are was were be been does do did what which who how "
    "that this these those it its from with as into about than then there not no".split()
)
_NOTHING = re.compile(
    r"^\W*(?:nothing|none|n/?a|"
    r"no (?:new |relevant |further |additional )*(?:information|facts?|notes?|details?)|"
    r"(?:the )?(?:source )?text (?:does not|doesn't) (?:contain|mention|say))\b",
    re.I,
)


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def carry_forward(
    previous: str, unit: str, query: str, max_tokens: int, count_tokens: Callable[[str], int]
) -> str:
    """CU_i with the pieces of CU_{i-1} the worker dropped put back before it, within `max_tokens`.

    A previous piece (a sentence or line) counts as kept when half its content words are in
    the new notes. A reply that says only that the chunk holds nothing keeps the previous
    notes. Over budget, the carried pieces that share fewest words with the question go first.
    """
    if _NOTHING.match(unit) and len(unit.split()) <= 12:
        unit = ""
    if not previous.strip():
        return unit
    have = _content(unit)
    carried = [
        p.strip()
        for p in _PIECE.split(previous)
        if p.strip() and len(_content(p) & have) < 0.5 * max(1, len(_content(p)))
    ]
    asked = _content(query)
    order = sorted(range(len(carried)), key=lambda i: (len(_content(carried[i]) & asked), i))
    dropped: set[int] = set()
    while True:
        kept = [c for i, c in enumerate(carried) if i not in dropped]
        text = "\n".join([*kept, unit]).strip()
        if count_tokens(text) <= max_tokens or len(dropped) == len(carried):
            return text
        dropped.add(order[len(dropped)])


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
    """Run one worker: chunk i plus CU_{i-1} in, CU_i out (at most `cu_tokens` tokens).

    With a query, facts of CU_{i-1} the reply dropped are carried into CU_i (`carry_forward`).
    """
    messages = render_worker(prompt, chunk, previous, query, cu_tokens)
    completion = await llm.complete(
        messages, role=role, trace=trace, max_tokens=cu_tokens, temperature=temperature
    )
    unit = clean_unit(completion.text)
    if query:
        unit = carry_forward(previous, unit, query, cu_tokens, llm.count_tokens)
    return unit


__all__ = ["WORDS_PER_TOKEN", "carry_forward", "clean_unit", "render_worker", "write_unit"]
