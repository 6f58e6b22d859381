"""Tokens, chunks and words: the text layer every pipeline measures budgets with."""

from longweave.text.chunking import Chunk, chunk, iter_chunks
from longweave.text.documents import Corpus, Document, Source, load_corpus, load_document, open_text
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
    "Corpus",
    "Document",
    "Source",
    "TiktokenTokenizer",
    "Tokenizer",
    "chunk",
    "count_words",
    "get_tokenizer",
    "hf_tokenizer",
    "iter_chunks",
    "load_corpus",
    "load_document",
    "open_text",
    "word_spans",
]
