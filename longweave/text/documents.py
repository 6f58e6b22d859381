"""Load what a user wants read: plain text, Markdown, HTML (as Markdown) and PDF, one file or many.

`load_document(path)` returns a `Document` (its name and text); `load_corpus(paths)` joins
several into one `Corpus` whose text is what pipelines read, while `Corpus.sources` keeps each
file's name and character span so an answer's evidence can be traced back to its file
(`Corpus.locate(offset)`). Encodings are detected with charset-normalizer; binary files and
files with no text are rejected with an `InputError` that says what to do. `open_text(path)`
opens a plain-text file with its detected encoding as a stream, for files larger than memory
(chunk it with `longweave.text.iter_chunks`).

Deliberately not handled: OCR of scanned PDFs (they have no text layer; run an OCR tool
first), office formats (.docx, .xlsx: convert to PDF or text), and layout (tables and
columns come out as the PDF's text order).
"""

from __future__ import annotations

import codecs
import os
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from longweave.errors import InputError
from longweave.text.html import html_to_text

# How much of a file is sniffed for its encoding and for binary content.
_SNIFF_BYTES = 64 * 1024
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
_SEPARATOR = "\n\n"
_WESTERN = {"cp1252", "latin_1", "iso8859_15"}


@dataclass(slots=True)
class Document:
    """One loaded file: its name (the path as given) and its text."""

    name: str
    text: str


@dataclass(slots=True)
class Source:
    """Where one file sits inside a corpus's text: ``corpus.text[start:end]`` is its text."""

    name: str
    start: int
    end: int


@dataclass
class Corpus:
    """Several documents read as one text, with each document's span kept.

    Attributes:
        text: the documents' texts joined by a blank line.
        sources: one `Source` per document, in order.
    """

    text: str
    sources: list[Source] = field(default_factory=list)

    @classmethod
    def from_documents(cls, documents: Iterable[Document]) -> Corpus:
        parts: list[str] = []
        sources: list[Source] = []
        offset = 0
        for doc in documents:
            if parts:
                parts.append(_SEPARATOR)
                offset += len(_SEPARATOR)
            parts.append(doc.text)
            sources.append(Source(doc.name, offset, offset + len(doc.text)))
            offset += len(doc.text)
        return cls("".join(parts), sources)

    def locate(self, offset: int) -> tuple[str, int]:
        """The source name holding character `offset` of `text`, and the offset inside that source."""
        if not self.sources:
            return "", offset
        starts = [s.start for s in self.sources]
        source = self.sources[max(0, bisect_right(starts, offset) - 1)]
        return source.name, offset - source.start

    def __len__(self) -> int:
        return len(self.text)


def as_text(document: str | Document | Corpus) -> str:
    """The text of anything a reading pipeline accepts in memory."""
    if isinstance(document, str):
        return document
    if isinstance(document, Document | Corpus):
        return document.text
    raise InputError(
        f"cannot read a {type(document).__name__}; pass a string, a Document or a Corpus "
        "(longweave.text.load_corpus)."
    )


def as_corpus(document: str | Document | Corpus) -> Corpus:
    """Anything a reading pipeline accepts in memory, as a `Corpus` (a string is one unnamed file)."""
    if isinstance(document, Corpus):
        return document
    if isinstance(document, Document):
        return Corpus.from_documents([document])
    if isinstance(document, str):
        return corpus_from_text(document, "")
    raise InputError(f"cannot index a {type(document).__name__}; pass a string, Document or Corpus.")


# -- decoding ---------------------------------------------------------------------------


def _looks_binary(head: bytes) -> bool:
    if not head:
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > len(head) * 0.05


def detect_encoding(head: bytes, path: str = "input") -> str:
    """The encoding of a file from its first bytes; InputError when they are not text."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if _looks_binary(head):
        raise InputError(
            f"{path} looks like a binary file, not text; pass a text, Markdown, HTML or PDF file "
            "(convert other formats to one of these first)."
        )
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the sniff window
            return "utf-8"
    from charset_normalizer import from_bytes

    results = list(from_bytes(head))
    if not results:
        raise InputError(
            f"cannot tell the text encoding of {path}; convert it to UTF-8 (e.g. with iconv) and retry."
        )
    # charset-normalizer's first pick is unstable on short Western text (it may say cp1257 for
    # French); among candidates nearly as clean, take the most coherent, preferring Western ones.
    floor = min(r.percent_chaos for r in results) + 15
    near = [r for r in results if r.percent_chaos <= floor]
    best = max(near, key=lambda r: (r.percent_coherence, r.encoding in _WESTERN, -r.percent_chaos))
    return best.encoding


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_SNIFF_BYTES)
    except IsADirectoryError:
        raise InputError(f"{path} is a directory; pass the files inside it.") from None
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; check the path.") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}.") from exc


def open_text(path: str | os.PathLike) -> TextIO:
    """Open a plain-text file with its detected encoding, for streaming (files of any size).

    Raises:
        InputError: the file is missing, a directory, binary, or empty.
    """
    path = Path(path)
    head = _read_head(path)
    if not head.strip():
        raise InputError(f"{path} is empty; pass a file with text in it.")
    encoding = detect_encoding(head, str(path))
    return path.open("r", encoding=encoding, errors="replace", newline="")


# -- formats ----------------------------------------------------------------------------


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path} is an encrypted PDF; decrypt it first (e.g. qpdf --decrypt).")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise InputError(f"cannot read the PDF {path}: {exc}; check that it is a valid PDF.") from exc
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise InputError(f"{path} has no text layer (a scanned PDF?); run OCR on it first (e.g. ocrmypdf).")
    return text


def load_document(path: str | os.PathLike) -> Document:
    """Read one file as text: .pdf through pypdf, .html as visible text, anything else as text.

    Raises:
        InputError: missing, unreadable, binary, empty, or a PDF without a text layer.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.html"
        >>> _ = p.write_text("<p>Hello <b>world</b></p><script>x()</script>")
        >>> load_document(p).text
        'Hello world'
    """
    path = Path(path)
    head = _read_head(path)
    if path.suffix.lower() == ".pdf" or head.startswith(b"%PDF-"):
        text = _pdf_text(path)
    else:
        encoding = detect_encoding(head, str(path))
        with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
            text = fh.read()
        if path.suffix.lower() in _HTML_SUFFIXES or text.lstrip()[:15].lower().startswith(
            ("<!doctype html", "<html")
        ):
            text = html_to_text(text)
    if not text.strip():
        raise InputError(f"{path} has no text; pass a file with text in it.")
    return Document(str(path), text)


def load_corpus(paths: Iterable[str | os.PathLike]) -> Corpus:
    """Load several files as one corpus, each file's name and span kept in ``sources``.

    Raises:
        InputError: no paths, or any file cannot be read (the message names it).
    """
    docs = [load_document(p) for p in paths]
    if not docs:
        raise InputError("no files given; pass at least one file to read.")
    return Corpus.from_documents(docs)


def corpus_from_text(text: str, name: str = "text") -> Corpus:
    """A one-document corpus from a string already in memory."""
    return Corpus.from_documents([Document(name, text)])


__all__ = [
    "Corpus",
    "Document",
    "Source",
    "as_corpus",
    "as_text",
    "corpus_from_text",
    "detect_encoding",
    "html_to_text",
    "load_corpus",
    "load_document",
    "open_text",
]
