"""A rule-based report model: it plans, writes and fixes citations only from what its prompt holds.

`rule_reporter()` returns a `ScriptedLLM` that plays every agent of `longweave.Report` by
simple rules over the tagged parts of the packaged prompts:

- planner: one section per group of files in the corpus overview, titled by the group's first
  file's opening words, its point naming every opening in the group and the request;
- writer (and continuation): copies sentences of the ``<passages>`` it is shown, most relevant
  to the request, then to the section's title and point, first, each followed by its
  passage's citation, until the word budget is met; with ``fabricate=True`` it also invents
  a sentence citing a file that does not exist and cites one true sentence with another
  passage's label;
- citation reviser: re-cites the sentence to the shown passage that supports it, else DROP;
- citation judge: "yes" when the passage supports the claim by `supports`, else "no".

So a pipeline that fails to retrieve a passage, or loses it before the writer, cannot report
its facts, and every citation the model makes is one a checker can verify or refute. It is the
model the Report tests, benchmark and notebook use. It relies on the packaged prompts' wording
and tags: overriding those prompts needs a model of your own.
"""

from __future__ import annotations

import re

from longweave.agents.citations import content_stems, parse_sentence, supports
from longweave.llm.scripted import ScriptedLLM, prompt_text

_ENTRY = re.compile(r"^\[([^\[\]\n]+)\] (.+)$", re.M)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _between(text: str, tag: str) -> str:
    m = re.search(rf"<{tag}>\n?(.*?)\n?\s*</{tag}>", text, re.S)
    return m[1] if m else ""


def _passages(text: str) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in _ENTRY.finditer(_between(text, "passages"))]


def _plan(text: str) -> str:
    want = int(m[1]) if (m := re.search(r"into about (\d+) sections", text)) else 3
    target = int(m[1]) if (m := re.search(r"add up to (\d+) words", text)) else 1500
    request = text.split("Report request:", 1)[-1].split("The source documents", 1)[0]
    asked = " ".join(request.split())[:160]
    files = re.findall(r"^- (?!\.\.\. )(.+?): (.*)$", text.split("open with:", 1)[-1], re.M)
    if not files:
        return "I cannot plan this."
    n = max(1, min(want, len(files)))
    lines = []
    for k in range(n):
        group = files[k::n]
        opening = re.sub(r"[^\w\s,]", "", group[0][1])
        title = " ".join(opening.split()[:5]) or group[0][0]
        point = "; ".join(re.sub(r"\s[-–—]\s", ", ", o) for _, o in group) + f"; as asked: {asked}"
        lines.append(f"{k + 1}. Title: {title} - Main Point: {point} - Word Count: {target // n} words")
    return "\n".join(lines)


def _write(text: str, fabricate: bool) -> str:
    m = re.search(r'(?:Now write section \d+ of \d+, |You are writing the section )"([^"]*)": (.*)', text)
    focus = content_stems(f"{m[1]} {m[2]}") if m else set()
    request = (
        text.split("Report request:", 1)[1].split("Report plan:", 1)[0] if "Report request:" in text else ""
    )
    asked = content_stems(request)
    words = int(w[1]) if (w := re.search(r"about (\d+) (?:more )?words", text)) else 200
    so_far = text.split("The section so far ends with:", 1)[1] if "so far ends with:" in text else ""
    ranked, seen = [], set()
    for order, (label, passage) in enumerate(_passages(text)):
        for k, sentence in enumerate(s.strip() for s in _SENTENCE.split(passage)):
            if len(sentence.split()) >= 3 and sentence not in so_far and sentence not in seen:
                seen.add(sentence)
                stems = content_stems(sentence)
                ranked.append((-2 * len(stems & asked) - len(stems & focus), k, order, sentence, label))
    ranked.sort()
    out, count = [], 0
    for _, _, _, sentence, label in ranked:
        if count >= words:
            break
        out.append(f"{sentence.rstrip('.')} [{label}].")
        count += len(out[-1].split())
    if fabricate and out:
        title = m[1] if m else "the subject"
        out.insert(1, f"The ledger of {title} lists 7,341 unrecorded shipments [archive/ghost.txt, ¶3].")
        _, _, _, sentence, label = ranked[0]
        source = label.rsplit(",", 1)[0]
        other = next((lb for *_, lb in ranked if lb.rsplit(",", 1)[0] != source), None)
        if other is not None:  # a true sentence, cited to another file
            out.insert(2, f"{sentence.rstrip('.')} [{other}].")
    return " ".join(out) or "The passages shown say nothing on this."


def _revise(text: str) -> str:
    claim = parse_sentence(_between(text, "sentence").strip()).claim
    for label, passage in _passages(text):
        if supports(claim, passage) is None:
            return f"{claim.rstrip('.')} [{label}]."
    return "DROP"


def rule_reporter(
    *, plan: str | None = None, fabricate: bool = False, latency: float = 0.0, context_window: int = 32768
) -> ScriptedLLM:
    """A `ScriptedLLM` that plays Report's agents by rules, from its prompts only.

    Args:
        plan: a fixed reply to the planner (numbered plan lines) instead of the rule's plan.
        fabricate: the writer adds a citation to a missing file and a misattributed one per
            section, to exercise the citation checker.
        latency: seconds per call.
        context_window: the window it claims.

    Example:
        >>> llm = rule_reporter()
        >>> prompt = ('Now write section 1 of 1, "Lakes": depth\\nWrite about 5 words\\n'
        ...           "<passages>\\n[lake.txt, ¶1] Lake Orla is 40 metres deep.\\n</passages>")
        >>> llm.complete_sync(prompt).text
        'Lake Orla is 40 metres deep [lake.txt, ¶1].'
    """

    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "Break down the following report request" in text or "could not be used" in text:
            return plan if plan is not None else _plan(text)
        if "This sentence of the report does not hold" in text:
            return _revise(text)
        if "Does the passage state what the claim says" in text:
            claim = _between(text, "claim").strip()
            return "yes" if supports(claim, _between(text, "passage")) is None else "no"
        if "<passages>" in text:
            return _write(text, fabricate)
        return "I cannot help with this."

    return ScriptedLLM(respond, latency=latency, model="rule-reporter", context_window=context_window)


__all__ = ["rule_reporter"]
