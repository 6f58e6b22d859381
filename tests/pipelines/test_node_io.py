"""Each pipeline class declares its state keys (`node_io`); its docstring's table shows the same."""

import inspect
import re

import pytest

import longweave
from longweave.pipelines.base import Pipeline
from longweave.pipelines.compose import NodeIO

PIPELINES = sorted(
    {obj for obj in vars(longweave).values() if inspect.isclass(obj) and issubclass(obj, Pipeline)},
    key=lambda cls: cls.__name__,
)
ROW = re.compile(r"^\s*\|\s*``(\w+)``\s*\|\s*(in|out)\s*\|\s*(.*?)\s*\|\s*$", re.M)


def table(cls: type) -> dict[str, tuple[str, str]]:
    """state key -> (in/out, what) from the class docstring's node table."""
    doc = cls.__doc__ or ""
    assert "As a node of your own LangGraph graph" in doc, f"{cls.__name__} has no node table"
    return {key: (way, what) for key, way, what in ROW.findall(doc)}


def test_every_pipeline_is_covered():
    names = {cls.__name__ for cls in PIPELINES}
    assert names >= {"ChainOfAgents", "RAG", "RetrieveThenReason", "FullContext", "AgentWrite",
                     "CogWriter", "Report", "L2MAC", "MemoryChat"}  # fmt: skip


@pytest.mark.parametrize("cls", PIPELINES, ids=lambda c: c.__name__)
def test_declared_node_io_matches_the_docstring_table(cls):
    io = cls.node_io
    assert isinstance(io, NodeIO), f"{cls.__name__} declares no node_io"
    rows = table(cls)
    assert {k for k, (way, _) in rows.items() if way == "in"} == set(io.inputs.values())
    assert {k for k, (way, _) in rows.items() if way == "out"} == set(io.outputs)
    assert set(io.required) <= set(io.inputs)
    for param in io.required:  # a key the class cannot do without is not documented as optional
        assert "(optional)" not in rows[io.inputs[param]][1], (cls.__name__, param)
    if io.run_id is not None:
        assert io.run_id in inspect.signature(cls.arun).parameters
        assert io.resumable in inspect.signature(cls.__init__).parameters
    assert set(io.inputs) <= set(inspect.signature(cls.arun).parameters)


def test_a_subclass_keeps_its_base_node_io_and_a_new_pipeline_has_none():
    class MyRAG(longweave.RAG):
        pass

    class Mine(Pipeline):
        async def arun(self, x):
            return x

    assert MyRAG.node_io is longweave.RAG.node_io
    assert Mine.node_io is None
