"""The trace keeps model calls and events apart; usage counts the calls."""

from longweave.llm import CallRecord, EventRecord, Trace
from longweave.llm.usage import record_event


def _call(role: str, text: str = "reply") -> CallRecord:
    return CallRecord(role, [{"role": "user", "content": f"ask {role}"}], text, 10, 2, 0.5)


def test_events_are_kept_apart_from_calls_and_shown_in_order():
    trace = Trace()
    trace.add(_call("planner", "not a plan"))
    record_event(trace, "planner", "fallback_plan", "1. Intro (500 words)", reason="unreadable")
    trace.add(_call("writer"))
    assert [r.role for r in trace] == ["planner", "writer"] and len(trace) == 2
    assert trace[1].role == "writer" and trace.records is trace.calls
    fallback = EventRecord("planner", "fallback_plan", "1. Intro (500 words)", {"reason": "unreadable"})
    assert trace.events == [fallback]
    assert [type(r) for r in trace.entries()] == [CallRecord, EventRecord, CallRecord]
    assert [r.text for r in trace.by_role("planner")] == ["not a plan"]  # the call, not the event
    shown = str(trace)
    event = shown.index("--- event [planner] fallback_plan (reason=unreadable)")
    assert shown.index("--- call 0 [planner]") < event
    assert shown.index("1. Intro (500 words)") < shown.index("--- call 1 [writer]")


def test_usage_counts_calls_only():
    trace = Trace()
    trace.add(_call("writer"))
    record_event(trace, "planner", "plan_problems", "a constraint covers no unit")
    usage = trace.usage()
    assert usage.total.calls == 1 and usage.total.prompt_tokens == 10 and set(usage.by_role) == {"writer"}


def test_entries_copy_calls_and_events_to_another_trace():
    local, run = Trace(), Trace()
    local.add(_call("writer"))
    record_event(local, "writer", "cut", "the section ran long")
    for record in local.entries():
        run.add(record)
    assert len(run.calls) == 1 and [e.event for e in run.events] == ["cut"]


def test_record_event_without_a_trace_does_nothing():
    record_event(None, "planner", "fallback_plan", "x")
