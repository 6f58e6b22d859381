"""Citations as ``[source, location]``: find them in written text and check them against the corpus.

A report's sentence cites the passage it comes from, e.g. ``[reports/q3.txt, ¶12]``. Checking
is done in code, not by asking the model: a citation holds when

1. its source is a file of the corpus (its name as loaded, or a unique path suffix of it:
   ``q3.txt`` for ``reports/q3.txt``);
2. its location exists in that file: ``¶N`` or ``¶N-M`` (paragraphs, blocks of text between
   blank lines, counted from 1), ``lines N-M`` or ``chars N-M`` (offsets in the file's text);
3. the passage there supports the claim (the sentence without its citations): every quoted
   phrase is in the passage (verbatim after folding case, whitespace, quote marks and dashes,
   via `QuoteVerifier`), every number and every name (a capitalised word past the first) is
   in it, and at least half of the claim's content words are (``min_overlap``, matched on a
   five-letter stem so "reservoirs" meets "reservoir").

The rule is deliberately strict on names and numbers, the things fabricated citations get
wrong, and loose on wording, since a writer paraphrases. STORM-style reports are criticised for
citations that are missing or wrong (Shao et al., 2024, "Assisting in Writing Wikipedia-like
Articles From Scratch with Large Language Models", Section 6); this check is what catches them.

Deliberately not here: asking a model to judge support (``agents/citation_checker.py`` adds it
as an option), and rewriting a failed claim (also there).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cached_property

from longweave.agents.extractor import Evidence, QuoteVerifier
from longweave.text.documents import Corpus

_BRACKET = re.compile(r"\s?\[([^\[\]\n]{2,300})\]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE = re.compile(r".+?(?:[.!?]+[\"'”’)]*(?:\s*\[[^\[\]\n]+\])*(?=\s|$)|$)", re.S)
_QUOTE = re.compile(r"\"([^\"]{4,})\"|“([^”]{4,})”")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_]+", re.U)
_LOCATION = re.compile(
    r"^(?:(?P<para>¶|§|para(?:graph)?s?\.?|p\.)\s*(?P<p1>\d+)(?:\s*[-–]\s*(?:¶\s*)?(?P<p2>\d+))?"
    r"|(?P<line>lines?|l\.|ll\.)\s*(?P<l1>\d+)(?:\s*[-–]\s*(?P<l2>\d+))?"
    r"|(?P<char>chars?|characters?)\s*(?P<c1>\d+)\s*[-–]\s*(?P<c2>\d+))$",
    re.I,
)
_STOP = set(
    "a an the of for in on at to by and or but nor not no is are was were be been being has have had "
    "does do did will would shall should can could may might must what which who whom whose where "
    "when why how that this these those it its from with as into about than then there their they "
    "he she his her him we you your our i me my also both each other such more most very only over "
    "under per all any some while which according report reports says said shows showed noted".split()
)


@dataclass(slots=True)
class Citation:
    """One citation in the text, checked against the corpus.

    Attributes:
        source: the corpus file it names (resolved to the loaded name when found).
        location: where in it, as written (``¶12``, ``lines 3-9``...).
        passage: the corpus text the citation points to ("" when it points nowhere).
        claim: the sentence it supports, without its citations.
        verified: whether the passage exists and supports the claim.
        reason: why it is not verified ("" when it is).
        section: the index of the section it appears in (-1 outside a report).
        start: where the passage starts in the corpus text (-1 when it points nowhere).
        end: where it ends (exclusive).
    """

    source: str
    location: str
    passage: str
    claim: str
    verified: bool
    reason: str = ""
    section: int = -1
    start: int = -1
    end: int = -1

    @property
    def label(self) -> str:
        """The citation as it is written in the text: ``[source, location]``."""
        return f"[{self.source}, {self.location}]"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Sentence:
    """A sentence of written text, with the citations written in it (unchecked)."""

    text: str
    claim: str
    cited: list[tuple[str, str, str]]  # (raw bracket text, source, location)


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph; a citation after the full stop stays with its sentence."""
    return [m[0].strip() for m in _SENTENCE.finditer(text) if m[0].strip()]


def parse_sentence(sentence: str) -> Sentence:
    """A sentence's claim and its ``[source, location]`` citations (``;`` separates several)."""
    cited = []
    for m in _BRACKET.finditer(sentence):
        for part in m[1].split(";"):
            source, comma, location = part.rpartition(",")
            if comma and source.strip() and location.strip():
                cited.append((m[0], source.strip().strip("`'\""), location.strip()))
    claim = _BRACKET.sub(lambda m: "" if _is_citation(m[1]) else m[0], sentence)
    claim = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(claim.split()))
    return Sentence(sentence, claim, cited)


def _is_citation(inner: str) -> bool:
    return any("," in part for part in inner.split(";"))


class CorpusMap:
    """Locations in a corpus: file names, paragraphs and lines, resolved to spans of its text.

    Args:
        corpus: the loaded corpus (each file's span kept in ``corpus.sources``).
    """

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._by_name = {s.name: s for s in corpus.sources}
        self._paragraphs: dict[str, list[tuple[int, int]]] = {}

    @cached_property
    def _suffixes(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name in self._by_name:
            parts = name.replace("\\", "/").split("/")
            for k in range(1, len(parts)):
                out.setdefault("/".join(parts[k:]).lower(), []).append(name)
        return out

    def resolve(self, name: str) -> str | None:
        """The corpus file `name` means: exact, else case-insensitive, else a unique path suffix."""
        if name in self._by_name:
            return name
        folded = name.replace("\\", "/").lstrip("./").lower()
        exact = [n for n in self._by_name if n.replace("\\", "/").lower() == folded]
        if len(exact) == 1:
            return exact[0]
        matches = self._suffixes.get(folded, [])
        return matches[0] if len(matches) == 1 else None

    def paragraphs(self, name: str) -> list[tuple[int, int]]:
        """Spans (in the corpus text) of the file's paragraphs, in order."""
        if name not in self._paragraphs:
            src = self._by_name[name]
            text = self.corpus.text[src.start : src.end]
            bounds, start = [], 0
            for m in _PARAGRAPH_BREAK.finditer(text):
                bounds.append((start, m.start()))
                start = m.end()
            bounds.append((start, len(text)))
            self._paragraphs[name] = [
                (src.start + a + _lead(text[a:b]), src.start + b - _trail(text[a:b]))
                for a, b in bounds
                if text[a:b].strip()
            ]
        return self._paragraphs[name]

    def span(self, name: str, location: str) -> tuple[int, int] | str:
        """The corpus span a location of file `name` points to, or why it points nowhere."""
        m = _LOCATION.match(location.strip())
        if not m:
            return f"the location {location!r} is not of the form ¶N, lines N-M or chars N-M"
        src = self._by_name[name]
        if m["para"]:
            paras = self.paragraphs(name)
            a, b = int(m["p1"]), int(m["p2"] or m["p1"])
            if not 1 <= a <= b <= len(paras):
                return f"{name} has {len(paras)} paragraphs, so ¶{a}{f'-{b}' if b != a else ''} is not one"
            return paras[a - 1][0], paras[b - 1][1]
        if m["line"]:
            text = self.corpus.text[src.start : src.end]
            starts = [0, *(i + 1 for i, ch in enumerate(text) if ch == "\n")]
            a, b = int(m["l1"]), int(m["l2"] or m["l1"])
            if not 1 <= a <= b <= len(starts):
                return f"{name} has {len(starts)} lines, so lines {a}-{b} are not in it"
            end = starts[b] - 1 if b < len(starts) else len(text)
            return src.start + starts[a - 1], src.start + end
        a, b = int(m["c1"]), int(m["c2"])
        if not 0 <= a < b <= src.end - src.start:
            return f"{name} has {src.end - src.start} characters, so chars {a}-{b} are not in it"
        return src.start + a, src.start + b


def _lead(text: str) -> int:
    return len(text) - len(text.lstrip())


def _trail(text: str) -> int:
    return len(text) - len(text.rstrip())


def content_stems(text: str) -> set[str]:
    """Content words of `text`, lower-cased, stop words out, cut to a five-letter stem."""
    return {w[:5] for w in (w.lower() for w in _WORD.findall(text)) if len(w) > 2 and w not in _STOP}


def _digits(number: str) -> str:
    return re.sub(r"[.,]", "", number)


def _names(text: str) -> set[str]:
    """Capitalised words past a sentence's first word: the names a claim makes."""
    return {w for w in _WORD.findall(text)[1:] if w[0].isupper() and w.lower() not in _STOP}


def supports(claim: str, passage: str, *, min_overlap: float = 0.5) -> str | None:
    """Why `passage` does not support `claim`, or None when it does (the rule above)."""
    for m in _QUOTE.finditer(claim):
        quote = m[1] or m[2]
        if not isinstance(QuoteVerifier([(passage, 0)], threshold=1.01).verify(quote), Evidence):
            return f"the quoted text {quote[:60]!r} is not in the cited passage"
    in_passage = {_digits(n) for n in _NUMBER.findall(passage)}
    missing = [n for n in _NUMBER.findall(claim) if _digits(n) not in in_passage]
    if missing:
        return f"the cited passage does not contain {', '.join(dict.fromkeys(missing))}"
    names = _names(claim) - set(_WORD.findall(passage))
    if names:
        return f"the cited passage does not name {', '.join(sorted(names))}"
    words = content_stems(claim)
    if not words:
        return None if _NUMBER.search(claim) else "the claim has no content words to check"
    shared = words & content_stems(passage)
    if len(shared) < min(2, len(words)) or len(shared) < min_overlap * len(words):
        return f"the cited passage shares {len(shared)} of the claim's {len(words)} content words"
    return None


class CitationRules:
    """Checks each citation of a sentence against the corpus by the rules of this module.

    Args:
        corpus_map: the corpus's locations.
        min_overlap: the share of the claim's content words the passage must hold (default 0.5).
    """

    def __init__(self, corpus_map: CorpusMap, *, min_overlap: float = 0.5) -> None:
        self.map = corpus_map
        self.min_overlap = min_overlap

    def check(self, sentence: Sentence, section: int = -1) -> list[Citation]:
        """One `Citation` per citation in `sentence`, verified or with its reason."""
        out = []
        for _, source, location in sentence.cited:
            name = self.map.resolve(source)
            if name is None:
                out.append(
                    Citation(
                        source, location, "", sentence.claim, False, "no such file in the corpus", section
                    )
                )
                continue
            span = self.map.span(name, location)
            if isinstance(span, str):
                out.append(Citation(name, location, "", sentence.claim, False, span, section))
                continue
            passage = self.map.corpus.text[span[0] : span[1]]
            reason = supports(sentence.claim, passage, min_overlap=self.min_overlap)
            out.append(
                Citation(
                    name, location, passage, sentence.claim, reason is None, reason or "", section, *span
                )
            )
        return out


__all__ = [
    "Citation",
    "CitationRules",
    "CorpusMap",
    "Sentence",
    "content_stems",
    "parse_sentence",
    "split_sentences",
    "supports",
]
