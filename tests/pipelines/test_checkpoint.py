import sqlite3

import pytest
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from longweave.errors import CheckpointError, ConfigError, InputError
from longweave.pipelines.checkpoint import open_checkpoint
from longweave.pipelines.text_store import TextStore, fingerprint


def test_text_store_round_trip_and_keys_in_write_order(tmp_path):
    path = tmp_path / "run.db"
    with TextStore(path) as store:
        assert store.claim("r1", {"instruction": "Write about tea", "words": 500}) is True
        store.put("r1", "section/1", "second")
        store.put("r1", "section/0", "first")
        store.put("r1", "summary/0", "s")
        store.put("r2", "section/0", "other run")
        store.put("r1", "section/1", "second, rewritten")
    with TextStore(path) as store:  # a new process sees what was committed
        assert store.get("r1", "section/1") == "second, rewritten"
        assert store.keys("r1", "section/") == ["section/1", "section/0"]
        assert store.get("r1", "missing") is None and not store.has("r1", "missing")
        assert store.claim("r1", {"words": 500, "instruction": "Write about tea"}) is False
        store.update_meta("r1", finished=True)
        assert store.meta("r1")["finished"] is True
        store.delete_run("r1")
        assert store.keys("r1") == [] and store.get("r2", "section/0") == "other run"


def test_a_different_run_on_the_same_id_is_refused_with_what_differs(tmp_path):
    with TextStore(tmp_path / "run.db") as store:
        store.claim("main", {"instruction": "Write about tea", "words": 500})
        with pytest.raises(InputError, match=r"different instruction.*'Write about tea'.*another checkpoint"):
            store.claim("main", {"instruction": "Write about coffee", "words": 500})


def test_fingerprint_ignores_key_order():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_a_file_that_is_not_sqlite_is_a_config_error(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, I am not a database" * 100)
    with pytest.raises(ConfigError, match="cannot use"):
        TextStore(bad)


class S(TypedDict):
    n: int


async def test_open_checkpoint_persists_graph_state_and_text_in_one_file(tmp_path):
    path = tmp_path / "cp.db"

    def build():
        g = StateGraph(S)
        g.add_node("inc", lambda s: {"n": s["n"] + 1})
        g.add_edge(START, "inc")
        g.add_edge("inc", END)
        return g

    config = {"configurable": {"thread_id": "t"}}
    async with open_checkpoint(path) as cp:
        graph = build().compile(checkpointer=cp.saver)
        assert (await graph.ainvoke({"n": 1}, config)) == {"n": 2}
        cp.store.put("t", "text", "kept")
    async with open_checkpoint(path) as cp:
        graph = build().compile(checkpointer=cp.saver)
        assert (await graph.aget_state(config)).values == {"n": 2}
        assert cp.store.get("t", "text") == "kept"
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert {"checkpoints", "writes", "lw_runs", "lw_texts"} <= tables


async def test_open_checkpoint_in_memory_and_bad_paths(tmp_path):
    async with open_checkpoint(None) as cp:
        cp.store.put("r", "k", "v")
        assert cp.store.get("r", "k") == "v" and cp.path is None
    with pytest.raises(ConfigError, match="folder"):
        async with open_checkpoint(tmp_path):
            pass
    with pytest.raises(ConfigError, match="does not exist"):
        async with open_checkpoint(tmp_path / "nope" / "x.db"):
            pass


def test_a_run_whose_stored_plan_is_gone_raises_a_checkpoint_error():
    from longweave.pipelines.agentwrite import _Run as WriteRun
    from longweave.pipelines.cogwriter import _Run as CogRun

    store = TextStore()
    shared = {"run_id": "r", "instruction": "x", "target_words": 100, "store": store}
    for run in (WriteRun(**shared, user_plan=None), CogRun(**shared, user_units=None)):
        with pytest.raises(CheckpointError, match="no plan stored.*start over"):
            run.load_plan()
