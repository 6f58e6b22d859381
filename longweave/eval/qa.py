"""SQuAD-style answer scores: exact match and token F1 after the usual normalisation.

Normalisation follows the official SQuAD v1.1 evaluation script (Rajpurkar et al., 2016):
lower-case, drop punctuation, drop the articles "a", "an", "the", collapse whitespace. With
several gold answers a prediction scores its best match, as in SQuAD.

Deliberately not here: LLM-as-judge scoring and ROUGE for summaries.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation and articles, collapse whitespace (SQuAD v1.1).

    Example:
        >>> normalize_answer("The  Eiffel Tower!")
        'eiffel tower'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _golds(gold: str | Sequence[str]) -> list[str]:
    return [gold] if isinstance(gold, str) else list(gold)


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 if the normalised prediction equals a normalised gold answer, else 0.0."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in _golds(gold)))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, gold: str | Sequence[str]) -> float:
    """Token-overlap F1 between the normalised prediction and the best gold answer.

    Example:
        >>> round(f1_score("in the town of Oslo", "Oslo"), 2)
        0.4
    """
    pred = normalize_answer(prediction).split()
    return max((_f1(pred, normalize_answer(g).split()) for g in _golds(gold)), default=0.0)


def _spaced(text: str) -> str:
    """Punctuation as word breaks, so "lru_cache(maxsize=None)" holds the words "lru_cache" and "None"."""
    return normalize_answer("".join(" " if ch in _PUNCT and ch != "_" else ch for ch in text))


def contains_answer(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 if a normalised gold answer appears in the normalised prediction as whole words.

    Lenient where exact match is strict: "IndexError is raised" contains "IndexError". Words
    are compared after SQuAD normalisation and again with punctuation read as a word break
    (for code: "lru_cache(maxsize=None)" contains "None"). It rewards a long reply that happens
    to hold the phrase, so read it next to F1.

    Example:
        >>> contains_answer("IndexError is raised", "IndexError"), contains_answer("128 bytes", "12")
        (1.0, 0.0)
    """
    for norm in (normalize_answer, _spaced):
        pred = norm(prediction).split()
        for g in _golds(gold):
            want = norm(g).split()
            if want and any(pred[i : i + len(want)] == want for i in range(len(pred) - len(want) + 1)):
                return 1.0
    return 0.0


def qa_scores(predictions: Sequence[str], golds: Sequence[str | Sequence[str]]) -> dict[str, float]:
    """Mean exact match and F1 (both in [0, 1]) over paired predictions and gold answers."""
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions for {len(golds)} gold answers")
    n = max(1, len(predictions))
    return {
        "exact_match": sum(exact_match(p, g) for p, g in zip(predictions, golds, strict=True)) / n,
        "f1": sum(f1_score(p, g) for p, g in zip(predictions, golds, strict=True)) / n,
    }


__all__ = ["contains_answer", "exact_match", "f1_score", "normalize_answer", "qa_scores"]
