import io
import random

import pytest

from longweave.errors import BudgetError
from longweave.text import chunk, iter_chunks


def _corpus(seed: int = 0, paragraphs: int = 200) -> str:
    rng = random.Random(seed)
    words = "alpha beta gamma delta epsilon river mountain 河流 山脉 naïve café don't x1 😀".split()
    paras = []
    for _ in range(paragraphs):
        sentences = []
        for _ in range(rng.randint(1, 12)):
            n = rng.randint(1, 40)
            sentences.append(" ".join(rng.choice(words) for _ in range(n)) + rng.choice(".!?。"))
        paras.append(" ".join(sentences))
    return rng.choice(["\n\n", "\n \n", "\n\n\n"]).join(paras) + "\n"


@pytest.mark.parametrize("max_tokens", [4, 5, 17, 64, 300, 5000])
def test_chunks_join_back_and_fit(max_tokens, tokenizer):
    text = _corpus(max_tokens)
    parts = chunk(text, max_tokens)
    assert "".join(parts) == text
    counts = [tokenizer.count(p) for p in parts]
    assert max(counts) <= max_tokens
    assert [p.tokens for p in parts] == counts  # reported counts are the tokenizer's own
    assert [p.start for p in parts] == [sum(map(len, parts[:i])) for i in range(len(parts))]


def test_prefers_paragraph_then_sentence_boundaries():
    text = "First para sentence one. Sentence two.\n\nSecond para here. And more.\n\n"
    parts = chunk(text, 12)
    assert parts[0].endswith("\n\n")  # a whole paragraph fits, cut at its end
    small = chunk("One two three. Four five six. Seven eight nine.", 5)
    assert [p.strip()[-1] for p in small] == [".", ".", "."]


def test_text_without_any_boundary_is_cut_by_tokens(tokenizer):
    text = "x" * 5000 + "é" * 300  # no spaces, no punctuation, multi-byte tail
    parts = chunk(text, 50)
    assert "".join(parts) == text
    assert all(tokenizer.count(p) <= 50 for p in parts)


def test_packs_greedily(tokenizer):
    text = "word. " * 1000
    parts = chunk(text, 100)
    assert all(tokenizer.count(p) >= 98 for p in parts[:-1])


def test_budget_below_one_character_is_refused():
    assert "".join(chunk("abc def", 1)) == "abc def"
    with pytest.raises(BudgetError, match="raise max_tokens"):
        chunk("an emoji 😀 takes three tokens", 1)


def test_empty_and_bad_budget():
    assert chunk("", 10) == []
    with pytest.raises(BudgetError, match="at least 1"):
        chunk("text", 0)


def test_streaming_matches_whole_text_and_bounded_blocks(tokenizer):
    text = _corpus(7, paragraphs=400)
    streamed = list(iter_chunks(io.StringIO(text), 64, block_chars=2000))
    assert "".join(streamed) == text
    assert all(tokenizer.count(p) <= 64 for p in streamed)
    assert all(text[p.start : p.end] == p for p in streamed)
    lines = list(iter_chunks(iter(text.splitlines(keepends=True)), 64, block_chars=500))
    assert "".join(lines) == text


def test_custom_tokenizer_budget_is_respected():
    from longweave.text import CallableTokenizer

    chars = CallableTokenizer("chars", lambda s: list(s.encode()), lambda ids: bytes(ids).decode())
    text = _corpus(3, paragraphs=30)
    parts = chunk(text, 40, chars)
    assert "".join(parts) == text
    assert max(len(p.encode()) for p in parts) <= 40
