"""A rule-based reading model: it can only answer from what its prompt contains.

`rule_reader()` returns a `ScriptedLLM` that plays every reading agent by simple rules over
the tagged sections of longweave's packaged prompts (``<source>``, ``<previous_notes>``,
``<notes>``, ``<passages>``, ``<document>``, ``<evidence>``, ``<question>``):

- worker: keeps the previous notes and copies every sentence of its chunk that shares at least
  two content words with the question, or names someone the notes (or those sentences) name;
- extractor: quotes the sentences that qualify the same way, verbatim (plus a fabricated one
  if asked, to exercise verification);
- manager, reader, reasoner: answer a needle question (`longweave.eval.needles.solve`) from
  their own prompt section, else "unknown".

So a pipeline that drops, truncates or misroutes text gets the answer wrong. It is the model
the tests and the reading benchmark use for accuracy. It relies on the packaged prompts' tags:
overriding those prompts needs a model of your own.
"""

from __future__ import annotations

import re

from longweave.eval.needles import solve
from longweave.llm.scripted import ScriptedLLM, prompt_text

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9]+")
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]+")
_STOP = set(
    "a an the of for in on at to by and or is are was were be been does do did what which who whom "
    "whose where when why how that this these those it its from with as into about than then there "
    "their they he she his her him we you your our i me my".split()
)


def _section(text: str, tag: str) -> str | None:
    m = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", text, re.S)
    return m[1] if m else None


def key_terms(question: str) -> set[str]:
    """The question's content words (lower-case, no stop words)."""
    return {w for w in _WORD.findall(question.lower()) if w not in _STOP and len(w) > 2}


def relevant_sentences(text: str, question: str, names: set[str] = frozenset()) -> list[str]:
    """Sentences sharing two content words with `question`, or naming one of `names`."""
    terms = key_terms(question)
    need = min(2, len(terms))
    out = []
    for sentence in _SENTENCE.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        words = set(_WORD.findall(sentence.lower()))
        if (need and len(terms & words) >= need) or (
            names and set(re.findall(r"[A-Z][a-z]+", sentence)) & names
        ):
            out.append(sentence)
    return out


def _names(text: str) -> set[str]:
    """Capitalised words not at a sentence start: the names a text mentions."""
    return set(_NAME.findall(text)) | {m[1] for m in re.finditer(r"\bby ([A-Z][a-z]+)", text)}


def rule_reader(
    *, fabricate: str | None = None, latency: float = 0.0, context_window: int = 8192
) -> ScriptedLLM:
    """A `ScriptedLLM` that reads by rules, answering only from its prompt.

    Args:
        fabricate: a quote the extractor adds that is in no source (to test verification).
        latency: seconds per call.
        context_window: the window it claims.

    Example:
        >>> llm = rule_reader()
        >>> prompt = "<passages>\\nThe secret code for the jade key is ember-1234.\\n</passages>"
        >>> llm.complete_sync(prompt + "<question>What is the secret code for the jade key?</question>").text
        'ember-1234'
    """

    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        question = _section(text, "question") or ""
        source = _section(text, "source")
        if source is not None:
            previous = _section(text, "previous_notes") or ""
            previous = "" if previous.startswith("(") else previous
            if not question:  # summary: keep the first sentence of every chunk
                first = _SENTENCE.split(source.strip(), maxsplit=1)[0]
                return f"{previous} {first}".strip()
            found = relevant_sentences(source, question, _names(previous))
            # A second pass picks up facts about names this very chunk introduced.
            found += [
                s for s in relevant_sentences(source, question, _names(" ".join(found))) if s not in found
            ]
            kept = [s for s in found if s not in previous]
            return " ".join([previous, *kept]).strip() or "(nothing relevant yet)"
        document = _section(text, "document")
        if document is not None:
            found = relevant_sentences(document, question)
            found += [
                s for s in relevant_sentences(document, question, _names(" ".join(found))) if s not in found
            ]
            if fabricate:
                found.append(fabricate)
            return "\n".join(f"> {s}" for s in found) or "> NONE"
        for tag in ("notes", "evidence", "passages"):
            context = _section(text, tag)
            if context is not None:
                if not question:
                    return context
                return solve(question, context) or "unknown"
        return "unknown"

    return ScriptedLLM(respond, latency=latency, model="rule-reader", context_window=context_window)


__all__ = ["key_terms", "relevant_sentences", "rule_reader"]
