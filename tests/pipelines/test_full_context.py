import pytest

from longweave.errors import BudgetError
from longweave.eval.needles import make_needle_task
from longweave.eval.rule_reader import rule_reader
from longweave.pipelines import FullContext


def test_answers_when_the_document_fits():
    task = make_needle_task(4_000, hops=2, seed=3)
    result = FullContext(rule_reader()).run(task.document, task.question)
    assert result.answer == task.answer and result.usage.total.calls == 1
    assert result.document_tokens > 3_900


def test_clear_error_when_it_does_not_fit():
    task = make_needle_task(9_000, seed=3)
    llm = rule_reader()
    with pytest.raises(BudgetError, match=r"has \d+ tokens.*window holds 8192.*ChainOfAgents or RAG"):
        FullContext(llm).run(task.document, task.question)
    assert llm.calls == []  # refused before any call
