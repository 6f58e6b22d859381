"""Word counting as LongBench-Write counts it: every CJK character is one word.

Latin-script (and other space-separated) words are maximal runs of letters and digits, joined
by inner apostrophes or hyphens ("don't", "well-known" are one word each). Chinese, Japanese
and Korean characters count one each, since those scripts do not separate words by spaces.
Markdown markup (``#``, ``*``, ``|``) is not a word.
"""

from __future__ import annotations

import re

_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af"  # hangul syllables
)
_WORD = re.compile(rf"[{_CJK}]|(?:[^\W{_CJK}_]+(?:['’\-][^\W{_CJK}_]+)*)")


def count_words(text: str) -> int:
    """Count words, counting each CJK character as one word.

    Example:
        >>> count_words("Hello, world! 你好")
        4
    """
    return len(_WORD.findall(text))  # findall stays in C; no match object per word


def word_spans(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of every counted word, for cutting text at a word count."""
    return [m.span() for m in _WORD.finditer(text)]
