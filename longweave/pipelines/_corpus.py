"""What a report reads: files, folders or texts in memory, loaded as one `Corpus`.

Files named by the user must load (a missing, binary or empty one is an `InputError` naming
it). Files found by walking a folder are skipped when they cannot be read as text (images,
archives, empty files), because folders hold such things; the skipped ones are reported.
Hidden files and folders (a name starting with ".") are not walked. A file found in folder
``reports`` is named ``reports/sub/q3.txt`` (from the folder down), a file given directly keeps
the path as given: these names are what citations show.

Deliberately not here: decoding and PDF/HTML text (``longweave.text.documents``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from longweave.errors import InputError
from longweave.text.documents import Corpus, Document, load_document


@dataclass(slots=True)
class LoadedCorpus:
    """A corpus and what was skipped while walking folders (``[(path, reason)]``)."""

    corpus: Corpus
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """A hash of every file's name and text: a resumed run must read the same corpus."""
        h = hashlib.sha256()
        for s in self.corpus.sources:
            h.update(s.name.encode("utf-8", "replace") + b"\0")
            h.update(self.corpus.text[s.start : s.end].encode("utf-8", "replace") + b"\0")
        return h.hexdigest()[:16]


CorpusInput = str | os.PathLike | Iterable[str | os.PathLike] | Mapping[str, str] | Corpus | LoadedCorpus


def read_corpus(corpus: CorpusInput) -> LoadedCorpus:
    """Load `corpus`: a path or paths (files or folders), a ``{name: text}`` mapping, or a Corpus.

    Raises:
        InputError: nothing to read, a named file that cannot be read, or no text at all.
    """
    if isinstance(corpus, LoadedCorpus):
        return corpus
    if isinstance(corpus, Corpus):
        loaded = LoadedCorpus(corpus)
    elif isinstance(corpus, Mapping):
        docs = [Document(str(name), text) for name, text in corpus.items() if str(text).strip()]
        loaded = LoadedCorpus(Corpus.from_documents(docs))
    else:
        paths = [corpus] if isinstance(corpus, str | os.PathLike) else list(corpus)
        docs, skipped = [], []
        for p in paths:
            path = Path(p)
            if path.is_dir():
                found = _walk(path)
                for f in found:
                    try:  # named from the folder down, so citations stay short
                        doc = load_document(f)
                        docs.append(
                            Document(f"{path.resolve().name}/{f.relative_to(path).as_posix()}", doc.text)
                        )
                    except InputError as exc:
                        skipped.append((str(f), str(exc)))
                if not found:
                    raise InputError(f"the folder {path} holds no files; pass a folder with documents in it.")
            elif path.exists():
                docs.append(load_document(path))
            else:
                raise InputError(f"{path} does not exist; pass existing files or folders.")
        loaded = LoadedCorpus(Corpus.from_documents(docs), skipped)
    if not loaded.corpus.sources or not loaded.corpus.text.strip():
        what = f" (skipped: {', '.join(p for p, _ in loaded.skipped[:3])})" if loaded.skipped else ""
        raise InputError(f"the corpus has no text to read{what}; pass files with text in them.")
    return loaded


def _walk(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
    return out


__all__ = ["CorpusInput", "LoadedCorpus", "read_corpus"]
