"""Reading the answer phrase out of a reply, and telling an "unknown" apart from an answer.

Small instruct models asked for "a name, a number or a short phrase" still reply in
sentences: "Based on the passages, the answer is 128.", "The default maxsize of
functools.lru_cache is 128.", "**IndexError** is raised." Extractive QA is scored on the
phrase (SQuAD-style exact match and F1, Rajpurkar et al., 2016), and a pipeline that falls
back when the model does not know must recognise "The passages do not mention it." as not
knowing. `extract_answer` strips lead-ins, labels, markdown and restatements of the question;
`is_unknown` recognises refusals; `echoes` recognises a reply copied from the instructions
("a name" when asked for "a name, a number or a short phrase"); `restates` recognises a reply
that only names what the question is about ("collections.Counter" when asked what Counter is
a subclass of); `as_answer` does all four, as every reading agent does.

Deliberately not here: judging whether an answer is right (see `longweave.eval.qa`) and any
model call; both functions are pure string rules, so a reply they cannot shorten comes back
whole rather than cut wrong.
"""

from __future__ import annotations

import re

UNKNOWN = "unknown"

_WORD = re.compile(r"[a-z0-9_]+")
_STOP = set(
    "a an the of for in on at to by and or is are was were be been does do did what which who whom "
    "whose where when why how that this these those it its from with as into about than then there "
    "their they if not".split()
)
_SOURCE = r"(?:passages?|text|texts|evidence|notes|documents?|context|information|quotes?|sources?)"
_LABEL = re.compile(r"^(?:final answer|short answer|answer|a)\s*[:\-]\s*", re.I)
_LEAD_IN = re.compile(
    rf"^(?:based (?:up)?on|according to|from|given|using|in|per)\s+(?:the\s+|these\s+|this\s+|those\s+)?"
    rf"(?:provided\s+|given\s+|above\s+|quoted\s+)?{_SOURCE}\b[^,:]*[,:]\s*",
    re.I,
)
_SAYS = re.compile(
    rf"^(?:the|these|this)\s+{_SOURCE}\s+(?:says?|states?|mentions?|indicates?|shows?|explains?)"
    r"(?:\s+that)?[,:]?\s+",
    re.I,
)
_THE_ANSWER = re.compile(
    r"^(?:so\s+|therefore,?\s+|thus,?\s+)?(?:the\s+)?(?:short\s+|final\s+|correct\s+)?answer"
    r"(?:\s+to\s+(?:the|your|this)\s+question)?\s*(?:is|would be|:)\s*:?\s*",
    re.I,
)
_COPULA = re.compile(r"\s(?:is|are|was|were)\s")
_CONDITIONAL = re.compile(r"^(?:if|when|whenever|unless|while|because|since)\b", re.I)
_BOLD = re.compile(r"(?<!\w)\*\*(?=\S)(.+?)(?<=\S)\*\*(?!\w)")
_WRAP = "\"'`*“”‘’"
_REFUSAL_STARTS = ("unknown", "i dont know", "i do not know", "no answer", "not known")
_REFUSALS = (
    "cannot be determined",
    "cannot determine",
    "not enough information",
    "no information",
    "not mentioned",
    "not provided",
    "not specified",
    "not stated",
    "not given",
    "not found",
)
_SRC = r"(?:passages?|text|evidence|notes|documents?|context|quotes?)"
_SOURCE_SILENT = re.compile(
    rf"\b{_SRC}\b[^.]*?\b(?:do|does|did|can|could)\s*(?:not|n't)\b"
    rf"|\b(?:not|no)\b[^.]*?\b(?:in|from|by)\s+(?:the\s+|these\s+|this\s+)?(?:provided\s+|given\s+)?{_SRC}\b"
    rf"|\bno\s+(?:\w+\s+)?{_SRC}\b|\b{_SRC}\b[^.]*?\b(?:contains?|mentions?|says?|provides?)\s+no\b",
    re.I,
)


def content_words(text: str) -> set[str]:
    """The lower-case words of `text` that are not stop words ("the", "which", "is"...)."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _stems(words: set[str]) -> set[str]:
    return {w[:4] for w in words}


def _first_answer_line(reply: str) -> str:
    """The first line that carries an answer: lead-in lines ("Based on the text:") skipped,
    a bulleted list joined with "and"."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    while len(lines) > 1 and lines[0].endswith(":") and len(lines[0].split()) <= 12:
        lines.pop(0)
    if not lines:
        return ""
    bullet = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
    if bullet.match(lines[0]):
        items = []
        for line in lines:
            if not bullet.match(line):
                break
            items.append(bullet.sub("", line))
        return " and ".join(items)
    return lines[0]


def _unwrap(text: str) -> str:
    text = _BOLD.sub(r"\1", text.strip()).replace("`", "")
    text = text.rstrip(".").strip()
    while len(text) >= 2 and text[0] in _WRAP and text[-1] in _WRAP:
        text = text[1:-1].strip()
    return text


def _drop_restated_question(text: str, query: str) -> str:
    """ "The default width of textwrap.wrap is 70" -> "70" when the left side restates the question;
    "IndexError is raised" -> "IndexError" when the right side is the question's own verb."""
    asked = content_words(query)
    if not asked or _CONDITIONAL.match(text):
        return text
    for m in _COPULA.finditer(text):
        left, right = text[: m.start()], text[m.end() :]
        left_words, right_words = content_words(left), content_words(right)
        short = len(right.split()) <= 10
        if left_words and short and right.strip() and len(left_words & asked) >= 0.75 * len(left_words):
            return right.strip()
        if right_words and left.strip() and _stems(right_words) <= _stems(asked) and len(left.split()) <= 4:
            return left.strip()
    return text


def extract_answer(reply: str, query: str | None = None) -> str:
    """The answer phrase of a chatty reply; the reply itself when no rule applies.

    Example:
        >>> extract_answer("Based on the passages, the answer is **128**.")
        '128'
        >>> extract_answer("The default width of wrap is 70.", "What is the default width of wrap?")
        '70'
    """
    text = _first_answer_line(reply)
    for _ in range(3):  # lead-ins stack: "Answer: Based on the text, the answer is X"
        before = text
        text = _unwrap(text)
        for pattern in (_LABEL, _LEAD_IN, _SAYS, _THE_ANSWER):
            text = pattern.sub("", text, count=1)
        if text == before:
            break
    if query:
        text = _unwrap(_drop_restated_question(text, query))
    text = _unwrap(text)
    return text or reply.strip()


def is_unknown(answer: str) -> bool:
    """Whether a reply says the text does not hold the answer (or is empty).

    A refusal phrase ("not specified") counts only at the start of a short reply, or in one
    that names the text ("the passages do not say"): the docs' own wording ("None if not
    given", "if maxlen is not specified") is an answer, not a refusal.

    Example:
        >>> is_unknown("The passages do not mention it."), is_unknown("IndexError")
        (True, False)
    """
    flat = " ".join("".join(ch for ch in answer.lower() if ch.isalnum() or ch.isspace()).split())
    if not flat:
        return True
    if flat.startswith(_REFUSAL_STARTS) and len(flat.split()) <= 8:
        return True
    lead = re.sub(r"^(?:it is|its|this is|that is|answer is|information is)\s+", "", flat)
    if len(flat.split()) <= 8 and lead.startswith(_REFUSALS):
        return True
    return bool(_SOURCE_SILENT.search(answer))


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _holds(text: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(text[i : i + n] == phrase for i in range(len(text) - n + 1))


def echoes(answer: str, instructions: str, shown: str) -> bool:
    """Whether `answer` is words of the prompt's instructions that the text shown does not hold.

    Small models echo their instructions: asked for "a name, a number or a short phrase",
    the 0.5B Qwen2.5-Coder answered "a name" or "a number" to 4 of 15 questions on the
    Python docs through RAG, and to 5 through RetrieveThenReason.

    Example:
        >>> echoes("a name", "Answer with a name or a number.", "heappop raises IndexError")
        True
    """
    words = _words(answer)
    return bool(words) and _holds(_words(instructions), words) and not _holds(_words(shown), words)


_CHOICE = re.compile(r"\w\s+or\s+\w", re.I)


def _root(word: str) -> str:
    """`word` without a plural or verb ending ("runs" -> "run", "raised" -> "rais")."""
    for end in ("ing", "ed", "es", "s"):
        if word.endswith(end) and len(word) - len(end) >= 3:
            return word[: -len(end)]
    return word


def restates(answer: str, query: str) -> bool:
    """Whether `answer` only repeats words of `query`: it names the question's subject, not its answer.

    The 0.5B Qwen2.5-Coder, asked "A collections.Counter is a subclass of which built-in type?",
    answered "collections.Counter"; asked what FrozenInstanceError subclasses, "the exception
    dataclasses.FrozenInstanceError"; asked which function bisect.insort runs first, "bisect.insort
    runs first to locate an insertion point". A question that offers a choice ("X or Y?") is answered
    by its own words, so it never counts.

    Example:
        >>> restates("collections.Counter", "A collections.Counter is a subclass of which type?")
        True
        >>> restates("contextlib.chdir", "Which came later: functools.cache or contextlib.chdir?")
        False
    """
    words = {_root(w) for w in content_words(answer)}
    asked = {_root(w) for w in content_words(query)}
    return bool(words) and words <= asked and not _CHOICE.search(query)


def as_answer(reply: str, query: str | None = None, *, instructions: str = "", shown: str = "") -> str:
    """The answer phrase of a reply, or "unknown" when it is a refusal, echoes `instructions` or
    only restates `query`.

    Example:
        >>> as_answer("Based on the passage, the answer is ember-1234."), as_answer("Not mentioned.")
        ('ember-1234', 'unknown')
    """
    answer = extract_answer(reply, query)
    echoed = bool(instructions) and echoes(answer, instructions, f"{shown} {query or ''}")
    if is_unknown(answer) or echoed or (query and restates(answer, query)):
        return UNKNOWN
    return answer


__all__ = ["UNKNOWN", "as_answer", "content_words", "echoes", "extract_answer", "is_unknown", "restates"]
