"""LongBench-Write's length score S_l (Bai et al., 2024, "LongWriter", Section 2).

S_l is 100 when the output has the required length and falls off piecewise-linearly: it
reaches 0 at four times the required length when over, and at a third of it when under
(under-length is punished harder, since a model that stops early is the failure the
benchmark measures). Lengths are word counts (`longweave.count_words`, CJK characters one
each), as LongBench-Write counts them.

Deliberately not here: the quality score S_q (it needs a judge model).
"""

from __future__ import annotations

from longweave.errors import InputError
from longweave.text import count_words


def length_score(required: int | float, produced: int | float | str) -> float:
    """LongBench-Write's S_l for a piece of `produced` words asked to have `required`.

    Over: ``100 * max(0, 1 - (produced/required - 1) / 3)``; under:
    ``100 * max(0, 1 - (required/produced - 1) / 2)``.

    Args:
        required: the length asked for, in words (> 0).
        produced: the length written, in words, or the text itself (its words are counted).

    Example:
        >>> length_score(1000, 1000), length_score(1000, 1300), length_score(1000, 800)
        (100.0, 90.0, 87.5)
    """
    if isinstance(produced, str):
        produced = count_words(produced)
    if isinstance(required, bool) or not isinstance(required, int | float) or required <= 0:
        raise InputError(f"the required length must be a positive number of words, not {required!r}.")
    if isinstance(produced, bool) or not isinstance(produced, int | float) or produced < 0:
        raise InputError(f"the produced length must be a number of words >= 0, not {produced!r}.")
    if produced == 0:
        return 0.0
    if produced > required:
        score = 100 * max(0.0, 1 - (produced / required - 1) / 3)
    else:
        score = 100 * max(0.0, 1 - (required / produced - 1) / 2)
    return round(score, 10)


__all__ = ["length_score"]
