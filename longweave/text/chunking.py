"""Split text into chunks of at most N tokens, losslessly.

`chunk` cuts at paragraph breaks first, then at sentence ends (and single newlines), then at
token boundaries, and packs the pieces greedily so chunks are as full as the budget allows.
Every piece keeps its trailing whitespace, so ``"".join(chunk(text, n)) == text`` always holds,
and every chunk's token count is verified with the tokenizer itself, so none exceeds ``n``.

`iter_chunks` does the same over a stream (a file object or any iterable of strings) with
bounded memory, for inputs larger than memory.

Deliberately not here: overlapping windows (they break lossless joins; pipelines that want
context from the previous chunk carry it in their own state) and file decoding (see the
document loaders).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TextIO

from longweave.errors import BudgetError
from longweave.text.tokenizer import Tokenizer, get_tokenizer

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE = re.compile(r"[.!?。！？…]+[\"'”’)\]]*\s+|\n+|(?<=[。！？])")
_SPACE = re.compile(r"\s+")


class Chunk(str):
    """A piece of the source text that also knows where it starts and how many tokens it has."""

    start: int
    tokens: int

    def __new__(cls, text: str, start: int = 0, tokens: int = 0) -> Chunk:
        obj = super().__new__(cls, text)
        obj.start = start
        obj.tokens = tokens
        return obj

    @property
    def end(self) -> int:
        return self.start + len(self)


def _split_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Cut `text` right after every match of `pattern`; the pieces join back to `text`."""
    cuts = [m.end() for m in pattern.finditer(text) if 0 < m.end() < len(text)]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _split_by_tokens(piece: str, max_tokens: int, tok: Tokenizer) -> list[str]:
    """Cut a piece with no usable boundary into prefixes of at most `max_tokens` tokens."""
    parts: list[str] = []
    rest = piece
    while rest:
        total = tok.count(rest)
        if total <= max_tokens:
            parts.append(rest)
            break
        # Binary search for the longest prefix that fits, starting from a proportional guess.
        lo, hi = 0, len(rest)
        guess = max(1, min(hi, len(rest) * max_tokens // total))
        if tok.count(rest[:guess]) <= max_tokens:
            lo = guess
        else:
            hi = guess - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if tok.count(rest[:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        if lo == 0:
            raise BudgetError(
                f"the character {rest[0]!r} alone takes {tok.count(rest[0])} tokens, more than "
                f"max_tokens={max_tokens}; raise max_tokens."
            )
        parts.append(rest[:lo])
        rest = rest[lo:]
    return parts


def _estimate(piece: str, n: int, tok: Tokenizer) -> int:
    """Tokens `piece` adds when followed by more text.

    cl100k-style tokenizers fold a trailing space into the next word (" word"), so a piece
    ending in spaces costs fewer tokens inside a chunk than alone.
    """
    stripped = piece.rstrip(" ")
    return n if stripped == piece or not stripped else tok.count(stripped)


def _pieces(text: str, max_tokens: int, tok: Tokenizer) -> list[tuple[str, int]]:
    """Break `text` into (piece, tokens) no larger than `max_tokens`, coarsest cut first."""
    out: list[tuple[str, int]] = []
    paragraphs = _split_after(text, _PARAGRAPH)
    for para, n in zip(paragraphs, tok.count_many(paragraphs), strict=True):
        if n <= max_tokens:
            out.append((para, n))
            continue
        sentences = _split_after(para, _SENTENCE)
        for sent, m in zip(sentences, tok.count_many(sentences), strict=True):
            if m <= max_tokens:
                out.append((sent, m))
                continue
            words = _split_after(sent, _SPACE)
            for word, k in zip(words, tok.count_many(words), strict=True):
                if k <= max_tokens:
                    out.append((word, k))
                else:
                    out.extend((p, tok.count(p)) for p in _split_by_tokens(word, max_tokens, tok))
    return out


def _pack(text: str, max_tokens: int, tok: Tokenizer) -> list[Chunk]:
    """Greedy packing on estimates, each chunk verified (and corrected) with the tokenizer."""
    pieces = _pieces(text, max_tokens, tok)
    est = [_estimate(p, n, tok) if n > 1 else n for p, n in pieces]
    out: list[Chunk] = []
    start = i = 0
    while i < len(pieces):
        j, total = i + 1, est[i]
        while j < len(pieces) and total + est[j] <= max_tokens:
            total += est[j]
            j += 1
        joined = "".join(p for p, _ in pieces[i:j])
        n = pieces[i][1] if j == i + 1 else tok.count(joined)
        while n > max_tokens:  # the estimate was low: give back pieces from the end
            j -= 1
            joined = "".join(p for p, _ in pieces[i:j])
            n = pieces[i][1] if j == i + 1 else tok.count(joined)
        while j < len(pieces) and n + est[j] <= max_tokens:  # the estimate was high: take more
            grown = joined + pieces[j][0]
            m = tok.count(grown)
            if m > max_tokens:
                break
            joined, n, j = grown, m, j + 1
        out.append(Chunk(joined, start, n))
        start += len(joined)
        i = j
    return out


def chunk(text: str, max_tokens: int, tokenizer: Tokenizer | None = None) -> list[Chunk]:
    """Split `text` into chunks of at most `max_tokens` tokens that join back to `text`.

    Args:
        text: the text to split.
        max_tokens: the largest chunk, in tokens of `tokenizer`.
        tokenizer: defaults to cl100k_base (offline-capable); pass the model's own tokenizer
            (``llm.tokenizer``) when budgets must match the model exactly.

    Returns:
        `Chunk` strings (``.start`` offset into `text`, ``.tokens`` count), in order.

    Raises:
        BudgetError: `max_tokens` is below 1, or one character alone needs more tokens.

    Example:
        >>> parts = chunk("One. Two.\\n\\nThree.", max_tokens=3)
        >>> "".join(parts)
        'One. Two.\\n\\nThree.'
    """
    if max_tokens < 1:
        raise BudgetError(f"max_tokens must be at least 1 (got {max_tokens}); raise the budget.")
    if not text:
        return []
    return _pack(text, max_tokens, tokenizer or get_tokenizer())


def iter_chunks(
    source: str | TextIO | Iterable[str],
    max_tokens: int,
    tokenizer: Tokenizer | None = None,
    *,
    block_chars: int = 1 << 20,
) -> Iterator[Chunk]:
    """Chunk a stream with bounded memory; the chunks join back to the whole stream.

    Reads about `block_chars` characters at a time, chunks what it holds, and keeps only the
    last (possibly unfinished) chunk for the next round, so memory stays near
    ``block_chars`` whatever the input's size. ``Chunk.start`` offsets are into the whole stream.

    Args:
        source: a string, an open text file, or any iterable of strings (lines, blocks).
        max_tokens: the largest chunk, in tokens.
        tokenizer: as for `chunk`.
        block_chars: how much text to read before chunking.
    """
    if max_tokens < 1:
        raise BudgetError(f"max_tokens must be at least 1 (got {max_tokens}); raise the budget.")
    if isinstance(source, str):
        yield from chunk(source, max_tokens, tokenizer)
        return
    tok = tokenizer or get_tokenizer()
    blocks = _blocks(source, block_chars)
    buffer = ""
    offset = 0
    for block in blocks:
        buffer += block
        if len(buffer) < block_chars:
            continue
        parts = chunk(buffer, max_tokens, tok)
        for part in parts[:-1]:
            yield Chunk(part, offset + part.start, part.tokens)
        last = parts[-1]
        offset += last.start
        buffer = str(last)
    for part in chunk(buffer, max_tokens, tok):
        yield Chunk(part, offset + part.start, part.tokens)


def _blocks(source: TextIO | Iterable[str], block_chars: int) -> Iterator[str]:
    read = getattr(source, "read", None)
    if callable(read):
        while block := read(block_chars):
            yield block
    else:
        yield from source
