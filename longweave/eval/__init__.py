"""Metrics and generated tasks: QA exact match / F1, needle-in-a-haystack tasks, a rule-based reader."""

from longweave.eval.constraints import Constraint, ConstraintReport, Task, check_constraints, generate_task
from longweave.eval.length import length_score
from longweave.eval.needles import Needle, NeedleTask, make_needle_task, needle_suite
from longweave.eval.qa import exact_match, f1_score, normalize_answer, qa_scores
from longweave.eval.rule_reader import rule_reader

__all__ = [
    "Constraint",
    "ConstraintReport",
    "Needle",
    "NeedleTask",
    "Task",
    "check_constraints",
    "exact_match",
    "f1_score",
    "generate_task",
    "length_score",
    "make_needle_task",
    "needle_suite",
    "normalize_answer",
    "qa_scores",
    "rule_reader",
]
