"""Tokens, chunks and words: the text layer every pipeline measures budgets with."""

from longweave.text.chunking import Chunk, chunk, iter_chunks
from longweave.text.tokenizer import (
    CallableTokenizer,
    TiktokenTokenizer,
    Tokenizer,
    get_tokenizer,
    hf_tokenizer,
)
from longweave.text.words import count_words, word_spans

__all__ = [
    "CallableTokenizer",
    "Chunk",
    "TiktokenTokenizer",
    "Tokenizer",
    "chunk",
    "count_words",
    "get_tokenizer",
    "hf_tokenizer",
    "iter_chunks",
    "word_spans",
]
