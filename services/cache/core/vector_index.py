"""The semantic half: a usearch HNSW index (cosine) keyed by entry id, snapshotted atomically.

The index is derived data. It is saved to `<path>.tmp`, fsynced and renamed over `<path>`, so the file on disk is
always a complete snapshot; on start it is loaded and reconciled against the entry store (ids added since the
snapshot are re-added from their stored vectors, ids deleted since are removed). A missing or unreadable snapshot
is rebuilt from the store.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


class VectorIndex:
    def __init__(self, dimensions: int, dtype: str = "i8", connectivity: int = 16, expansion_search: int = 64) -> None:
        from usearch.index import Index

        self._index: Any

        self.dimensions = dimensions
        self.dtype = dtype

        def make() -> Any:
            return Index(
                ndim=dimensions,
                metric="cos",
                dtype=dtype,
                connectivity=connectivity,
                expansion_search=expansion_search,
            )

        self._make = make
        self._index = self._make()

    def __len__(self) -> int:
        return len(self._index)

    @property
    def bytes(self) -> int:
        return int(self._index.serialized_length)

    def add(self, entry_id: int, vector: Vector) -> None:
        if self._index.contains(entry_id):
            self._index.remove(entry_id)
        self._index.add(entry_id, vector)

    def add_many(self, ids: npt.NDArray[np.int64], vectors: Vector) -> None:
        if len(ids):
            self._index.add(ids, vectors)

    def remove(self, ids: Iterable[int]) -> None:
        for entry_id in ids:
            self._index.remove(entry_id)

    def keys(self) -> npt.NDArray[np.int64]:
        return np.asarray(self._index.keys, dtype=np.int64)

    def search(self, vector: Vector, count: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Nearest ids and their cosine similarities, best first."""
        if len(self._index) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        matches = self._index.search(vector, min(count, len(self._index)))
        return np.asarray(matches.keys, dtype=np.int64), (1.0 - np.asarray(matches.distances)).astype(np.float32)

    def similarities(self, ids: list[int], vector: Vector) -> npt.NDArray[np.float32]:
        """Exact cosine of `vector` to each id (for small namespaces, where a filtered HNSW search may miss)."""
        if not ids:
            return np.zeros(0, dtype=np.float32)
        got: Any = self._index.get(np.asarray(ids, dtype=np.int64), dtype="f32")
        rows: list[Any] = [got] if isinstance(got, np.ndarray) and got.ndim == 1 else list(got)
        matrix = np.stack([row if row is not None else np.zeros(self.dimensions, np.float32) for row in rows])
        norms = np.linalg.norm(matrix, axis=1)
        result: npt.NDArray[np.float32] = (matrix @ vector / np.maximum(norms, 1e-12)).astype(np.float32)
        return result

    def vector(self, entry_id: int) -> Vector:
        got: Any = self._index.get(entry_id, dtype="f32")
        if got is None:
            return np.zeros(self.dimensions, dtype=np.float32)
        row: Vector = np.asarray(got, dtype=np.float32).reshape(-1)
        return row / max(float(np.linalg.norm(row)), 1e-12)

    def save(self, path: Path) -> None:
        temp = path.with_name(path.name + ".tmp")
        self._index.save(str(temp))
        with temp.open("rb") as handle:
            os.fsync(handle.fileno())
        temp.replace(path)
        with contextlib.suppress(OSError):
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def load(self, path: Path) -> bool:
        """Load a snapshot; False (and an empty index) when it is missing or unreadable."""
        self._index = self._make()
        if not path.is_file():
            return False
        try:
            self._index.load(str(path))
        except (RuntimeError, ValueError, OSError):
            self._index = self._make()
            return False
        if self._index.ndim != self.dimensions or self._index.dtype.name.lower() != self.dtype:
            # Another dimension or storage type (configuration changed): rebuild from the store.
            self._index = self._make()
            return False
        return True

    def reset(self) -> None:
        self._index = self._make()
