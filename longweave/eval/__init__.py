"""Metrics and generated tasks: QA exact match / F1, needle tasks, report tasks, rule-based models."""

from longweave.eval.constraints import ConstraintReport, Task, check_constraints, generate_task
from longweave.eval.length import length_score
from longweave.eval.needles import Needle, NeedleTask, make_needle_task, needle_suite
from longweave.eval.qa import contains_answer, exact_match, f1_score, normalize_answer, qa_scores
from longweave.eval.report_tasks import (
    PlantedFact,
    ReportTask,
    citation_precision,
    fact_coverage,
    make_report_corpus,
)
from longweave.eval.rule_reader import rule_reader
from longweave.eval.rule_reporter import rule_reporter

__all__ = [
    "ConstraintReport",
    "Needle",
    "PlantedFact",
    "ReportTask",
    "NeedleTask",
    "Task",
    "check_constraints",
    "citation_precision",
    "contains_answer",
    "exact_match",
    "f1_score",
    "fact_coverage",
    "generate_task",
    "length_score",
    "make_needle_task",
    "make_report_corpus",
    "needle_suite",
    "normalize_answer",
    "qa_scores",
    "rule_reader",
    "rule_reporter",
]
