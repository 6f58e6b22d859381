"""Metrics: length score, constraint checks, QA exact match and F1, needle tasks."""

from longweave.eval.constraints import Constraint, ConstraintReport, Task, check_constraints, generate_task
from longweave.eval.length import length_score

__all__ = [
    "Constraint",
    "ConstraintReport",
    "Task",
    "check_constraints",
    "generate_task",
    "length_score",
]
