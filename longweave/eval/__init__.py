"""Metrics: length score, constraint checks, QA exact match and F1, needle tasks."""

from longweave.eval.length import length_score

__all__ = ["length_score"]
