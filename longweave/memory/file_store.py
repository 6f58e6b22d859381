"""A directory the agents read and write through, with every path kept inside it.

`FileStore` is L2MAC's external memory (Holt et al., 2024): the output lives in files, not in
any context window. Every path an agent names is resolved against the root and refused if it
leads out (an absolute path, ``..``, or a symlink pointing elsewhere); files and the whole store
have size limits; writes are atomic (temp file + ``os.replace``); and the previous version of
each file is kept so one write, or a whole step, can be undone.

Deliberately not handled: binary files (the store holds UTF-8 text), concurrent writers from
several processes (one run owns a store), and durable history beyond the last version of each
file and the current step (the checkpoint of the pipeline covers resuming).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath

from longweave.errors import InputError, PathRefused

#: Files under this folder belong to longweave (checkpoints, the registry); agents cannot touch them.
META_DIR = ".longweave"
_SKIP_DIRS = {META_DIR, "__pycache__", ".pytest_cache", ".git"}


class FileStore:
    """A sandboxed text file store rooted at `root`.

    Args:
        root: the directory; created if missing.
        max_file_bytes: the largest file a write may produce.
        max_total_bytes: the most the store's visible files may hold together.

    Example:
        >>> import tempfile
        >>> store = FileStore(tempfile.mkdtemp())
        >>> store.write("pkg/a.py", "x = 1\\n")
        >>> store.snapshot()
        {'pkg/a.py': 'x = 1\\n'}
        >>> store.write("../evil", "no")
        Traceback (most recent call last):
        ...
        longweave.errors.PathRefused: ...
    """

    def __init__(
        self, root: str | Path, *, max_file_bytes: int = 1_000_000, max_total_bytes: int = 20_000_000
    ):
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root = self.root.resolve()
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self._previous: dict[str, str | None] = {}  # last version before the latest write
        self._step: dict[str, str | None] | None = None  # versions before the current step

    # -- paths ----------------------------------------------------------------------------
    def resolve(self, path: str) -> Path:
        """The absolute path of `path` inside the root; raises PathRefused if it leads out."""
        raw = str(path).strip().replace("\\", "/")
        if not raw:
            raise PathRefused(
                "an empty path was given; name a file relative to the store root, e.g. 'pkg/main.py'."
            )
        if raw.startswith("/") or raw.startswith("~") or (len(raw) > 1 and raw[1] == ":"):
            raise PathRefused(
                f"{raw!r} is absolute; name files relative to the store root, e.g. 'pkg/main.py'."
            )
        parts = PurePosixPath(raw).parts
        if ".." in parts:
            raise PathRefused(f"{raw!r} climbs out with '..'; name files relative to the store root.")
        if parts and parts[0] == META_DIR:
            raise PathRefused(f"{raw!r} is inside {META_DIR}/, which holds longweave's own records.")
        full = (self.root / raw).resolve()  # follows symlinks, so one pointing out is caught here
        if full != self.root and self.root not in full.parents:
            raise PathRefused(f"{raw!r} leads outside the store (through a symlink); write elsewhere.")
        return full

    def _rel(self, full: Path) -> str:
        return full.relative_to(self.root).as_posix()

    # -- reading --------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return self.resolve(path).is_file()

    def read(self, path: str, start: int | None = None, end: int | None = None) -> str:
        """The text of `path`, or lines `start`..`end` (1-based, inclusive) of it."""
        full = self.resolve(path)
        if not full.is_file():
            raise InputError(f"there is no file {path!r} in the store; list the files to see what exists.")
        text = full.read_text("utf-8", errors="replace")
        if start is None and end is None:
            return text
        lines = text.splitlines(keepends=True)
        lo = max(1, start or 1)
        hi = min(len(lines), end or len(lines))
        return "".join(lines[lo - 1 : hi])

    def list(self) -> list[str]:
        """Every visible file, relative to the root, sorted (private and cache folders skipped)."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for name in filenames:
                if name.endswith(".pyc"):
                    continue
                out.append(self._rel(Path(dirpath) / name))
        return sorted(out)

    def size(self, path: str | None = None) -> int:
        """Bytes in `path`, or in all visible files together."""
        if path is not None:
            full = self.resolve(path)
            return full.stat().st_size if full.is_file() else 0
        return sum((self.root / p).stat().st_size for p in self.list() if (self.root / p).is_file())

    def snapshot(self) -> dict[str, str]:
        """``{path: text}`` of every visible file: what a test compares."""
        return {p: self.read(p) for p in self.list()}

    def digests(self) -> dict[str, str]:
        """``{path: sha256 of its bytes}`` of every visible file: what tells whether a step changed
        the store (a file rewritten with the same content did not change)."""
        return {p: hashlib.sha256((self.root / p).read_bytes()).hexdigest() for p in self.list()}

    # -- writing --------------------------------------------------------------------------
    def _remember(self, rel: str, full: Path) -> None:
        old = full.read_text("utf-8", errors="replace") if full.is_file() else None
        self._previous[rel] = old
        if self._step is not None and rel not in self._step:
            self._step[rel] = old

    def write(self, path: str, text: str) -> None:
        """Write `text` to `path` atomically, keeping the old version for `undo`."""
        full = self.resolve(path)
        data = text.encode("utf-8")
        if len(data) > self.max_file_bytes:
            raise InputError(
                f"{path!r} would hold {len(data)} bytes, over the {self.max_file_bytes}-byte limit per "
                "file; split it into smaller files."
            )
        total = self.size() - self.size(path) + len(data)
        if total > self.max_total_bytes:
            raise InputError(
                f"the store would hold {total} bytes, over its {self.max_total_bytes}-byte limit; "
                "delete or shorten files first."
            )
        if full.is_dir():
            raise InputError(f"{path!r} is a folder; write to a file inside it.")
        rel = self._rel(full)
        self._remember(rel, full)
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, full)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, path: str) -> None:
        """Remove the file `path` (kept for `undo`)."""
        full = self.resolve(path)
        if not full.is_file():
            raise InputError(f"there is no file {path!r} to delete; list the files to see what exists.")
        self._remember(self._rel(full), full)
        full.unlink()

    def _restore(self, rel: str, text: str | None) -> None:
        full = self.root / rel
        if text is None:
            full.unlink(missing_ok=True)
            return
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=".tmp-", suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, full)

    def undo(self, path: str) -> None:
        """Put back the version of `path` before its latest write or delete."""
        rel = self._rel(self.resolve(path))
        if rel not in self._previous:
            raise InputError(f"{path!r} has no earlier version to go back to.")
        self._restore(rel, self._previous.pop(rel))

    # -- steps ----------------------------------------------------------------------------
    def begin_step(self) -> None:
        """Start recording the first version of every file the coming step touches."""
        self._step = {}

    def undo_step(self) -> list[str]:
        """Put every file the current step touched back as it was; returns their paths."""
        touched = sorted(self._step or {})
        for rel, text in (self._step or {}).items():
            self._restore(rel, text)
        self._step = {}
        return touched

    def end_step(self) -> None:
        self._step = None
