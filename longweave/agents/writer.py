"""The writer: one planned section in, its text out, held near its word budget.

After LongWriter (Bai et al., 2024), AgentWrite step II: each call writes the next section
from the instruction, the plan and what is already written. On top of the paper, the writer
controls length, because models (small ones especially) stop early or run on:

- the call's ``max_tokens`` is sized from the word budget (``tokens_per_word``, default 1.4,
  plus a margin), so a section cannot run far past it, and its ``min_tokens`` (honoured by
  llama.cpp; vLLM has the same parameter) keeps an instruct model from ending its turn before
  about ``short`` of the budget, so one call usually writes the whole section: a continuation
  costs a new prompt, which on a CPU takes as long as a third of the section's decoding;
- a section far short of its budget (under ``short``, default 85%) is continued with a
  prompt showing its end, at most ``max_continues`` times (continuing in place, the first
  prompt plus the text so far as the start of the reply, was measured and lost: see
  BENCHMARKS.md, issue 14);
- a section far over (beyond ``long``, default 115%) is cut at a sentence end;
- a reply that is empty or reads as an error or refusal is retried, at most ``max_retries``
  times, then `SectionFailed` is raised. Such a reply is never kept as text (the original
  AgentWrite script saves "Max tries. Failed." as a paragraph).

Instruct models stop early, echo their prompt and repeat themselves, so a reply is cleaned
before it is counted (`clean`): sentences already written (in this section or, given ``seen``,
in earlier ones) are dropped, so looping output does not pass for length and no passage
appears twice; so are sentences that copy our own prompt wording (any run of
``ECHO_NGRAM`` words of the prompt templates' fixed text, "section 3 of 8", "about 900 more
words"), plan lines and, in a section of a longer piece, headings (the pipeline adds its own).
Backends that can (llama.cpp) are asked to stop a reply as soon as it repeats
``REPEAT_STOP_TOKENS`` tokens, so a loop does not cost its tokens either.

A continuation that adds little (under a quarter of what it was asked for, after cleaning)
switches strategy: the next call asks for a new passage that follows on and adds something not
yet said, instead of continuing in place (a small model asked to continue often restates its
last paragraph, which cleaning then removes). Every call has its own seed, so a re-ask is
never byte-identical to the call that just failed.

Deliberately not here: which context the writer sees (the pipeline builds it, bounded or full)
and where text is stored.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from longweave.errors import BudgetError, SectionFailed
from longweave.llm import LLM, Trace
from longweave.prompts import PromptTemplate
from longweave.text import count_words, word_spans
from longweave.text.language import write_in

_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*(?=\s|$)")
_FAILURE = re.compile(
    r"^\W*(?:error\b|max tries|failed\b|exception\b|traceback\b|i'?m sorry|i am sorry|sorry, i|"
    r"i can(?:'|no)t\b|i cannot\b|as an ai\b|i am unable|i'?m unable)",
    re.I,
)
CJK_TOKENS_PER_CHAR = 0.8  # Qwen2.5's tokenizer: 200 tokens for 270 characters of Chinese prose
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
REPEAT_STOP_TOKENS = 24  # backends that can (llama.cpp) stop a reply repeating this many tokens
# ... of itself, or of the section it continues (only that: stopping a first call that opens by
# quoting the summary of earlier sections halved a 1,500-word story's length, 1,250 -> 750 words).
REPEAT_CONTEXT_TOKENS = 3000
_SPECIAL_TOKEN = re.compile(r"<(?:start|end)_of_\w+>|</?(?:bos|eos|pad|unk|s)>")  # leaked control tokens
_ECHO_LINE = re.compile(r"^\s*#{3}\s.*$", re.M)  # plain-prompt headings a base model echoes
_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s[^\n]*$", re.M)
_PLAN_LINE = re.compile(
    r"^\s*(?:\d{1,3}[.)]\s+[^\n]{0,160}\(\d[\d,]*\s+words\)[^\n]*|"
    r"\s*(?:[-*]\s*)?(?:\d{1,3}[.)]\s*)?(?:\*\*)?(?:title|main\s*point|word\s*count)(?:\*\*)?\s*[:：][^\n]*)$",
    re.I | re.M,
)
_PROMPT_TALK = re.compile(
    r"\b(?:section|part)\s+\d+\s+of\s+\d+\b|\b\d[\d,]*\s+more\s+words\b|\bword\s+(?:count|budget)\b|"
    r"\bwriting\s+(?:instruction|plan)\b|\bwhat\s+is\s+(?:already\s+)?written\s+so\s+far\b|"
    r"\bsections?\s+(?:already\s+)?written\b|\bnothing\s+is\s+written\s+yet\b|"
    r"\b(?:previous|next|last|this)\s+section\s+(?:so\s+far\s+)?ends\s+with\b|"
    r"\bthis\s+section\s+(?:is|will\s+be)\s+the\s+\w+\s+(?:one\s+)?of\b|"
    # a reply that announces itself ("Continuing section 1 of our article", "Aquí tienes la
    # sección 1 del artículo"): the 0.5B's continuations of a Spanish article
    r"\bcontinu\w*\s+(?:with\s+)?(?:the\s+)?(?:section|sección|abschnitt)\b|"
    r"\b(?:here\s+is|here's|aquí\s+tienes|voici)\s+(?:the\s+|la\s+|el\s+)?(?:section|sección|article|artículo)\b",
    re.I,
)
# What a chat assistant says to its user, not prose of the piece: a small instruct model asked to
# continue a section thanks, apologises, offers more help or tags its reply (story-1500 traces:
# "I'm glad you found the information helpful!", "#SafetyResponse #SafetyPrecautions ...").
_ASSISTANT_TALK = re.compile(
    r"\b(?:if you have any (?:other|more|further) questions|feel free to (?:ask|reach out|let me know)|"
    r"i'?m glad (?:you|i could|to help)|i hope (?:this|that|it) helps|let me know if you|"
    r"is there anything else|good luck with your|happy to (?:help|assist)|i'?d be (?:happy|glad) to|"
    r"(?:can'?t|cannot|unable to) (?:assist|help) with|thank you for (?:sharing|your (?:request|question))|"
    r"please continue (?:from|with)|please let me know|i'?m here to (?:help|assist)|happy writing\b|"
    r"as an ai\b)|(?:#\w+\W*){3,}",
    re.I,
)
# The words the pipelines frame a step's context with: part of every prompt, so a reply that
# copies them is an echo like one that copies the templates (`prompt_ngrams` includes them).
NOTHING_WRITTEN = "Nothing is written yet: this is the first section."
SUMMARY_SO_FAR = "Summary of what is written so far:"
PREVIOUS_ENDS = "The previous section ends with:"
ALREADY_WRITTEN = "Already written text:"
SECTIONS_DONE = "Sections already written:"
CONTEXT_FRAMES = (NOTHING_WRITTEN, SUMMARY_SO_FAR, PREVIOUS_ENDS, ALREADY_WRITTEN, SECTIONS_DONE)
SHORT_ECHO = 3  # a whole sentence of 3-5 words that is a run of our prompts' fixed text is one too
# A passage list copied from a prompt: "[file.txt, ¶2] text" entries and their tags.
_COPIED_ENTRY = re.compile(r"^[ \t]*(?:\[[^\]\n]{1,160}\][ \t]+\S[^\n]*|</?passages>[ \t]*)$", re.M)
ECHO_NGRAM = 6  # a run of this many words of our prompts' fixed text in a reply is an echo
CONTINUE_IN_PLACE = "Continue the section from exactly where it stops"
NEW_PASSAGE = (
    "Continue the section with a new passage that follows on from this ending and adds "
    "something not yet said (a new scene, example, detail or argument)"
)


@dataclass(frozen=True, slots=True)
class LengthPolicy:
    """How closely a section is held to its word budget.

    Attributes:
        tokens_per_word: tokens one word costs, to size ``max_tokens`` (1.4 fits English and
            German with most tokenizers). A section whose instruction is mostly CJK, where a
            word is one character, uses `CJK_TOKENS_PER_CHAR` instead.
        token_margin: extra room on top, as a fraction (a call may then overshoot; it is cut).
        short: continue a section below this fraction of its budget.
        long: cut a section above this fraction of its budget, at a sentence end.
        max_continues: continuation calls per section.
        max_retries: new attempts after an empty or error-like reply.
        min_tokens: the smallest ``max_tokens`` worth asking for.
    """

    tokens_per_word: float = 1.4
    token_margin: float = 0.2
    short: float = 0.85
    long: float = 1.15
    max_continues: int = 6
    max_retries: int = 2
    min_tokens: int = 64

    def max_tokens(self, words: int, tokens_per_word: float | None = None) -> int:
        per = tokens_per_word or self.tokens_per_word
        return max(self.min_tokens, math.ceil(words * per * (1 + self.token_margin)) + 16)

    def least_tokens(self, words: int, tokens_per_word: float | None = None) -> int:
        """Tokens a reply must have before it may end: about `short` of `words` words."""
        return math.floor(words * (tokens_per_word or self.tokens_per_word) * self.short)


@dataclass(slots=True)
class Written:
    """A written section: its text and how it was obtained."""

    text: str
    words: int
    calls: int
    continues: int = 0
    cut: bool = False
    retries: int = 0


class Writer:
    """Writes one section with length control.

    Args:
        llm: the model.
        prompt: the first-call prompt; its variables come from the pipeline (`write` gets them).
        continue_prompt: the continuation prompt; gets the same variables plus ``so_far`` (the
            end of the section written so far) and ``words`` (the words still wanted).
        policy: the `LengthPolicy`.
        temperature: sampling temperature.
        tail_tokens: how much of the section so far the continuation prompt shows.

    The continuation prompt also gets ``how``: `CONTINUE_IN_PLACE`, or `NEW_PASSAGE` after a
    continuation that added little.
    """

    def __init__(
        self,
        llm: LLM,
        prompt: PromptTemplate,
        continue_prompt: PromptTemplate,
        *,
        policy: LengthPolicy | None = None,
        temperature: float = 0.7,
        tail_tokens: int = 300,
    ) -> None:
        self.llm = llm
        self.prompt = prompt
        self.continue_prompt = continue_prompt
        self.policy = policy or LengthPolicy()
        self.temperature = temperature
        self.tail_tokens = tail_tokens
        self.scaffold = prompt_ngrams(prompt, continue_prompt)

    async def write(
        self,
        variables: dict,
        words: int,
        *,
        label: str,
        trace: Trace | None = None,
        seen: str = "",
        headings: bool = False,
        titles: tuple[str, ...] = (),
        quoting: str = "",
    ) -> Written:
        """Write a section of about `words` words.

        Args:
            variables: the prompt's variables (instruction, plan, context, title, point...);
                ``words`` is set here, and ``language`` where not given.
            words: the budget.
            label: names the section in errors ("section 3 'The storm'").
            seen: the text written before this section; its sentences are not written again.
            headings: keep Markdown headings in the text (a whole piece written in one call
                may have its own); a section of a longer piece gets its heading from the
                pipeline, and any the model writes are dropped.
            titles: the plan's section titles; a reply's line that is only one of them, or
                opens with one and a colon, loses it (see `clean`).
            quoting: a text the section must not copy from (the writing instruction, for a
                section of a planned piece: the 0.5B opened a German letter with the
                instruction itself); a sentence that copies most of it is dropped as an echo
                (see `clean`).

        Raises:
            SectionFailed: every attempt came back empty or error-like.
            BudgetError: the prompt leaves no room for the section in the model's window.
        """
        policy = self.policy
        text, calls, retries, continues, reasons, truncated = "", 0, 0, 0, [], False
        written = 0  # count_words(text), kept as pieces join (a join adds no word and merges none)
        how = CONTINUE_IN_PLACE
        per_word = CJK_TOKENS_PER_CHAR if is_cjk(str(variables.get("instruction", ""))) else None
        # the language to write in, by name where it is not English (`text.language.write_in`)
        variables = {"language": write_in(str(variables.get("instruction", ""))), **variables}
        while True:
            remaining = words - written
            if text:
                tail = text_tail(text, self.tail_tokens, self.llm)
                messages = self.continue_prompt.render(
                    **{**variables, "words": remaining, "so_far": tail, "how": how}
                )
            else:
                messages = self.prompt.render(**{**variables, "words": words})
            max_tokens = self._fit(messages, policy.max_tokens(remaining, per_word), label)
            reply = await self.llm.complete(
                messages,
                role="writer",
                trace=trace,
                max_tokens=max_tokens,
                min_tokens=min(policy.least_tokens(remaining, per_word), max_tokens - 1),
                temperature=self.temperature,
                # A loop, or a restatement of what is written, would be dropped by `clean` anyway.
                stop_on_repeat=REPEAT_STOP_TOKENS,
                repeat_of=text_tail(text, REPEAT_CONTEXT_TOKENS, self.llm) if text else None,
                # A new seed each call: a continuation or retry often has the same prompt as the
                # call before, and with the same seed a local model gives the same reply back.
                seed=calls,
            )
            calls += 1
            piece = clean(
                reply.text,
                seen=f"{seen}\n\n{text}",
                scaffold=self.scaffold,
                headings=headings,
                titles=titles,
                quoting=quoting,
            )
            if reply.finish_reason == "repetition":  # the repeat stop leaves half a sentence
                piece = _whole_sentences(piece)
            reason = failure_reason(piece)
            if reason and text:  # a continuation that added nothing: ask for a new passage next
                how = NEW_PASSAGE
            if reason:
                reasons.append(reason)
                if retries >= policy.max_retries:
                    if text:  # continuations failed: keep what was written, it is real text
                        break
                    raise SectionFailed(
                        f"{label} could not be written: the model's reply {'; then '.join(reasons)} "
                        f"({calls} tries)"
                    )
                retries += 1
                continue
            added = count_words(piece)
            how = NEW_PASSAGE if text and added < remaining / 4 else CONTINUE_IN_PLACE
            text, written = join(text, piece), written + added
            truncated = reply.finish_reason in ("length", "repetition")
            if written >= policy.short * words or continues >= policy.max_continues:
                break
            continues += 1
        cut = False
        if written > policy.long * words:
            text, cut = cut_at_sentence(text, words), True
        elif truncated:  # stopped mid-sentence (max_tokens, a loop): end at the last full sentence
            ends = [m.end() for m in _SENTENCE_END.finditer(text)]
            if ends and count_words(text[: ends[-1]]) >= policy.short * words:
                text, cut = text[: ends[-1]], True
        return Written(text, count_words(text) if cut else written, calls, continues, cut, retries)

    def _fit(self, messages: list[dict], max_tokens: int, label: str) -> int:
        room = self.llm.context_window - self.llm.count_tokens(messages) - 16
        if room < self.policy.min_tokens:
            raise BudgetError(
                f"the prompt for {label} leaves {max(room, 0)} tokens of the {self.llm.context_window}-token "
                "window for the text; use a model with a larger window, a shorter instruction or plan, "
                "or the bounded context."
            )
        return min(max_tokens, room)


def is_cjk(text: str) -> bool:
    """Whether most of the letters of `text` are CJK characters (each counts as a word)."""
    letters = re.findall(r"[^\W\d_]", text)
    return bool(letters) and len(_CJK.findall(text)) > 0.3 * len(letters)


def failure_reason(text: str) -> str | None:
    """Why `text` cannot be kept as section text (empty, an error or a refusal), or None."""
    if not re.search(r"[^\W\d_]", text):
        return "came back empty"
    if _FAILURE.match(text):
        return f"reads as an error or refusal ({text[:60]!r})"
    return None


def clean(
    text: str,
    *,
    seen: str = "",
    scaffold: frozenset[tuple[str, ...]] = frozenset(),
    headings: bool = False,
    titles: tuple[str, ...] = (),
    quoting: str = "",
) -> str:
    """What of a reply can be kept as text.

    Strips leaked control tokens and echoed prompt headings; drops section titles of the plan
    (`titles`) written as a plain line or as a "Title:" prefix of one (a small model opens a
    section with its title, and a summary shows sections that way); drops copied passage lists
    ("[notes.txt, ¶2] ..." entries, as Report's prompts show them), plan lines
    ("2. The storm (400 words)", "Word Count: 300"), sentences of 4+ words already in `seen`,
    any sentence earlier in the reply ("In a bottle. In a bottle." loops), sentences that talk
    our prompts' language ("section 3 of 8", "900 more words") or a chat assistant's ("I hope
    this helps!", a run of hashtags), and sentences holding a run of `ECHO_NGRAM` words from
    `scaffold` (`prompt_ngrams`), and sentences that copy most of `quoting` (a run of 60% of
    its words, at least 8: the writing instruction copied whole, not a story's "voyage across
    the Pacific on a raft", which the instruction names too). Other headings are dropped unless
    `headings` is set.
    """
    quote_n = max(8, math.ceil(0.6 * len(_norm(quoting).split())))
    copied = _word_runs(quoting, quote_n) if quoting else frozenset()
    text = _ECHO_LINE.sub("", _SPECIAL_TOKEN.sub(" ", text or "")).strip()
    text = _COPIED_ENTRY.sub("", _PLAN_LINE.sub("", text))
    if titles:
        text = _without_titles(text, titles)
    if not headings:  # the pipeline adds the section's heading
        text = _HEADING_LINE.sub("", text)
    text = "\n".join(_once(text.splitlines(), {line.strip() for line in seen.splitlines() if line.strip()}))
    known = {_norm(s) for s in split_sentences(seen)}
    mine: set[str] = set()  # this reply's own: a short sentence may recur in a piece, not loop in a reply
    paragraphs = []
    for para in re.split(r"\n\s*\n", text.strip()):
        kept = []
        for sentence in _sentences(para):
            key = _norm(sentence)
            if key in mine or (len(key.split()) >= 4 and key in known):
                continue
            if is_echo(sentence, scaffold) or _ASSISTANT_TALK.search(sentence):
                continue
            if copied and not copied.isdisjoint(_runs(key.split(), quote_n)):
                continue
            known.add(key)
            mine.add(key)
            kept.append(sentence)
        if kept:
            paragraphs.append(" ".join(kept))
    return "\n\n".join(paragraphs)


def _without_titles(text: str, titles: tuple[str, ...]) -> str:
    """`text` without lines that are only a plan title, and without "Title:" opening a line."""
    names = sorted({t.strip() for t in titles if len(t.strip()) >= 3}, key=len, reverse=True)
    if not names:
        return text
    name = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
    # the title alone on its line (a full stop or colon after it allowed), or "Title: text"
    prefix = re.compile(
        rf"^[ \t]*(?:#+[ \t]*)?(?:\*\*)?(?:{name})[ \t]*(?:\*\*)?"
        rf"(?:[.:：]?(?:\*\*)?[ \t]*$|[:：\-–—](?:\*\*)?[ \t]*(?=\S))",
        re.I,
    )
    lines = []
    for line in text.splitlines():
        while m := prefix.match(line):
            line = line[m.end() :]
        if line.strip() or not lines or lines[-1].strip():
            lines.append(line)
    return "\n".join(lines)


def _once(lines: list[str], seen: set[str]) -> list[str]:
    """The lines, without a non-empty line that is already in `seen` or came before (a
    sign-off or placeholder a small model repeats, "[Your Name]", is one line, not a sentence)."""
    out = []
    for line in lines:
        key = line.strip()
        if key and key in seen:
            continue
        seen.add(key)
        out.append(line)
    return out


def prompt_ngrams(*prompts: PromptTemplate, n: int = ECHO_NGRAM) -> frozenset[tuple[str, ...]]:
    """The word runs of the prompts' fixed text (placeholders removed) and of `CONTEXT_FRAMES`,
    for `clean`: every `n`-word run, and the shorter runs a whole short sentence is matched to."""
    chunks = [*CONTEXT_FRAMES]
    for p in prompts:
        for part in (p.system, p.user):
            chunks += re.split(r"\{\{[^}]*\}\}", part or "")
    grams: set[tuple[str, ...]] = set()
    for chunk in chunks:
        for piece in _sentences(chunk):
            words = _norm(piece).split()
            for k in range(SHORT_ECHO, n):
                grams.update(_runs(words, k))
        grams.update(_runs(_norm(chunk).split(), n))
    return frozenset(grams)


def _runs(words: list[str], n: int):
    """The `n`-word runs of `words`, as tuples (zip builds them in C: every sentence of every
    reply is checked, so this is per word)."""
    return zip(*(words[k:] for k in range(n)), strict=False)


@functools.lru_cache(maxsize=64)
def _word_runs(text: str, n: int) -> frozenset[tuple[str, ...]]:
    """Every `n`-word run of `text` (a writing instruction), in `is_echo`'s form."""
    return frozenset(_runs(_norm(text).split(), n))


def is_echo(sentence: str, scaffold: frozenset[tuple[str, ...]] = frozenset()) -> bool:
    """Whether `sentence` talks our prompts' language, holds an `ECHO_NGRAM`-word run of
    `scaffold`, or is as a whole a shorter run of it ("It stopped too early.")."""
    if _PROMPT_TALK.search(sentence):
        return True
    words = sentence_key(sentence).split()
    if SHORT_ECHO <= len(words) < ECHO_NGRAM:
        return tuple(words) in scaffold
    return not scaffold.isdisjoint(_runs(words, ECHO_NGRAM))


def plan_lines(text: str) -> list[str]:
    """The lines of `text` that are plan lines ("2. The storm (400 words)", "Word Count: 300")."""
    return [m[0].strip() for m in _PLAN_LINE.finditer(text)]


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, paragraph by paragraph (headings left out)."""
    body = _HEADING_LINE.sub("", text)
    return [s for para in re.split(r"\n\s*\n", body) for s in _sentences(para)]


def sentence_key(sentence: str) -> str:
    """A sentence reduced to its lower-case words, to compare sentences."""
    return _norm(sentence)


def join(text: str, piece: str) -> str:
    """Append a continuation: a new paragraph after a finished sentence, else mid-sentence."""
    if not text:
        return piece
    if not piece:
        return text
    return text + ("\n\n" if _SENTENCE_END.search(text[-3:]) else " ") + piece


def cut_at_sentence(text: str, words: int) -> str:
    """Cut `text` to about `words` words, ending at a sentence end.

    Takes the last sentence end within the budget if that keeps at least 80% of it, else the
    first one after it within 115%, else cuts at the word and closes the sentence.
    """
    spans = word_spans(text)
    if len(spans) <= words:
        return text
    limit = spans[words - 1][1]
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    before = [e for e in ends if e <= limit and count_words(text[:e]) >= 0.8 * words]
    if before:
        return text[: before[-1]].rstrip()
    stretch = spans[min(len(spans), math.ceil(words * 1.15)) - 1][1]
    after = [e for e in ends if limit < e <= stretch]
    if after:
        return text[: after[0]].rstrip()
    return text[:limit].rstrip(" ,;:-") + "."


def _whole_sentences(text: str) -> str:
    """`text` up to its last sentence end ("" when it has none)."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]].rstrip() if ends else ""


def _sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return [s for s in out if s]


def _norm(sentence: str) -> str:
    return " ".join(re.findall(r"\w+", sentence.lower()))


def text_tail(text: str, tokens: int, llm: LLM) -> str:
    """The end of `text`, about `tokens` long, starting at a word boundary."""
    ids = llm.tokenizer.encode(text)
    if len(ids) <= tokens:
        return text
    tail = llm.tokenizer.decode(ids[-tokens:])
    return tail[tail.find(" ") + 1 :] if " " in tail[:40] else tail


__all__ = [
    "LengthPolicy",
    "SectionFailed",
    "Writer",
    "Written",
    "clean",
    "is_cjk",
    "is_echo",
    "plan_lines",
    "prompt_ngrams",
    "sentence_key",
    "split_sentences",
    "text_tail",
    "cut_at_sentence",
    "failure_reason",
    "join",
]
