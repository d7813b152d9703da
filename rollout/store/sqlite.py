"""The embedded default store: one SQLite file in WAL mode, shared by every process on a host.

WAL lets the gateways' pollers read while a writer appends; `busy_timeout` makes concurrent
writers wait instead of failing, up to `wait_seconds`, then `StoreBusy` (SQLITE_BUSY). The same
budget bounds the wait for this object's lock, so one call waits at most about twice it. Writes
run in `BEGIN IMMEDIATE` transactions so a compare-and-set is read-check-write under SQLite's
write lock: of two writers holding the same version exactly one updates the row. One connection
per store object, guarded by a lock, so the object can be used from `asyncio.to_thread` workers.
sqlite3 errors become `StoreError`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.machine import RolloutState
from rollout.store.interface import (
    Conflict,
    HistoryEntry,
    LateRow,
    RolloutStore,
    StoreBusy,
    StoredState,
    StoreError,
)
from rollout.store.schemes import StoreURL

SCHEMA = """
CREATE TABLE IF NOT EXISTS rollout_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    updated_at REAL
);
CREATE TABLE IF NOT EXISTS rollout_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL, actor TEXT NOT NULL, verb TEXT NOT NULL, reason TEXT,
    from_state TEXT NOT NULL, to_state TEXT NOT NULL,
    from_percent INTEGER NOT NULL, to_percent INTEGER NOT NULL,
    details TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollout_aggregates (
    second INTEGER NOT NULL, target TEXT NOT NULL,
    requests INTEGER NOT NULL, errors INTEGER NOT NULL, successes INTEGER NOT NULL,
    latency TEXT NOT NULL, started INTEGER NOT NULL DEFAULT 0,
    inflight TEXT NOT NULL DEFAULT '{}', fold_second INTEGER
);
CREATE TABLE IF NOT EXISTS rollout_settled (id INTEGER PRIMARY KEY CHECK (id = 1), until INTEGER);
CREATE INDEX IF NOT EXISTS rollout_aggregates_by_target ON rollout_aggregates (target, second);
CREATE TABLE IF NOT EXISTS rollout_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rollout_batches (id TEXT PRIMARY KEY, applied_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rollout_lease (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL
);
"""
LEASE = "controller"
#: How long an applied aggregate batch id is remembered when the caller names none (as Redis).
DEFAULT_BATCH_TTL_SECONDS = 25 * 3600
#: Columns added after the first release: (name, declaration). Added to older files on open.
#: `fold_second` is NULL for a row that arrived in time, else the settled horizon when it
#: arrived: the judge folds it in just before it judges that second (`late_series`).
LATER_COLUMNS = (
    ("started", "INTEGER NOT NULL DEFAULT 0"),
    ("inflight", "TEXT NOT NULL DEFAULT '{}'"),
    ("fold_second", "INTEGER"),
)
#: Indexes on the later columns (created once they exist): the judge reads by second.
LATER_INDEXES = """
CREATE INDEX IF NOT EXISTS rollout_aggregates_by_second ON rollout_aggregates (second)
    WHERE fold_second IS NULL;
CREATE INDEX IF NOT EXISTS rollout_aggregates_late ON rollout_aggregates (fold_second)
    WHERE fold_second IS NOT NULL;
"""


class SqliteStore:
    def __init__(
        self,
        path: str,
        *,
        wait_seconds: float = 5.0,
        batch_ttl_seconds: float = DEFAULT_BATCH_TTL_SECONDS,
    ) -> None:
        self.path = path
        self.wait_seconds = wait_seconds
        self.batch_ttl_seconds = batch_ttl_seconds
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(SCHEMA)
            _add_later_columns(self._db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open rollout store {path!r}: {exc}", kind=_kind(exc)) from exc

    @classmethod
    def from_url(
        cls,
        url: StoreURL,
        *,
        wait_seconds: float = 5.0,
        prefix: str | None = None,
        connect_timeout_seconds: float | None = None,
        command_timeout_seconds: float | None = None,
        aggregate_ttl_seconds: float | None = None,
        batch_ttl_seconds: float = DEFAULT_BATCH_TTL_SECONDS,
        tls_ca_file: str | None = None,
    ) -> SqliteStore:
        """The network stores' options (`RolloutSettings.store_options`) are accepted and
        ignored: one file per host needs no prefix, and `prune` alone keeps its rows."""
        del prefix, connect_timeout_seconds, command_timeout_seconds, aggregate_ttl_seconds
        del tls_ca_file
        return cls(url.path, wait_seconds=wait_seconds, batch_ttl_seconds=batch_ttl_seconds)

    @contextlib.contextmanager
    def _tx(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction under the object lock; sqlite errors surface as StoreError."""
        if not self._lock.acquire(timeout=self.wait_seconds):
            raise StoreBusy(f"rollout store busy in this process for {self.wait_seconds} s")
        try:
            self._db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            self._lock.release()

    def _error(self, exc: sqlite3.Error) -> StoreError:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (
            sqlite3.SQLITE_BUSY,
            sqlite3.SQLITE_LOCKED,
        ):
            return StoreBusy(
                f"rollout store is locked by another writer (waited {self.wait_seconds} s)"
            )
        return StoreError(f"rollout store error: {exc}", kind=_kind(exc))

    # state --------------------------------------------------------------------------------

    def read(self) -> StoredState:
        with self._tx(immediate=False) as db:
            return _read_state(db)

    def compare_and_set(
        self,
        expected_version: int,
        state: RolloutState,
        entries: Sequence[HistoryEntry],
        now: float,
    ) -> StoredState:
        with self._tx() as db:
            current = _read_state(db)
            if current.version != expected_version:
                raise Conflict(current)
            new = StoredState(state, expected_version + 1, now)
            db.execute(
                "INSERT INTO rollout_state (id, version, state, updated_at) VALUES (1, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET version = excluded.version,"
                " state = excluded.state, updated_at = excluded.updated_at",
                (new.version, json.dumps(state.to_dict()), now),
            )
            db.executemany(
                "INSERT INTO rollout_history (at, actor, verb, reason, from_state, to_state,"
                " from_percent, to_percent, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_history_row(e) for e in entries],
            )
            return new

    def history(self, limit: int = 50) -> list[HistoryEntry]:
        with self._tx(immediate=False) as db:
            rows = db.execute(
                "SELECT id, at, actor, verb, reason, from_state, to_state, from_percent,"
                " to_percent, details FROM rollout_history ORDER BY id DESC LIMIT ?",
                (int(limit),),
            ).fetchall()
        return [_history_entry(row) for row in rows]

    def record_verdict(self, verdict: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO rollout_meta (key, value) VALUES ('last_verdict', ?)",
                (json.dumps(verdict),),
            )

    def last_verdict(self) -> dict[str, Any] | None:
        with self._tx(immediate=False) as db:
            row = db.execute("SELECT value FROM rollout_meta WHERE key = 'last_verdict'").fetchone()
        return json.loads(row[0]) if row else None

    # aggregates ---------------------------------------------------------------------------

    def append_aggregates(self, rows: Sequence[TargetSecond], batch_id: str | None = None) -> None:
        """A failed transaction never commits here, but the contract is the same as Redis's:
        an id already in `rollout_batches` applies nothing (recorded in the rows' own
        transaction; `prune` forgets ids older than `batch_ttl_seconds`)."""
        if not rows:
            return
        with self._tx() as db:
            if batch_id is not None:
                seen = db.execute(
                    "INSERT OR IGNORE INTO rollout_batches (id, applied_at) VALUES (?, ?)",
                    (batch_id, time.time()),
                )
                if seen.rowcount == 0:
                    return
            settled = _settled_until(db)
            db.executemany(
                "INSERT INTO rollout_aggregates (second, target, requests, errors, successes,"
                " latency, started, inflight, fold_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.second,
                        r.target,
                        r.requests,
                        r.errors,
                        r.successes,
                        _hist_json(r),
                        r.started,
                        json.dumps(r.inflight.to_dict()),
                        settled if r.second < settled else None,
                    )
                    for r in rows
                ],
            )

    def settled_series(self, since_second: int, until_second: int) -> list[TargetSecond]:
        with self._tx() as db:
            if until_second > _settled_until(db):
                db.execute(
                    "INSERT OR REPLACE INTO rollout_settled (id, until) VALUES (1, ?)",
                    (int(until_second),),
                )
            rows = db.execute(
                "SELECT second, target, requests, errors, successes, latency, started, inflight"
                " FROM rollout_aggregates WHERE fold_second IS NULL AND second >= ?"
                " AND second < ? ORDER BY second, target",
                (int(since_second), int(until_second)),
            ).fetchall()
        return _merge_seconds(rows)

    def late_series(self, since_second: int, until_second: int) -> list[LateRow]:
        with self._tx(immediate=False) as db:
            rows = db.execute(
                "SELECT fold_second, second, target, requests, errors, successes, latency,"
                " started, inflight FROM rollout_aggregates WHERE fold_second >= ?"
                " AND fold_second < ? ORDER BY fold_second, second, target",
                (int(since_second), int(until_second)),
            ).fetchall()
        merged: dict[tuple[int, int, str], LateRow] = {}
        for fold, *columns in rows:
            row = _target_second(columns)
            key = (fold, row.second, row.target)
            if key in merged:
                merged[key].row.merge(row)
            else:
                merged[key] = LateRow(fold, row)
        return list(merged.values())

    def seconds(self, series: str, since_second: int, until_second: int) -> list[TargetSecond]:
        """Every row of `series`, late ones included: the charts show what was served."""
        with self._tx(immediate=False) as db:
            rows = db.execute(
                "SELECT second, target, requests, errors, successes, latency, started, inflight"
                " FROM rollout_aggregates WHERE target = ? AND second >= ? AND second < ?"
                " ORDER BY second",
                (series, int(since_second), int(until_second)),
            ).fetchall()
        return _merge_seconds(rows)

    def prune(self, before_second: int) -> int:
        with self._tx() as db:
            cur = db.execute("DELETE FROM rollout_aggregates WHERE second < ?", (before_second,))
            db.execute(
                "DELETE FROM rollout_batches WHERE applied_at < ?",
                (time.time() - self.batch_ttl_seconds,),
            )
            return cur.rowcount

    # lease --------------------------------------------------------------------------------

    def acquire_lease(self, holder: str, ttl_seconds: float, now: float) -> bool:
        with self._tx() as db:
            row = db.execute(
                "SELECT holder, expires_at FROM rollout_lease WHERE name = ?", (LEASE,)
            ).fetchone()
            if row is not None and row[0] != holder and row[1] > now:
                return False
            db.execute(
                "INSERT OR REPLACE INTO rollout_lease (name, holder, expires_at) VALUES (?, ?, ?)",
                (LEASE, holder, now + ttl_seconds),
            )
            return True

    def release_lease(self, holder: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM rollout_lease WHERE name = ? AND holder = ?", (LEASE, holder))

    def change_feed(self) -> None:
        """No push on one host: every process polls the file (<= 0.5 s)."""
        return None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _add_later_columns(db: sqlite3.Connection) -> None:
    """Older files: add the columns under the write lock, so that two processes opening the
    same file at once do not both try (the second sees the first's columns)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        have = {row[1] for row in db.execute("PRAGMA table_info(rollout_aggregates)")}
        for name, declaration in LATER_COLUMNS:
            if name not in have:
                db.execute(f"ALTER TABLE rollout_aggregates ADD COLUMN {name} {declaration}")
        for statement in LATER_INDEXES.split(";"):
            if statement.strip():
                db.execute(statement)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _settled_until(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT until FROM rollout_settled WHERE id = 1").fetchone()
    return int(row[0]) if row and row[0] is not None else -(2**62)


def _merge_seconds(rows: list[tuple[Any, ...]]) -> list[TargetSecond]:
    """Rows of every process for the same (second, series) summed into one."""
    merged: dict[tuple[int, str], TargetSecond] = {}
    for columns in rows:
        row = _target_second(columns)
        key = (row.second, row.target)
        if key in merged:
            merged[key].merge(row)
        else:
            merged[key] = row
    return list(merged.values())


def _target_second(columns: Sequence[Any]) -> TargetSecond:
    second, target, req, err, ok, hist, started, inflight = columns
    return TargetSecond(
        second, target, req, err, ok, LatencyHistogram.from_dict(json.loads(hist)),
        started, LatencyHistogram.from_dict(json.loads(inflight)),
    )  # fmt: skip


def _read_state(db: sqlite3.Connection) -> StoredState:
    row = db.execute("SELECT version, state, updated_at FROM rollout_state WHERE id = 1").fetchone()
    if row is None:
        return StoredState(RolloutState(), 0, None)
    return StoredState(RolloutState.from_dict(json.loads(row[1])), row[0], row[2])


def _history_row(e: HistoryEntry) -> tuple[Any, ...]:
    return (
        e.at,
        e.actor,
        e.verb,
        e.reason,
        e.from_state,
        e.to_state,
        e.from_percent,
        e.to_percent,
        json.dumps(e.details),
    )


def _history_entry(row: tuple[Any, ...]) -> HistoryEntry:
    id_, at, actor, verb, reason, from_s, to_s, from_p, to_p, details = row
    details = json.loads(details)
    return HistoryEntry(at, actor, verb, reason, from_s, to_s, from_p, to_p, details, id_)


def _hist_json(row: TargetSecond) -> str:
    return json.dumps(row.latency.to_dict())


if TYPE_CHECKING:  # `open_store` imports implementations by name, so mypy checks the match here
    _implements: type[RolloutStore] = SqliteStore


_KINDS = {
    sqlite3.SQLITE_CORRUPT: "corrupt",
    sqlite3.SQLITE_NOTADB: "corrupt",
    sqlite3.SQLITE_IOERR: "io",
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_READONLY: "readonly",
    sqlite3.SQLITE_CANTOPEN: "unopenable",
    sqlite3.SQLITE_PERM: "permission",
}


def _kind(exc: sqlite3.Error) -> str:
    """The short word `/readyz` shows for a SQLite failure (its primary result code)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return _KINDS.get(code & 0xFF, "error") if code is not None else type(exc).__name__
