import pytest

from longweave.agents.memory_controller import MemoryController
from longweave.errors import ConfigError
from longweave.llm import ScriptedLLM
from longweave.memory.stream import MemoryStream


def _stream() -> MemoryStream:
    stream = MemoryStream(None)
    stream.add("the blue car is parked on level two", role="note")  # turn 1
    for i in range(8):
        stream.add(f"filler line {i} about lunch", role="note")
    stream.add("the blue car is parked on level two", role="note")  # turn 10, same text, newer
    stream.add("the last thing said", role="note")  # turn 11: flash memory
    return stream


async def test_ranks_by_relevance_plus_recency_and_always_adds_flash():
    stream = _stream()
    ctl = MemoryController(ScriptedLLM(), stream, mode="always", top_k=2)
    memory = await ctl.activate("where is the blue car parked?", budget_tokens=500)
    assert [a.item.turn for a in memory.flash] == [11]
    ranked = [a.item.turn for a in sorted(memory.archived, key=lambda a: -a.score)]
    assert ranked == [10, 1]  # equal relevance: the recent one ranks first
    assert memory.render().splitlines()[-1].startswith("[turn 11, previous turn]")
    assert memory.tokens <= 500 and not any(a.as_summary for a in memory.all)


async def test_budget_uses_summaries_lowest_rank_first_then_drops():
    stream = _stream()
    llm = ScriptedLLM(rules=[(r"Summarize this memory", "car: level 2")])
    ctl = MemoryController(llm, stream, mode="always", top_k=2)
    full = await ctl.activate("where is the blue car parked?", budget_tokens=1000)
    assert not llm.calls and not any(a.as_summary for a in full.all)
    memory = await ctl.activate("where is the blue car parked?", budget_tokens=full.tokens - 1)
    assert memory.tokens < full.tokens
    by_turn = {a.item.turn: a for a in memory.all}
    assert by_turn[1].as_summary and by_turn[1].text.endswith("car: level 2")  # lowest rank first
    assert not by_turn[10].as_summary and len(llm.calls) == 1
    assert stream.get(by_turn[1].item.id).summary == "car: level 2"  # stored for next time
    tiny = await ctl.activate("where is the blue car parked?", budget_tokens=5)
    assert tiny.tokens <= 5 and tiny.dropped >= 1


async def test_decision_modes():
    stream = _stream()
    asks = ScriptedLLM(rules=[(r"parked", "Yes."), (r".", "No")])
    ctl = MemoryController(asks, stream, mode="ask")
    assert await ctl.needs_memory("where is it parked?") is True
    assert await ctl.needs_memory("hello") is False
    unsure = MemoryController(ScriptedLLM(default="maybe"), stream)
    assert await unsure.needs_memory("hmm") is True  # unclear answers retrieve
    assert await MemoryController(ScriptedLLM(), stream, mode="never").needs_memory("x") is False
    assert (
        await MemoryController(ScriptedLLM(), MemoryStream(None)).needs_memory("x") is False
    )  # empty: no call
    with pytest.raises(ConfigError, match="mode"):
        MemoryController(ScriptedLLM(), stream, mode="sometimes")
