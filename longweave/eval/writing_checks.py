"""Checks a long-writing benchmark runs on every output: prompt echoes, repeats, language.

Instruct models echo their instructions and repeat themselves; a length score counts those
words as if they were prose. These checks find them by script, not by eye, so a benchmark can
report "no prompt text echoed and no repeated section" as a measured fact:

- `prompt_echoes`: sentences of the text that hold a run of ``ECHO_NGRAM`` words of the
  packaged writing prompts' fixed text, talk the prompts' language ("section 3 of 8", "about
  900 more words") or are plan lines;
- `repeated_passages`: sentences of 8+ words that occur twice, and headings that occur twice;
- `language_share`: the share of the text in the expected script or language (CJK characters
  for Chinese and Japanese; for languages written in Latin script, the share of common
  function words of that language among those of it and of English).

Deliberately not here: quality judgements (they need a judge model).
"""

from __future__ import annotations

import functools
import re
from collections import Counter

from longweave.agents.writer import is_echo, plan_lines, prompt_ngrams, sentence_key, split_sentences
from longweave.prompts import load_prompt
from longweave.text.language import FUNCTION_WORDS as _FUNCTION_WORDS

WRITING_PROMPTS = ("planner", "writer", "writer_continue", "writer_single", "summarizer")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def prompt_echoes(text: str, prompts: tuple[str, ...] = WRITING_PROMPTS) -> list[str]:
    """The sentences and lines of `text` that copy the packaged `prompts`' wording."""
    scaffold = _scaffold(prompts)
    return plan_lines(text) + [s for s in split_sentences(text) if is_echo(s, scaffold)]


@functools.lru_cache(maxsize=8)
def _scaffold(prompts: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """The prompts' word runs, read from their files once per set (a benchmark checks every row)."""
    return prompt_ngrams(*(load_prompt(p) for p in prompts))


def repeated_passages(text: str, min_words: int = 8) -> list[str]:
    """Sentences of at least `min_words` words, and Markdown headings, that occur twice or more."""
    headings = Counter(h.strip() for h in re.findall(r"^\s{0,3}#{1,6}\s+(.+)$", text, re.M))
    keys = Counter(k for k in map(sentence_key, split_sentences(text)) if len(k.split()) >= min_words)
    return [f"# {h}" for h, n in headings.items() if n > 1] + [k for k, n in keys.items() if n > 1]


def language_share(text: str, lang: str) -> float:
    """How much of `text` is in `lang` ("zh", "ja", "en", "de", "es", "fr"), from 0 to 1."""
    if lang in ("zh", "ja", "ko"):
        letters = re.findall(r"[^\W\d_]", text)
        return len(_CJK.findall(text)) / max(1, len(letters))
    words = Counter(w.lower() for w in re.findall(r"[^\W\d_]+", text))
    own = sum(words[w] for w in _FUNCTION_WORDS[lang])
    english = sum(words[w] for w in _FUNCTION_WORDS["en"]) if lang != "en" else 0
    return own / max(1, own + english)


__all__ = ["language_share", "prompt_echoes", "repeated_passages"]
