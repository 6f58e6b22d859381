"""Which language a text is written in, well enough to tell a writer which one to write.

A small instruct model asked in English to write "in the language of the writing instruction"
writes English: Qwen2.5-Coder-0.5B answered a German letter request with "This brief is for the
old friend" (bench_quality de-400, 0.07 of its function words German). Naming the language
("in German") fixes that. The guess is by script for Chinese, Japanese and Korean, and by common
function words for languages written in Latin script; it says None rather than guess from a few
words.

Deliberately not here: translation, or any language model; this is a cheap lookup.
"""

from __future__ import annotations

import re
from collections import Counter

FUNCTION_WORDS = {
    "en": "the and of to a in is that it was for on with as he she his her they at by".split(),
    "de": "der die das und ist nicht ein eine zu den mit von sich des auf für im dem".split(),
    "es": "el la los las de que y en un una es por con para del se su al lo".split(),
    "fr": "le la les de des et est un une que dans pour qui sur pas du au avec il".split(),
    "it": "il di che la per non un una sono del della gli le nel con si da".split(),
    "pt": "o os de que e do da em um uma para com não por se na no dos".split(),
    "nl": "de het een en van is dat op te zijn met voor niet aan er ook".split(),
}
NAMES = {
    "en": "English", "de": "German", "es": "Spanish", "fr": "French", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "zh": "Chinese", "ja": "Japanese", "ko": "Korean",
}  # fmt: skip
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")


def guess_language(text: str) -> str | None:
    """The code ("de", "zh"...) of the language `text` is written in, or None when unsure.

    Example:
        >>> guess_language("Schreibe einen Brief an einen alten Freund, in dem du von deinem Umzug erzählst.")
        'de'
        >>> guess_language("写一篇800字的短文，介绍杭州西湖的四季景色。")
        'zh'
    """
    letters = len(re.findall(r"[^\W\d_]", text))
    if _KANA.search(text):
        return "ja"
    if len(_HANGUL.findall(text)) > 0.3 * letters:
        return "ko"
    if len(_HAN.findall(text)) > 0.3 * letters:
        return "zh"
    words = Counter(w.lower() for w in re.findall(r"[^\W\d_]+", text))
    scores = {code: sum(words[w] for w in ws) for code, ws in FUNCTION_WORDS.items()}
    best = max(scores, key=scores.get)
    runner_up = max(v for code, v in scores.items() if code != best)
    return best if scores[best] >= 2 and scores[best] > runner_up else None


def write_in(instruction: str) -> str:
    """The writer prompts' phrase for the language to write in: the instruction's language by
    name where it is not English ("in German, the language of the writing instruction")."""
    code = guess_language(instruction)
    if code is None or code == "en":
        return "in the language of the writing instruction"
    return f"in {NAMES[code]}, the language of the writing instruction"


__all__ = ["FUNCTION_WORDS", "NAMES", "guess_language", "write_in"]
