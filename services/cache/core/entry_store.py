"""The durable half of the cache: SQLite in WAL mode. The source of truth; the vector index is rebuilt from it.

Every change is one transaction, so a crash (even SIGKILL mid-burst) leaves either the old or the new state.
Vectors are kept here too (float16 bytes), so the index can be reconciled or rebuilt without re-embedding.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
  id INTEGER PRIMARY KEY,
  entry_key TEXT NOT NULL UNIQUE,
  namespace TEXT NOT NULL,
  tenant TEXT NOT NULL,
  query TEXT NOT NULL,
  vector BLOB,
  answer BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  last_used_ms INTEGER NOT NULL,
  hits INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_namespace_lru ON entries(namespace, last_used_ms);
CREATE INDEX IF NOT EXISTS entries_lru ON entries(last_used_ms);
CREATE INDEX IF NOT EXISTS entries_tenant ON entries(tenant);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries(expires_ms);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    entry_key: str
    namespace: str
    tenant: str
    query: str
    vector: bytes | None
    answer: bytes
    created_ms: int
    expires_ms: int


@dataclass(frozen=True, slots=True)
class EntryHead:
    """What the in-memory maps keep per entry (no answer, no vector)."""

    id: int
    entry_key: str
    namespace: str
    tenant: str
    expires_ms: int
    has_vector: bool


_COLUMNS = "id, entry_key, namespace, tenant, query, vector, answer, created_ms, expires_ms"


def _entry(row: tuple[object, ...]) -> Entry:
    return Entry(*row)  # type: ignore[arg-type]


class EntryStore:
    """Not thread-safe on its own: the cache serialises access with its lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a process crash loses nothing committed; a power loss may lose the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def integrity_ok(self) -> bool:
        row = self._db.execute("PRAGMA integrity_check").fetchone()
        return bool(row) and row[0] == "ok"

    def heads(self) -> Iterator[EntryHead]:
        cursor = self._db.execute(
            "SELECT id, entry_key, namespace, tenant, expires_ms, vector IS NOT NULL FROM entries ORDER BY id"
        )
        for row in cursor:
            yield EntryHead(row[0], row[1], row[2], row[3], row[4], bool(row[5]))

    def vectors(self, ids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(
                f"SELECT id, vector FROM entries WHERE id IN ({marks}) AND vector IS NOT NULL",  # noqa: S608
                list(chunk),
            )

    def by_key(self, entry_key: str) -> Entry | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM entries WHERE entry_key = ?", (entry_key,)).fetchone()  # noqa: S608
        return _entry(row) if row else None

    def by_id(self, entry_id: int) -> Entry | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM entries WHERE id = ?", (entry_id,)).fetchone()  # noqa: S608
        return _entry(row) if row else None

    def queries(self, ids: Sequence[int]) -> dict[int, str]:
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"SELECT id, query FROM entries WHERE id IN ({marks})", list(ids))  # noqa: S608
        return {row[0]: row[1] for row in rows}

    def upsert(
        self,
        *,
        entry_key: str,
        namespace: str,
        tenant: str,
        query: str,
        vector: bytes | None,
        answer: bytes,
        created_ms: int,
        expires_ms: int,
        meta: dict[str, int] | None = None,
    ) -> tuple[int, bool]:
        """Insert or replace the entry with this key; returns (id, created). Meta values commit with it."""
        with self._transaction():
            row = self._db.execute("SELECT id FROM entries WHERE entry_key = ?", (entry_key,)).fetchone()
            if row:
                self._db.execute(
                    "UPDATE entries SET answer = ?, vector = ?, query = ?, created_ms = ?, expires_ms = ?,"
                    " last_used_ms = ? WHERE id = ?",
                    (answer, vector, query, created_ms, expires_ms, created_ms, row[0]),
                )
                entry_id, created = int(row[0]), False
            else:
                cursor = self._db.execute(
                    "INSERT INTO entries (entry_key, namespace, tenant, query, vector, answer, created_ms,"
                    " expires_ms, last_used_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (entry_key, namespace, tenant, query, vector, answer, created_ms, expires_ms, created_ms),
                )
                entry_id, created = int(cursor.lastrowid or 0), True
            self._set_meta(meta)
        return entry_id, created

    def touch(self, entry_id: int, now_ms: int) -> None:
        self._db.execute("UPDATE entries SET last_used_ms = ?, hits = hits + 1 WHERE id = ?", (now_ms, entry_id))

    def delete(self, ids: Sequence[int], meta: dict[str, int] | None = None) -> int:
        removed = 0
        with self._transaction():
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                removed += self._db.execute(f"DELETE FROM entries WHERE id IN ({marks})", chunk).rowcount  # noqa: S608
            self._set_meta(meta)
        return removed

    def ids_of_tenant(self, tenant: str, created_before_ms: int) -> list[int]:
        rows = self._db.execute(
            "SELECT id FROM entries WHERE tenant = ? AND created_ms <= ?", (tenant, created_before_ms)
        )
        return [row[0] for row in rows]

    def ids_of_namespace(self, namespace: str, created_before_ms: int) -> list[int]:
        rows = self._db.execute(
            "SELECT id FROM entries WHERE namespace = ? AND created_ms <= ?", (namespace, created_before_ms)
        )
        return [row[0] for row in rows]

    def expired(self, now_ms: int, limit: int = 10_000) -> list[int]:
        rows = self._db.execute("SELECT id FROM entries WHERE expires_ms <= ? LIMIT ?", (now_ms, limit))
        return [row[0] for row in rows]

    def least_recently_used(self, count: int, namespace: str | None = None) -> list[int]:
        if namespace is None:
            rows = self._db.execute("SELECT id FROM entries ORDER BY last_used_ms, id LIMIT ?", (count,))
        else:
            rows = self._db.execute(
                "SELECT id FROM entries WHERE namespace = ? ORDER BY last_used_ms, id LIMIT ?", (namespace, count)
            )
        return [row[0] for row in rows]

    def get_meta(self, name: str, default: int = 0) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else default

    def set_meta(self, values: dict[str, int]) -> None:
        with self._transaction():
            self._set_meta(values)

    def _set_meta(self, values: dict[str, int] | None) -> None:
        for name, value in (values or {}).items():
            self._db.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
