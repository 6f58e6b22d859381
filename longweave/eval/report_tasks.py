"""Generated report tasks: a corpus of files with planted facts, and how to score a cited report.

`make_report_corpus(files, facts)` writes a synthetic corpus: each file surveys one invented
site (a name no other file uses, so retrieval must find the right file), in paragraphs of
plain sentences; `facts` of the files also hold one planted fact, a sentence with a unique
number. Scoring, independent of the pipeline's own checker:

- `citation_precision`: the share of citations in a text whose ``[source, ¶N]`` is a passage
  of the corpus that contains the cited sentence (after folding case, spaces and punctuation);
- `fact_coverage`: the share of planted facts that reach the text with a citation pointing to
  their file and a passage holding them.

Deliberately not here: quality of prose (a rule-based model writes none).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from longweave.agents.citations import CorpusMap, parse_sentence, split_sentences
from longweave.text.documents import Corpus, Document

_SYLLABLES = "ka lo ven tir mas dor pel un rah sil bex qua mor zen tal ith gor fen ost lum".split()
_KINDS = ["harbour", "reservoir", "orchard", "quarry", "observatory", "mill", "archive", "vineyard"]
_FILLER = [
    "Visitors to {name} describe the {kind} as quiet in winter and busy in summer.",
    "The {kind} at {name} was surveyed again after the spring floods.",
    "Local records of {name} mention repairs to the {kind} roof in several decades.",
    "Walking paths around the {name} {kind} are kept by volunteers.",
    "The {name} council meets twice a year to discuss the {kind}.",
    "Photographs of the {name} {kind} hang in the town hall.",
    "In {year} the {name} {kind} welcomed {count} visitors.",
    "A census of {year} counted {count} households near the {name} {kind}.",
    "The road to the {name} {kind} was widened in {year}.",
    "Maintenance of the {name} {kind} cost {count} crowns in {year}.",
]


@dataclass(slots=True)
class PlantedFact:
    """A fact planted in one file: its file, the sentence, and the value that identifies it."""

    file: str
    sentence: str
    value: str
    topic: str


@dataclass
class ReportTask:
    """A corpus (``{name: text}``) and the facts planted in it."""

    corpus: dict[str, str]
    facts: list[PlantedFact] = field(default_factory=list)


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rng.sample(_SYLLABLES, 3)).capitalize()
        if name not in used:
            used.add(name)
            return name


def make_report_corpus(files: int = 30, facts: int = 1, *, paragraphs: int = 6, seed: int = 0) -> ReportTask:
    """A synthetic corpus of `files` site surveys, `facts` of them holding a planted fact.

    Example:
        >>> task = make_report_corpus(3, 1, seed=1)
        >>> len(task.corpus), task.facts[0].value in task.corpus[task.facts[0].file]
        (3, True)
    """
    rng = random.Random(seed)
    used: set[str] = set()
    planted = set(rng.sample(range(files), min(facts, files)))
    corpus, found = {}, []
    for k in range(files):
        name, kind = _name(rng, used), _KINDS[k % len(_KINDS)]
        paras = [
            f"Survey of the {name} {kind}. The {kind} at {name} was founded in {1700 + rng.randrange(300)}."
        ]
        for _ in range(paragraphs - 1):
            picks = rng.sample(_FILLER, 3)
            paras.append(
                " ".join(
                    s.format(
                        name=name, kind=kind, year=1800 + rng.randrange(220), count=rng.randrange(20, 5000)
                    )
                    for s in picks
                )
            )
        file = f"sites/site_{k:03d}.txt"
        if k in planted:
            value = f"{rng.randrange(1000, 9999):,}"
            sentence = f"The {name} {kind} holds a reserve of {value} tonnes of grain."
            where = 1 + rng.randrange(paragraphs - 1)
            paras[where] = f"{paras[where]} {sentence}"
            found.append(PlantedFact(file, sentence, value, f"grain reserve of the {name} {kind}"))
        corpus[file] = "\n\n".join(paras) + "\n"
    return ReportTask(corpus, found)


def _fold(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def citation_precision(text: str, corpus: Corpus | dict[str, str]) -> tuple[float, int]:
    """(share of citations whose passage is in the corpus and contains the cited sentence, count)."""
    if isinstance(corpus, dict):
        corpus = Corpus.from_documents(Document(n, t) for n, t in corpus.items())
    cmap = CorpusMap(corpus)
    good = total = 0
    body = text.split("\n## Sources\n", 1)[0]
    for para in re.split(r"\n\s*\n", body):
        for raw in split_sentences(para):
            sentence = parse_sentence(raw)
            for _, source, location in sentence.cited:
                total += 1
                name = cmap.resolve(source)
                span = cmap.span(name, location) if name else "missing"
                if not isinstance(span, str) and _fold(sentence.claim) in _fold(
                    corpus.text[span[0] : span[1]]
                ):
                    good += 1
    return (good / total if total else 1.0), total


def fact_coverage(result, facts: list[PlantedFact]) -> float:
    """Share of `facts` in ``result.text`` with a held citation to their file and a passage holding them."""
    if not facts:
        return 1.0
    hit = 0
    for fact in facts:
        if (
            any(
                c.verified and c.source == fact.file and fact.value in c.passage and fact.value in c.claim
                for c in result.citations
            )
            and fact.value in result.text
        ):
            hit += 1
    return hit / len(facts)


__all__ = ["PlantedFact", "ReportTask", "citation_precision", "fact_coverage", "make_report_corpus"]
