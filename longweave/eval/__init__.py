"""Metrics: length score, constraint checks, QA exact match and F1, needle tasks."""
