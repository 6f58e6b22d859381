"""Needle-in-a-haystack tasks: facts hidden at chosen depths of a generated document.

`make_needle_task(tokens=..., hops=1|2, depths=..., seed=...)` builds a document of about
`tokens` tokens of filler prose with the facts (needles) inserted at sentence boundaries at the
given depths (0.0 = start, 1.0 = end), plus a question and its gold answer:

- one hop: "The secret code for the amber lantern is vermilion-4821." asked as
  "What is the secret code for the amber lantern?"
- two hops: "The amber lantern is kept by Zorvath." ... "Zorvath lives in the town of
  Quillmere." asked as "In which town does the keeper of the amber lantern live?"; the second
  half shares no words with the question, so a reader must carry the name from the first.

Distractor facts about other objects sit elsewhere in the document, so a reader that answers
from the wrong fact scores zero. Everything is deterministic given `seed`. The filler's
vocabulary shares no word with the needles' and has no capitalised word except at a sentence
start, so rule-based test models (`longweave.eval.rule_reader`) can tell facts from filler.

`solve(question, context)` answers a generated question from a context by the facts' patterns:
the oracle a rule-based model uses, which can only succeed if the facts reached it.

Deliberately not here: natural-language haystacks (Paul Graham essays and the like need a
download) and scoring (see `longweave.eval.qa`).
"""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from longweave.errors import ConfigError
from longweave.text.tokenizer import Tokenizer, get_tokenizer

_F_NOUNS = (
    "river", "meadow", "harbour", "orchard", "valley", "bridge", "market", "garden", "forest",
    "mill", "quarry", "canal", "pasture", "chapel", "granary", "ferry", "vineyard", "workshop",
    "harvest", "season", "weather", "tide", "road", "path", "hill", "field", "barn", "wagon",
)  # fmt: skip
_F_ADJS = (
    "quiet", "busy", "narrow", "broad", "old", "muddy", "sunny", "windy", "damp", "steep",
    "gentle", "crowded", "empty", "distant", "familiar", "green", "grey", "pale", "warm", "cold",
)  # fmt: skip
_F_VERBS = (
    "shaped", "changed", "crossed", "followed", "framed", "filled", "sheltered", "bordered",
    "divided", "joined", "watched", "fed", "slowed", "lifted", "carried", "softened",
)  # fmt: skip
_F_PEOPLE = (
    "farmers", "traders", "fishermen", "weavers", "millers", "travellers", "children", "carters",
    "masons", "shepherds", "bakers", "boatmen",
)  # fmt: skip
_F_TEMPLATES = (
    "The {a1} {n1} {v} the {a2} {n2} for many years.",
    "In the {a1} months the {p} {v} the {n1} near the {n2}.",
    "Most {p} agreed that the {n1} was {a1} and the {n2} was {a2}.",
    "Every morning the {p} walked past the {a1} {n1} towards the {n2}.",
    "Nobody could remember when the {n1} last {v} the {a2} {n2}.",
    "Records from the {n1} describe a {a1} {n2} that {v} the {p}.",
    "After the {a1} {n1}, the {p} rebuilt the {n2} with great care.",
    "Some {p} said the {a2} {n2} had always {v} the {n1}.",
)

_N_ADJS = (
    "amber", "crimson", "silver", "cobalt", "ivory", "jade", "scarlet", "golden", "violet",
    "copper", "onyx", "saffron", "teal", "bronze", "ochre", "indigo",
)  # fmt: skip
_N_NOUNS = (
    "lantern", "compass", "chalice", "locket", "sextant", "hourglass", "telescope", "amulet",
    "inkwell", "music box", "key", "mirror", "quill", "globe", "sundial", "medallion",
)  # fmt: skip
_CODE_WORDS = (
    "vermilion", "kestrel", "obsidian", "tundra", "zephyr", "quartz", "falcon", "glacier",
    "ember", "nimbus", "cypress", "marlin",
)  # fmt: skip
_SYLLABLES = (
    "zor",
    "vath",
    "qui",
    "lmer",
    "dra",
    "kel",
    "myr",
    "thos",
    "bel",
    "xan",
    "ryn",
    "gor",
    "vel",
    "tar",
)

_ONE_HOP_Q = re.compile(r"What is the secret code for the ([a-z]+ [a-z ]+?)\?", re.I)
_TWO_HOP_Q = re.compile(r"In which town does the keeper of the ([a-z]+ [a-z ]+?) live\?", re.I)


@dataclass(slots=True)
class Needle:
    """One inserted fact: its sentence, its character offset in the document, its depth."""

    text: str
    start: int
    depth: float


@dataclass
class NeedleTask:
    """A generated document with a question whose answer only its needles give.

    Attributes:
        document: the haystack with the needles in it.
        question: the question asked.
        answer: the gold answer.
        hops: 1 or 2.
        needles: the facts the answer needs, in document order.
        distractors: facts about other objects, which must not be used.
        tokens: the document's length in tokens.
        seed: the seed it was generated from.
    """

    document: str
    question: str
    answer: str
    hops: int
    needles: list[Needle]
    distractors: list[Needle] = field(default_factory=list)
    tokens: int = 0
    seed: int = 0


def _name(rng: random.Random, n: int = 2) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(n)).capitalize()


def _filler_sentence(rng: random.Random) -> str:
    n1, n2 = rng.sample(_F_NOUNS, 2)
    a1, a2 = rng.sample(_F_ADJS, 2)
    return rng.choice(_F_TEMPLATES).format(
        n1=n1, n2=n2, a1=a1, a2=a2, v=rng.choice(_F_VERBS), p=rng.choice(_F_PEOPLE)
    )


def filler(tokens: int, *, seed: int = 0, tokenizer: Tokenizer | None = None) -> str:
    """About `tokens` tokens of deterministic filler prose in paragraphs of 4-9 sentences."""
    tok = tokenizer or get_tokenizer()
    rng = random.Random(f"filler-{seed}")
    pool = [_filler_sentence(rng) for _ in range(2048)]
    per_sentence = tok.count(" ".join(pool)) / len(pool)

    def build(n: int) -> str:
        sentences = rng.choices(pool, k=max(1, n))
        paragraphs, i = [], 0
        while i < len(sentences):
            size = rng.randint(4, 9)
            paragraphs.append(" ".join(sentences[i : i + size]))
            i += size
        return "\n\n".join(paragraphs) + "\n"

    text = build(round(tokens / per_sentence))
    actual = tok.count(text)
    if abs(actual - tokens) > 0.02 * tokens:  # one correction for paragraph breaks' tokens
        text = build(round(tokens / per_sentence * tokens / max(1, actual)))
    return text


def _insert(text: str, facts: Sequence[tuple[str, float]]) -> tuple[str, list[int]]:
    """Insert each (sentence, depth) at the first sentence boundary at or after that depth."""
    boundaries = [m.end() for m in re.finditer(r"(?<=\.) (?=[A-Z])|\n\n", text)]
    boundaries = [0, *boundaries]
    placed = []
    for i, (sentence, depth) in enumerate(facts):
        target = int(min(max(depth, 0.0), 1.0) * len(text))
        j = min(bisect.bisect_left(boundaries, target), len(boundaries) - 1)
        placed.append((boundaries[j], i, sentence))
    out, last, starts = [], 0, [0] * len(facts)
    length = 0
    for pos, i, sentence in sorted(placed):
        out.append(text[last:pos])
        length += pos - last
        starts[i] = length
        out.append(sentence + " ")
        length += len(sentence) + 1
        last = pos
    out.append(text[last:])
    return "".join(out), starts


def make_needle_task(
    tokens: int = 8000,
    *,
    hops: int = 1,
    depths: Sequence[float] | float | None = None,
    distractors: int = 2,
    seed: int = 0,
    tokenizer: Tokenizer | None = None,
) -> NeedleTask:
    """Generate one needle task.

    Args:
        tokens: the document's approximate length in tokens (cl100k by default).
        hops: 1 (one fact answers) or 2 (a fact names a person, another says where they live).
        depths: where each needle goes, 0.0-1.0; default 0.5 for one hop, (0.25, 0.75) for two.
        distractors: how many facts about other objects to scatter through the document.
        seed: everything random derives from it.
        tokenizer: counts `tokens`.

    Example:
        >>> task = make_needle_task(2000, hops=2, seed=1)
        >>> solve(task.question, task.document) == task.answer
        True
    """
    if hops not in (1, 2):
        raise ConfigError(f"hops must be 1 or 2 (got {hops}).")
    if depths is None:
        depths = (0.5,) if hops == 1 else (0.25, 0.75)
    elif isinstance(depths, int | float):
        depths = (float(depths),)
    if len(depths) != hops:
        raise ConfigError(f"give one depth per hop: {hops} hop(s), {len(depths)} depth(s).")
    tok = tokenizer or get_tokenizer()
    rng = random.Random(f"needle-{seed}-{hops}")
    things = [
        f"{a} {n}"
        for a, n in zip(
            rng.sample(_N_ADJS, 1 + distractors), rng.sample(_N_NOUNS, 1 + distractors), strict=True
        )
    ]
    thing = things[0]
    facts: list[tuple[str, float]] = []
    if hops == 1:
        answer = f"{rng.choice(_CODE_WORDS)}-{rng.randint(1000, 9999)}"
        facts.append((f"The secret code for the {thing} is {answer}.", depths[0]))
        question = f"What is the secret code for the {thing}?"
        others = [
            f"The secret code for the {t} is {rng.choice(_CODE_WORDS)}-{rng.randint(1000, 9999)}."
            for t in things[1:]
        ]
    else:
        names = []
        while len(names) < 1 + distractors:
            name = _name(rng)
            if name not in names:
                names.append(name)
        answer = _name(rng, 3)
        facts.append((f"The {thing} is kept by {names[0]}.", depths[0]))
        facts.append((f"{names[0]} lives in the town of {answer}.", depths[1]))
        question = f"In which town does the keeper of the {thing} live?"
        others = [f"The {t} is kept by {n}." for t, n in zip(things[1:], names[1:], strict=True)]
        others += [f"{n} lives in the town of {_name(rng, 3)}." for n in names[1:]]
    other_depths = [rng.uniform(0.05, 0.95) for _ in others]
    needle_tokens = sum(tok.count(f) for f, _ in facts) + sum(tok.count(o) for o in others)
    hay = filler(max(64, tokens - needle_tokens), seed=seed, tokenizer=tok)
    document, starts = _insert(hay, [*facts, *zip(others, other_depths, strict=True)])
    needles = [Needle(f, s, d) for (f, d), s in zip(facts, starts, strict=False)]
    extra = [Needle(o, s, d) for o, d, s in zip(others, other_depths, starts[len(facts) :], strict=True)]
    return NeedleTask(document, question, answer, hops, needles, extra, tok.count(document), seed)


def needle_suite(
    lengths: Sequence[int],
    *,
    depths: Sequence[float] = (0.1, 0.5, 0.9),
    hops: Sequence[int] = (1, 2),
    seed: int = 0,
    tokenizer: Tokenizer | None = None,
) -> list[NeedleTask]:
    """Tasks at every length, depth and hop count; two-hop tasks put the bridge fact first."""
    tasks = []
    for n in lengths:
        for h in hops:
            for i, d in enumerate(depths):
                where = (d,) if h == 1 else (d * 0.5, d * 0.5 + 0.5)
                tasks.append(make_needle_task(n, hops=h, depths=where, seed=seed + i, tokenizer=tokenizer))
    return tasks


def solve(question: str, context: str) -> str | None:
    """Answer a generated question from `context` by the facts' patterns; None if they are absent."""
    m = _ONE_HOP_Q.search(question)
    if m:
        fact = re.search(rf"The secret code for the {re.escape(m[1])} is ([\w-]+)\.", context)
        return fact[1] if fact else None
    m = _TWO_HOP_Q.search(question)
    if m:
        keeper = re.search(rf"The {re.escape(m[1])} is kept by ([A-Z][a-z]+)\.", context)
        if not keeper:
            return None
        town = re.search(rf"{keeper[1]} lives in the town of ([A-Z][a-z]+)\.", context)
        return town[1] if town else None
    return None


__all__ = ["Needle", "NeedleTask", "filler", "make_needle_task", "needle_suite", "solve"]
