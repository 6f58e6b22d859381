"""A faiss vector index with caller-chosen ids, exact for small sets and approximate past a size.

Vectors are expected L2-normalised (the embedders do this), so inner product is cosine
similarity. Below `approximate_after` vectors the index is exact (``IndexFlatIP`` behind an
id map); when it grows past that it is rebuilt once as an inverted-file index
(``IndexIVFFlat``, ``nlist ~ 4 sqrt(n)``, searched with `nprobe` lists), which keeps search in
milliseconds at a million items and still supports deletion by id. Ids are int64 chosen by the
caller, so they can be the rowids of the SQLite table that holds the text.

Deliberately not here: the text itself, embedding, and persistence of anything but vectors.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import faiss
import numpy as np

from longweave.errors import ConfigError, InputError


class VectorIndex:
    """Add, search, delete, save and load vectors by id.

    Args:
        dim: vector size.
        kind: "auto" (exact, then IVF past `approximate_after`), "exact", or "ivf".
        approximate_after: size at which "auto" switches to the approximate index.
        nprobe: inverted lists searched per query in the approximate index (recall vs speed);
            default scales with the number of lists.

    Example:
        >>> import numpy as np
        >>> index = VectorIndex(2)
        >>> index.add(np.array([[1, 0], [0, 1]], dtype="float32"), ids=[10, 20]).tolist()
        [10, 20]
        >>> scores, ids = index.search(np.array([0.1, 0.9], dtype="float32"), k=1)
        >>> ids.tolist()
        [[20]]
    """

    def __init__(
        self,
        dim: int,
        *,
        kind: str = "auto",
        approximate_after: int = 50_000,
        nprobe: int | None = None,
    ) -> None:
        if kind not in ("auto", "exact", "ivf"):
            raise ConfigError(f"VectorIndex kind must be 'auto', 'exact' or 'ivf' (got {kind!r}).")
        self.dim, self.kind, self.approximate_after, self._nprobe = dim, kind, approximate_after, nprobe
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._approximate = False
        self._ids: set[int] = set()
        self._next_id = 0

    @property
    def approximate(self) -> bool:
        """Whether searches are approximate (the IVF index is in use)."""
        return self._approximate

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def __contains__(self, item_id: int) -> bool:
        return int(item_id) in self._ids

    def _check(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.ascontiguousarray(np.atleast_2d(np.asarray(vectors, dtype=np.float32)))
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise InputError(f"vectors must have shape (n, {self.dim}); got {vectors.shape}.")
        return vectors

    def add(self, vectors: np.ndarray, ids: list[int] | np.ndarray | None = None) -> np.ndarray:
        """Add vectors under `ids` (default: the next free ids). Returns the ids used."""
        vectors = self._check(vectors)
        if ids is None:
            ids = np.arange(self._next_id, self._next_id + len(vectors), dtype=np.int64)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) != len(vectors):
            raise InputError(f"{len(ids)} ids for {len(vectors)} vectors; give one id per vector.")
        new = set(ids.tolist())
        if len(new) != len(ids) or new & self._ids:
            raise InputError("ids must be unique and not already in the index; delete them first.")
        if len(vectors):
            self._index.add_with_ids(vectors, ids)
            self._ids |= new
            self._next_id = max(self._next_id, int(ids.max()) + 1)
        if self.kind == "ivf" and not self._approximate and len(self) >= 256:
            self._to_ivf()
        elif self.kind == "auto" and not self._approximate and len(self) >= self.approximate_after:
            self._to_ivf()
        return ids

    def _all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        flat = faiss.downcast_index(self._index.index)
        n = self._index.ntotal
        xb = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim).copy()
        return xb, faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def _to_ivf(self) -> None:
        xb, ids = self._all_vectors()
        n = len(xb)
        nlist = max(16, min(65_536, int(4 * math.sqrt(n))))
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = xb[rng.choice(n, size=min(n, max(nlist * 40, 10_000)), replace=False)]
        ivf.train(sample)
        ivf.add_with_ids(xb, ids)
        ivf.nprobe = self._nprobe or max(8, nlist // 64)
        self._index, self._approximate = ivf, True
        self._quantizer = quantizer  # faiss does not own it from Python; keep it alive

    @property
    def nprobe(self) -> int | None:
        return int(self._index.nprobe) if self._approximate else None

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._nprobe = value
        if self._approximate:
            self._index.nprobe = value

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` (scores, ids) for each query row, best first. Missing results have id -1."""
        queries = self._check(queries)
        if len(self) == 0 or k < 1:
            shape = (len(queries), max(k, 0))
            return np.zeros(shape, dtype=np.float32), np.full(shape, -1, dtype=np.int64)
        return self._index.search(queries, min(k, len(self)))

    def delete(self, ids: list[int] | np.ndarray) -> int:
        """Remove vectors by id; unknown ids are ignored. Returns how many were removed."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        removed = int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        self._ids -= set(ids.tolist())
        return removed

    def save(self, path: str | os.PathLike) -> None:
        """Write the index to `path` (faiss format) and its settings to ``path + '.json'``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)
        meta = {
            "dim": self.dim,
            "kind": self.kind,
            "approximate_after": self.approximate_after,
            "nprobe": self._nprobe,
            "approximate": self._approximate,
            "next_id": self._next_id,
        }
        Path(f"{path}.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: str | os.PathLike) -> VectorIndex:
        """Read an index written by `save`."""
        path = Path(path)
        try:
            meta = json.loads(Path(f"{path}.json").read_text())
            index = faiss.read_index(str(path))
        except (OSError, RuntimeError, ValueError) as exc:
            raise InputError(f"cannot load a vector index from {path}: {exc}") from exc
        self = cls(
            meta["dim"], kind=meta["kind"], approximate_after=meta["approximate_after"], nprobe=meta["nprobe"]
        )
        self._index, self._approximate, self._next_id = index, meta["approximate"], meta["next_id"]
        if self._approximate:
            invlists = faiss.extract_index_ivf(index).invlists
            ids: list[int] = []
            for lst in range(invlists.nlist):
                size = invlists.list_size(lst)
                if size:
                    ids.extend(faiss.rev_swig_ptr(invlists.get_ids(lst), size).tolist())
            self._ids = set(ids)
        else:
            self._ids = set(faiss.vector_to_array(index.id_map).tolist())
        return self
