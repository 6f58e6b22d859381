"""The generic memory interface, used from a custom LangGraph node as a writer would use it."""

import operator
import re
from typing import Annotated, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from longweave.errors import BudgetError
from longweave.llm import ScriptedLLM
from longweave.memory.bank import LongMemBank
from longweave.memory.passages import DocumentMemory, Memory, render_passages

TOPICS = ["markets", "rivers", "songs"]
PLAN = [
    "Introduce the dragon guarding the pass.",
    *[f"Describe the {TOPICS[i % 3]} of the valley, part {i}." for i in range(30)],
    "The dragon returns to the pass: name it.",
]


def _writer_model() -> ScriptedLLM:
    def final(match, messages):
        name = re.search(r"dragon's name is (\w+)", messages[-1]["content"].split("Write:")[0])
        return f"{name[1]} returns to the pass." if name else "A nameless dragon returns."

    return ScriptedLLM(
        rules=[
            (r"Write: Introduce the dragon", "The dragon's name is Ember and it guards the northern pass."),
            (r"Write: The dragon returns", final),
            (r"Write: Describe the (\w+)", lambda m, _: f"The {m[1]} were busy and loud all season long."),
        ]
    )


class _State(TypedDict):
    step: int
    texts: Annotated[list[str], operator.add]


def _graph(llm, memory: Memory | None, budget: int):
    async def write(state: _State) -> dict:
        task = PLAN[state["step"]]
        passages = memory.retrieve(task, k=4, budget_tokens=budget) if memory is not None else []
        prompt = f"Earlier text:\n{render_passages(passages)}\n\nWrite: {task}"
        reply = await llm.complete(prompt, role="writer")
        if memory is not None:
            memory.add(reply.text, source=f"section {state['step'] + 1}")
        return {"step": state["step"] + 1, "texts": [reply.text]}

    g = StateGraph(_State)
    g.add_node("write", write)
    g.add_edge(START, "write")
    g.add_conditional_edges("write", lambda s: "write" if s["step"] < len(PLAN) else END)
    return g.compile()


@pytest.mark.parametrize(
    "make", [lambda: DocumentMemory(chunk_tokens=40), lambda: LongMemBank(chunk_tokens=4)]
)
async def test_a_writer_node_recalls_what_it_wrote_30_sections_earlier(make):
    llm, memory = _writer_model(), make()
    state = await _graph(llm, memory, budget=60).ainvoke({"step": 0, "texts": []}, {"recursion_limit": 100})
    assert state["texts"][-1] == "Ember returns to the pass."
    earlier = [m[-1]["content"].split("Write:")[0] for m in llm.calls]
    assert max(llm.count_tokens(e) for e in earlier) <= 60 + 10  # bounded by the budget


async def test_without_memory_the_writer_cannot_name_the_dragon():
    state = await _graph(_writer_model(), None, budget=60).ainvoke(
        {"step": 0, "texts": []}, {"recursion_limit": 100}
    )
    assert state["texts"][-1] == "A nameless dragon returns."


def test_document_memory_persists_and_orders_by_position(tmp_path):
    memory = DocumentMemory(tmp_path / "m", chunk_tokens=12)
    memory.add(
        "Alpha notes about cats.\n\nBeta notes about dogs.\n\nGamma notes about cats and dogs.", source="a"
    )
    memory.close()
    again = DocumentMemory(tmp_path / "m")
    found = again.retrieve("notes about cats", k=2)
    assert [p.text.split()[0] for p in found] == ["Alpha", "Gamma"]  # source order, not score order
    assert [p.source for p in found] == ["a", "a"] and isinstance(again, Memory)
    assert again.retrieve("cats", k=3, budget_tokens=0) == []
    with pytest.raises(BudgetError):
        DocumentMemory(chunk_tokens=0)
