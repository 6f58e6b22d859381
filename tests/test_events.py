"""The event model: one callback, a typed record per happening, a flat dict for logs."""

import doctest

import longweave.events as events
from longweave.events import Notice, PlanReady, StepDone


def test_docstring_example_runs():
    failures, tried = doctest.testmod(events)
    assert tried >= 1 and failures == 0


def test_kind_names_an_event_and_to_dict_flattens_it():
    done = StepDone(2, "Dusk", words=310, budget=300, details={"citations": 4})
    assert done.kind == "step_done"
    assert done.to_dict() == {
        "event": "step_done", "index": 2, "title": "Dusk", "ok": True, "reason": "", "words": 310,
        "budget": 300, "calls": 0, "completion_tokens": 0, "seconds": 0.0, "text": "", "citations": 4,
    }  # fmt: skip
    notice = Notice("check_failed", 1, {"feedback": "1 failed"})
    assert notice.kind == "check_failed"
    assert notice.to_dict() == {"event": "check_failed", "index": 1, "feedback": "1 failed"}
    assert PlanReady([{"title": "A"}], "user").to_dict()["event"] == "plan"
