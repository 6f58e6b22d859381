"""A batch's files: JSONL inputs read as a stream and checked line by line, records written out.

An input is one JSON object a line, each with an ``id`` (unique: the output and the checkpoint
are keyed by it); `iter_items` reads them one at a time, so a file of any size stays out of
memory. Records are appended as items finish (`append_record`) and the whole output is
rewritten from the checkpoint's ledger in input order (`write_records`), through a temporary
file, so a reader (or a kill) never sees half a file.

Deliberately not here: running items (``pipelines/batch_worker.py``) and the batch's loop
(``pipelines/batch.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from longweave.errors import InputError
from longweave.pipelines.text_store import TextStore

BATCH_ID = "batch"
Inputs = str | Path | Iterable[dict]


@dataclass(slots=True)
class Item:
    """One input: its id, its place in the input, and its fields (without ``id``)."""

    id: str
    position: int
    fields: dict


# -- reading inputs ------------------------------------------------------------------------


def iter_items(inputs: Inputs) -> Iterator[Item]:
    """The items of `inputs` (a JSONL path, or dicts), checked one at a time as they are read.

    Raises:
        InputError: a line that is not a JSON object, an item without an ``id``, or an
            unreadable file; the message names the line.
    """
    if isinstance(inputs, str | Path):
        path = Path(inputs)
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read the batch input {path}: {exc.strerror or exc}.") from exc
        with handle:
            position = 0
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(
                        f"line {number} of {path} is not valid JSON ({exc.msg}); give one JSON object a line."
                    ) from None
                yield _item(data, position, f"line {number} of {path}")
                position += 1
        return
    for position, data in enumerate(inputs):
        yield _item(data, position, f"input {position + 1}")


def _item(data: object, position: int, where: str) -> Item:
    if not isinstance(data, dict):
        raise InputError(f'{where} is not a JSON object; give one object a line, with an "id".')
    raw = data.get("id")
    if raw is None or (isinstance(raw, str) and not raw.strip()) or isinstance(raw, bool | dict | list):
        raise InputError(f'{where} has no "id"; give every input a unique "id" (a string or number).')
    return Item(str(raw), position, {k: v for k, v in data.items() if k != "id"})


def check_items(inputs: Inputs, limit: int | None = None) -> int:
    """Read `inputs` once to check every line and that ids are unique; how many items (up to `limit`).

    Raises:
        InputError: a bad line (see `iter_items`), a repeated id, or no input at all.
    """
    seen: dict[str, int] = {}
    for item in iter_items(inputs):
        if limit is not None and item.position >= limit:
            break
        if item.id in seen:
            raise InputError(
                f"the id {item.id!r} is used by inputs {seen[item.id] + 1} and {item.position + 1}; "
                "ids must be unique, since the output and the checkpoint are keyed by them."
            )
        seen[item.id] = item.position
    if not seen:
        raise InputError("the batch input holds no items; give one JSON object a line.")
    return len(seen)


# -- the output file -----------------------------------------------------------------------


def write_records(path: Path, store: TextStore, batch_id: str = BATCH_ID) -> int:
    """Replace `path` with every record in the checkpoint, in input order; how many.

    Written to a temporary file first, so a reader (or a kill) never sees half a file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    n = 0
    with tmp.open("w", encoding="utf-8") as out:
        for record in store.records(batch_id):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def append_record(path: Path, record: dict) -> None:
    """Add one record at the end of `path` (the rewrite at the end puts it in input order)."""
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


__all__ = ["BATCH_ID", "Inputs", "Item", "append_record", "check_items", "iter_items", "write_records"]
