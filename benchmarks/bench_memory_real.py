"""MemoryChat recall with a real model: five facts told early, asked 50 turns later, after a restart.

One run, on one model:

1. A `MemoryChat` on a fresh folder is told five facts of a user's life (a name, a code, a city,
   a pet, a flat number; `FACTS`), each through the model as a real chat turn, with one short
   small-talk turn between them; then ``--filler`` (default 50) small-talk turns. The filler
   turns are stored through `MemoryChat.record`, the path every chat turn is archived by, with
   a short canned reply instead of a model call: they cost no model time, and ``--model-filler``
   sends them through the model instead. Some filler shares words with the questions ("name",
   "code", "city", "number") so retrieval has distractors.
2. The chat is closed and a new `MemoryChat` is opened on the same folder (a restart: the
   stream is read back from SQLite and the vector index from disk).
3. The five questions (worded differently from the facts) go through the model (MemoryChat's
   default mode, which retrieves for every message; ``--ask-mode`` adds a run where the model
   decides, as in SCM, on a copy of the folder). Each reply is
   scored by normalised match against the gold: ``recalled`` when the gold appears as whole
   words in the answer read out of the reply (`agents.answers.extract_answer`, at most 30
   words), ``EM`` on that answer; ``reached`` when the fact's turn was among the memories put
   in the prompt (retrieval, apart from reading).

Baselines, on the same model in the same run:

- ``no memory``: the restarted chat with archived memory off (``mode="never"``, on a copy of
  the folder): the model sees only the previous turn, as SCM's ablation without memory.
- ``window``: a plain chat (no longweave memory, no restart) holding the last exchanges that fit
  the same token budget as the memory (``--memory-budget``), then the question.
- ``full history``: a plain chat holding the whole conversation (it fits the 8k window here;
  it would not survive a restart): how well the model reads the facts when all are in front
  of it.

``--model oracle`` is a scripted model that answers with the gold whenever the gold is in its
prompt: a check of retrieval and of the script itself, in seconds.

Usage:
    python benchmarks/bench_memory_real.py [--model local] [--embedder minilm|hash]
        [--filler 50] [--model-filler] [--ask-mode] [--baselines none,window,full]
        [--json out.json] [--verbose]
Run real models under ``flock /tmp/longweave-cpu.lock`` on shared machines.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from longweave.agents.answers import extract_answer
from longweave.eval.qa import contains_answer, exact_match
from longweave.eval.tables import markdown_table
from longweave.llm import LLM, ScriptedLLM
from longweave.llm.scripted import prompt_text
from longweave.pipelines.memory_chat import MemoryChat

ANSWER_MAX_WORDS = 30

FACTS = [
    {
        "id": "sister",
        "tell": "By the way, my sister is called Marisol. She is visiting next month.",
        "ask": "What is my sister's name?",
        "answers": ["Marisol"],
    },
    {
        "id": "locker",
        "tell": "Please remember that my gym locker code is 4718.",
        "ask": "I forgot the code for my gym locker. What is it?",
        "answers": ["4718"],
    },
    {
        "id": "city",
        "tell": "Big news: I am moving to Tallinn in the spring for a new job.",
        "ask": "Which city did I tell you I am moving to?",
        "answers": ["Tallinn"],
    },
    {
        "id": "dog",
        "tell": "I adopted a beagle last week and named him Biscuit.",
        "ask": "What did I name my dog?",
        "answers": ["Biscuit"],
    },
    {
        "id": "flat",
        "tell": "My new flat is number 52 on Kestrel Road.",
        "ask": "What number is my flat on Kestrel Road?",
        "answers": ["52"],
    },
]

# Small talk with canned short replies. Some lines share words with the questions.
FILLER = [
    ("What's a good name for a goldfish?", "How about Bubbles or Captain Fin?"),
    ("The weather is grey again today.", "Grey days are good for reading."),
    ("Can you suggest a quick lunch?", "A tomato and mozzarella sandwich is quick."),
    ("Which city has the best museums, in your view?", "Paris and London are hard to beat."),
    ("I watched a film about sailing last night.", "Sounds relaxing. Was it good?"),
    ("How long should I boil an egg?", "About seven minutes for a firm yolk."),
    ("What is a good number of hours to sleep?", "Seven to nine hours for most adults."),
    ("Tell me a fun fact about owls.", "Owls cannot move their eyes, so they turn their heads."),
    ("I need a code name for a surprise party.", "Try Operation Balloon."),
    ("My coffee went cold again.", "A lidded mug keeps it warm longer."),
    ("Any tips for a short run?", "Start slow and keep a steady breath."),
    ("What rhymes with orange?", "Almost nothing; door hinge is close."),
    ("The train was late this morning.", "Annoying. Did you still make it on time?"),
    ("How do I keep basil alive?", "Sun, water at the base, and pinch the tops."),
    ("Is it rude to leave a party early?", "Not if you thank the host."),
    ("What board game is good for four people?", "Ticket to Ride works well with four."),
    ("I am trying to drink more water.", "A bottle on your desk helps."),
    ("Name a calm piece of music.", "Satie's Gymnopedie No. 1."),
    ("What's the capital city of Canada?", "Ottawa."),
    ("My neighbour plays drums at night.", "Maybe ask about quieter hours."),
    ("How many legs does a spider have?", "Eight."),
    ("Suggest a name for a houseplant.", "Fernando is a classic."),
    ("I burnt the toast.", "It happens to everyone."),
    ("What is a good stretch after sitting?", "Stand and reach up, then fold forward."),
    ("Do you like puns?", "I find them punderful."),
    ("How do I remove a coffee stain?", "Cold water and a little dish soap."),
    ("What's a good first programming language?", "Python is friendly to start with."),
    ("The cafe wifi password was very long.", "Long passwords are safer, at least."),
    ("I saw a fox in the garden.", "Foxes are bold in towns these days."),
    ("How far is a marathon?", "42.195 kilometres."),
    ("What should I read on holiday?", "A light mystery is a good holiday book."),
    ("My phone battery dies quickly.", "Lower the screen brightness to help."),
    ("Which fruit has the most vitamin C?", "Guava, ahead of oranges."),
    ("I'm bored on this call.", "Hang in there, it will end."),
    ("Give me a word for very happy.", "Elated."),
    ("How often should I water a cactus?", "Every two or three weeks."),
    ("What is the street food of Naples?", "Pizza, folded to go."),
    ("I lost my umbrella again.", "A bright one is harder to forget."),
    ("What's a nice number to pick for a raffle?", "Seventeen feels lucky."),
    ("Any idea for a rainy Sunday?", "Bake bread and watch a series."),
    ("Why is the sky blue?", "Air scatters blue light more than red."),
    ("Is tea healthier than coffee?", "Both are fine in moderation."),
    ("My cousin is getting married.", "Congratulations to them!"),
    ("How do you say thank you in Japanese?", "Arigatou."),
    ("I want to learn to juggle.", "Start with two balls, then three."),
    ("What's a quick dessert?", "Yoghurt with honey and nuts."),
    ("The printer jammed again.", "Check for a torn scrap inside."),
    ("Which planet is the largest?", "Jupiter."),
    ("Should I get a bike for commuting?", "If the route is safe, yes."),
    ("I finally cleaned my desk.", "Well done, enjoy the space."),
]


# -- the oracle: answers with the gold when it is in the prompt --------------------------------


def oracle() -> ScriptedLLM:
    """Says yes to every memory decision; answers a question with its gold when the gold is shown."""

    def respond(messages: list[dict]) -> str:
        text = prompt_text(messages)
        if "Answer yes or no" in text:
            return "yes"
        asked = messages[-1]["content"]  # the new message, not a recalled one
        for fact in FACTS:
            if fact["ask"] in asked:
                shown = text.replace(fact["ask"], "")
                return fact["answers"][0] if contains_answer(shown, fact["answers"]) else "I don't know."
        return "Noted."

    return ScriptedLLM(respond, model="oracle")


# -- the conversation ------------------------------------------------------------------------


def tell(chat: MemoryChat, filler: int, model_filler: bool, log: list[dict]) -> dict[str, int]:
    """Tell the facts (through the model) and then the filler; returns each fact's turn."""
    turns: dict[str, int] = {}
    small_talk = iter(FILLER * (1 + (filler + len(FACTS)) // len(FILLER)))

    def chatter() -> None:
        message, reply = next(small_talk)
        if model_filler:
            result = chat.run(message)
            log.append({"turn": result.turn, "user": message, "reply": result.reply, "s": result.seconds})
        else:
            chat.record(message, reply)

    for i, fact in enumerate(FACTS):
        result = chat.run(fact["tell"])
        turns[fact["id"]] = result.turn
        log.append({"turn": result.turn, "user": fact["tell"], "reply": result.reply, "s": result.seconds})
        if i < len(FACTS) - 1:
            chatter()
    for _ in range(filler):
        chatter()
    return turns


def score(reply: str, fact: dict) -> dict:
    answer = " ".join(extract_answer(reply, fact["ask"]).split())
    short = len(answer.split()) <= ANSWER_MAX_WORDS
    return {
        "answer": answer,
        "recalled": bool(short and contains_answer(answer, fact["answers"])),
        "em": exact_match(answer, fact["answers"]),
    }


def ask_memory(chat: MemoryChat, turns: dict[str, int]) -> list[dict]:
    records = []
    for fact in FACTS:
        result = chat.run(fact["ask"])
        told = turns[fact["id"]]
        records.append(
            {
                "id": fact["id"],
                "reply": result.reply,
                **score(result.reply, fact),
                "turns_back": result.turn - told,
                "needed_memory": result.needed_memory,
                "reached": any(m["turn"] == told for m in result.memories),
                "prompt_tokens": result.prompt_tokens,
                "seconds": result.seconds,
            }
        )
    return records


def history_messages(chat: MemoryChat) -> list[dict]:
    """The conversation so far as chat messages, read from the stream (oldest first)."""
    out: list[dict] = []
    for item in chat.stream.recent(len(chat.stream)):
        user, _, reply = item.content.partition("\nAssistant: ")
        out += [
            {"role": "user", "content": user.removeprefix("User: ")},
            {"role": "assistant", "content": reply},
        ]
    return out


def ask_plain(llm: LLM, history: list[dict], budget: int | None, max_tokens: int) -> list[dict]:
    """A plain chat: the last exchanges of `history` that fit `budget` tokens (all when None)."""
    if budget is not None:
        kept: list[dict] = []
        for i in range(len(history) - 2, -1, -2):
            pair = history[i : i + 2]
            if llm.count_tokens(pair + kept) > budget:
                break
            kept = pair + kept
        history = kept
    system = {"role": "system", "content": "You are a helpful assistant."}
    records = []
    for fact in FACTS:
        started = time.monotonic()
        reply = llm.complete_sync(
            [system, *history, {"role": "user", "content": fact["ask"]}], max_tokens=max_tokens
        )
        records.append(
            {
                "id": fact["id"],
                "reply": reply.text.strip(),
                **score(reply.text, fact),
                "history_turns": len(history) // 2,
                "prompt_tokens": reply.prompt_tokens,
                "seconds": time.monotonic() - started,
            }
        )
    return records


def summary_row(name: str, records: list[dict]) -> list[str]:
    n = len(records)
    reached = f"{sum(r['reached'] for r in records)}/{n}" if "reached" in records[0] else "-"
    tokens = sum(r["prompt_tokens"] for r in records) / n
    return [
        name,
        f"{sum(r['recalled'] for r in records)}/{n}",
        f"{sum(r['em'] for r in records):.0f}/{n}",
        reached,
        f"{tokens:,.0f}",
        f"{sum(r['seconds'] for r in records) / n:.1f}",
    ]




HEADER = ["run", "recalled", "EM", "reached", "prompt tok", "s/question"]
BASELINES = ("none", "window", "full")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help='a load_llm spec, or "oracle"')
    parser.add_argument("--embedder", default="minilm", help="minilm | hash (a new chat folder's default)")
    parser.add_argument("--ask-mode", action="store_true", help='also ask with mode "ask" (a copy)')
    parser.add_argument("--filler", type=int, default=50, help="small-talk turns after the facts")
    parser.add_argument("--model-filler", action="store_true", help="send the filler through the model")
    parser.add_argument("--memory-budget", type=int, default=1024)
    parser.add_argument("--max-reply-tokens", type=int, default=160)
    parser.add_argument("--baselines", default="none,window,full", help='comma-separated, or ""')
    parser.add_argument("--json", default=None, help="write every reply and the summary here")
    parser.add_argument("--verbose", action="store_true", help="print each reply")
    args = parser.parse_args(argv)
    baselines = [b for b in args.baselines.split(",") if b]
    for b in baselines:
        if b not in BASELINES:
            parser.error(f"unknown baseline {b!r}; choose from {', '.join(BASELINES)}")

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"bench_memory_real, {started}, model {args.model}, embedder {args.embedder}", flush=True)
    llm = oracle() if args.model == "oracle" else _load(args.model)
    options = {"memory_budget": args.memory_budget, "max_reply_tokens": args.max_reply_tokens}
    told_log: list[dict] = []
    out: dict = {"date": started, "model": args.model, "argv": sys.argv[1:] if argv is None else argv}
    with tempfile.TemporaryDirectory() as tmp:
        path, ablation, asking = (Path(tmp) / name for name in ("memory", "no-recall", "ask"))
        clock = time.monotonic()
        first = MemoryChat(llm, path=path, embedder=args.embedder, **options)
        turns = tell(first, args.filler, args.model_filler, told_log)
        history = history_messages(first)
        first.close()
        del first
        out["tell_seconds"] = time.monotonic() - clock
        shutil.copytree(path, ablation)
        shutil.copytree(path, asking)
        print(
            f"told {len(FACTS)} facts at turns {sorted(turns.values())}, then {args.filler} filler "
            f"turns ({out['tell_seconds']:.0f} s); restarting",
            flush=True,
        )

        runs: dict[str, list[dict]] = {}
        with MemoryChat(llm, path=path, **options) as restarted:  # embedder read back from the folder
            runs["MemoryChat after restart"] = ask_memory(restarted, turns)
        if args.ask_mode:
            with MemoryChat(llm, path=asking, mode="ask", **options) as restarted:
                runs["MemoryChat, mode ask (SCM), after restart"] = ask_memory(restarted, turns)
        if "none" in baselines:
            with MemoryChat(llm, path=ablation, mode="never", **options) as blind:
                runs["no memory (mode never) after restart"] = ask_memory(blind, turns)
        if "window" in baselines:
            runs[f"plain chat, last {args.memory_budget} tokens"] = ask_plain(
                llm, history, args.memory_budget, args.max_reply_tokens
            )
        if "full" in baselines:
            runs["plain chat, full history, no restart"] = ask_plain(
                llm, history, None, args.max_reply_tokens
            )
    if args.model != "oracle":
        llm.close()

    if args.verbose:
        for entry in told_log:
            print(f"  told (turn {entry['turn']}): {entry['user']!r} -> {entry['reply'][:160]!r}")
        for name, records in runs.items():
            for r in records:
                mark = "ok " if r["recalled"] else "MISS"
                print(f"  {mark} {name} / {r['id']}: {r['reply'][:200]!r}")
    rows = [summary_row(name, records) for name, records in runs.items()]
    print()
    print(markdown_table(rows, HEADER))
    if args.json:
        out |= {
            "told": told_log,
            "turns": turns,
            "summary": [dict(zip(HEADER, r, strict=True)) for r in rows],
        }
        out["runs"] = runs
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


def _load(spec: str) -> LLM:
    from longweave.llm import load_llm

    return load_llm(spec)


if __name__ == "__main__":
    sys.exit(main())
