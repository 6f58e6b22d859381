"""A custom pipeline: summarise each file with Chain of Agents in parallel, then write one
long piece from the summaries with AgentWrite.

The graph is a plain LangGraph ``StateGraph``; longweave's pipelines are two of its nodes
(`longweave.as_node`), and a one-line function turns the summaries into the writing
instruction (`longweave.agent_node`)::

    START --Send per file--> summarise (ChainOfAgents) --> brief --> write (AgentWrite) --> END

Run it on your own files (any model spec; "local" is the embedded 270M model)::

    python examples/custom_pipeline.py notes/*.md --topic "river ecology" --words 1200 \\
        --model local --checkpoint review.sqlite

On the embedded model (a weak 270M base model: poor prose, real inference), two short files and
400 words take about 2.5 minutes on 2 CPU cores. With ``--checkpoint``, a run that stops
(Ctrl-C, a crash, a failing server) resumes when the same command is run again: finished
summaries are not redone (LangGraph's checkpoint of this graph), and the writer continues at the
section it stopped in (AgentWrite's own checkpoint).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from longweave import AgentWrite, ChainOfAgents, UsageLog, agent_node, as_node, load_document, load_llm


def merge(old: dict, new: dict) -> dict:
    """Reducer: summaries from parallel branches are merged by file name."""
    return {**old, **new}


class ReviewState(TypedDict, total=False):
    paths: list[str]  # input: the files to read
    topic: str  # input: what the piece is about
    target_words: int  # input: its length
    summaries: Annotated[dict[str, str], merge]  # file name -> its summary
    instruction: str  # the writing instruction made from the summaries
    text: str  # output: the piece
    usage: UsageLog  # calls and tokens per node and role


def one_branch_per_file(state: ReviewState) -> list[Send]:
    return [Send("summarise", {"path": p}) for p in state["paths"]]


def brief(summaries: dict[str, str], topic: str, target_words: int) -> str:
    """The writing instruction: the topic, then one "- file: summary" line per file."""
    lines = "\n".join(f"- {Path(name).stem}: {summaries[name]}" for name in sorted(summaries))
    return (
        f"Write a {target_words}-word review of {topic}, one section per source below, "
        f"using the facts each summary gives.\n{lines}"
    )


def build_graph(
    llm,
    *,
    summary_tokens: int = 256,
    write_checkpoint: str | Path | None = None,
    checkpointer=None,
    on_result=None,
):
    """The compiled graph. `summary_tokens`: the longest notes and summary per file (they all go
    into one writing instruction, so they are kept short; Chain of Agents' own default for
    summaries is 1,024); `write_checkpoint`: AgentWrite's own file (makes the writer resume);
    `checkpointer`: LangGraph's checkpointer for this graph (makes finished nodes stay done)."""
    reader = ChainOfAgents(llm, cu_tokens=summary_tokens, answer_tokens=summary_tokens)
    writer = AgentWrite(llm, checkpoint=write_checkpoint)
    graph = StateGraph(ReviewState)
    graph.add_node(
        "summarise",
        as_node(
            reader,
            inputs=lambda s: {"document": load_document(s["path"])},  # file text stays out of the state
            outputs=lambda result, s: {"summaries": {Path(s["path"]).name: result.answer}},
            usage_key="usage",
            on_result=on_result,
        ),
    )
    graph.add_node(
        "brief",
        agent_node(
            brief,
            inputs={"summaries": "summaries", "topic": "topic", "target_words": "target_words"},
            output="instruction",
        ),
    )
    graph.add_node("write", as_node(writer, usage_key="usage", on_result=on_result))
    graph.add_conditional_edges(START, one_branch_per_file, ["summarise"])
    graph.add_edge("summarise", "brief")
    graph.add_edge("brief", "write")
    graph.add_edge("write", END)
    return graph.compile(checkpointer=checkpointer)


async def review(
    llm, paths: list[str], topic: str, words: int, *, checkpoint: str | None = None, thread: str = "review"
) -> dict:
    """Run the graph (resuming thread `thread` of `checkpoint` if it stopped part-way)."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    inputs = {"paths": [str(p) for p in paths], "topic": topic, "target_words": words}
    config = {"configurable": {"thread_id": thread}, "max_concurrency": 4}
    if checkpoint is None:
        return await build_graph(llm).ainvoke(inputs, config)
    async with AsyncSqliteSaver.from_conn_string(checkpoint) as saver:
        graph = build_graph(llm, write_checkpoint=f"{checkpoint}.write", checkpointer=saver)
        saved = await graph.aget_state(config)
        if saved.values and not saved.next:  # this thread finished before: nothing to redo
            return saved.values
        return await graph.ainvoke(None if saved.next else inputs, config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--topic", default="these documents")
    parser.add_argument("--words", type=int, default=1200)
    parser.add_argument("--model", default="local")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--thread", default="review")
    args = parser.parse_args(argv)
    state = asyncio.run(
        review(
            load_llm(args.model),
            args.files,
            args.topic,
            args.words,
            checkpoint=args.checkpoint,
            thread=args.thread,
        )
    )
    print(state["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
