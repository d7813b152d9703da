"""The shared store for many hosts: Redis (Memorystore on Cloud Run), same contract as SQLite.

Every write that must be atomic is one Lua script (`rollout.store.redis_scripts` says why):
the state compare-and-set with its history rows and the PUBLISH of the new version on
`<prefix>changes`; an aggregate append, filed on time or late against the settle horizon;
the settle itself; prune; the lease (`SET NX PX`, renewed and released only by its holder).

Durability is Redis's (docs/stores.md): state, history and the last verdict never expire and
the history is never trimmed; per-second aggregate keys carry a TTL (`aggregate_ttl_seconds`,
refreshed on every write) as a backstop behind `prune`, so the rows of an abandoned prefix do
not live forever. Counters are `HINCRBY`: N processes appending the same second sum exactly,
and latency histograms merge bucket by bucket (`l:<index>`, in-flight ages `i:<index>`).

Lease expiry is Redis's clock (PX), not the caller's `now`: every host sees the same expiry
whatever its own clock says. `now` is ignored there.

Errors: every redis-py exception becomes `StoreError` naming the kind (`unreachable`,
`timeout`, `auth`, ...) and the redacted URL, never the password. `StoreBusy` keeps its
meaning, "nothing was written, try again": it is raised when this object's callers already
hold all its connections for longer than `wait_seconds`, or when Redis answers BUSY (a
script is running). A command timeout is a `StoreError`, not busy: the write may have landed.
No command is retried by the client (a retried HINCRBY would count twice); the flusher
retries an aggregate append under its batch id instead, which the script applies at most once
(`<prefix>batch:<id>`, kept `batch_ttl_seconds`).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.machine import RolloutState
from rollout.store import redis_scripts as lua
from rollout.store.interface import (
    Conflict,
    HistoryEntry,
    LateRow,
    RolloutStore,
    StoreBusy,
    StoredState,
    StoreError,
)
from rollout.store.redis_feed import RedisChangeFeed, client_options, store_error
from rollout.store.schemes import StoreURL

DEFAULT_PREFIX = "ion-canary:"
#: Default aggregate TTL when the caller names none: a week, the default plan's soaks.
DEFAULT_AGGREGATE_TTL_SECONDS = 7 * 24 * 3600
#: How long an applied batch id is kept when the caller names none: a day and an hour, longer
#: than the largest ROLLOUT_BUFFER_SECONDS (a day), so any resend finds it.
DEFAULT_BATCH_TTL_SECONDS = 25 * 3600
CONNECTIONS = 8  # concurrent calls per store object (asyncio.to_thread workers)
_FAR = 2**53  # past any second; exact as a Lua number
#: One READ call covers at most this many seconds (x 3 series), about a millisecond of Redis.
READ_WINDOW_SECONDS = 300
PRUNE_BATCH = 2000


class RedisStore:
    def __init__(
        self,
        url: StoreURL,
        *,
        prefix: str = DEFAULT_PREFIX,
        wait_seconds: float = 5.0,
        connect_timeout_seconds: float = 2.0,
        command_timeout_seconds: float = 2.0,
        aggregate_ttl_seconds: float = DEFAULT_AGGREGATE_TTL_SECONDS,
        batch_ttl_seconds: float = DEFAULT_BATCH_TTL_SECONDS,
        tls_ca_file: str | None = None,
    ) -> None:
        self.url, self.prefix, self.wait_seconds = url, prefix, wait_seconds
        self.command_timeout_seconds = command_timeout_seconds
        self._options = client_options(
            url, connect_timeout_seconds, command_timeout_seconds, tls_ca_file
        )
        self._client = redis.Redis(
            **self._options, max_connections=CONNECTIONS, retry=Retry(NoBackoff(), 0)
        )
        self._slots = threading.BoundedSemaphore(CONNECTIONS)
        self._ttl_ms = max(1000, int(aggregate_ttl_seconds * 1000))
        self._batch_ttl_seconds = max(1, int(batch_ttl_seconds))
        self._scripts = {
            name: self._client.register_script(getattr(lua, name))
            for name in ("CAS", "APPEND", "SETTLE", "READ", "PRUNE", "ACQUIRE", "RELEASE")
        }

    @classmethod
    def from_url(cls, url: StoreURL, **options: Any) -> RedisStore:
        """`open_store(url, **RolloutSettings.store_options(...))` lands here. No I/O: the
        first call connects (a Redis that is down at start is a `StoreError` then)."""
        return cls(url, **options)

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @property
    def channel(self) -> str:
        return self.key("changes")

    @contextlib.contextmanager
    def _call(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise StoreBusy(f"rollout store busy in this process for {self.wait_seconds} s")
        try:
            yield
        except redis.RedisError as exc:
            raise store_error(exc, self.url) from None
        finally:
            self._slots.release()

    def _run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        with self._call():
            return self._scripts[name](keys=list(keys), args=list(args))

    # state --------------------------------------------------------------------------------

    def read(self) -> StoredState:
        with self._call():
            version, state, updated_at = self._client.hmget(
                self.key("state"), ["version", "state", "updated_at"]
            )
        with _decoding("state"):
            return _stored(version, state, updated_at)

    def compare_and_set(
        self,
        expected_version: int,
        state: RolloutState,
        entries: Sequence[HistoryEntry],
        now: float,
    ) -> StoredState:
        args = [expected_version, json.dumps(state.to_dict()), repr(float(now)), self.channel]
        reply = self._run(
            "CAS",
            [self.key("state"), self.key("history")],
            args + [json.dumps(_history_dict(e)) for e in entries],
        )
        if int(reply[0]) != 1:
            raise Conflict(_stored(reply[1], reply[2] or None, reply[3] or None))
        return StoredState(state, int(reply[1]), now)

    def history(self, limit: int = 50) -> list[HistoryEntry]:
        if limit <= 0:
            return []
        with self._call():
            pipe = self._client.pipeline(transaction=True)
            pipe.llen(self.key("history"))
            pipe.lrange(self.key("history"), -int(limit), -1)
            length, raw = pipe.execute()
        first_id = int(length) - len(raw) + 1  # never trimmed: id = position + 1
        with _decoding("history"):
            entries = [_history_entry(json.loads(r), first_id + i) for i, r in enumerate(raw)]
        return entries[::-1]

    def record_verdict(self, verdict: dict[str, Any]) -> None:
        with self._call():
            self._client.set(self.key("verdict"), json.dumps(verdict))

    def last_verdict(self) -> dict[str, Any] | None:
        with self._call():
            raw = self._client.get(self.key("verdict"))
        with _decoding("verdict"):
            return json.loads(raw) if raw is not None else None

    # aggregates ---------------------------------------------------------------------------

    def append_aggregates(self, rows: Sequence[TargetSecond], batch_id: str | None = None) -> None:
        """With `batch_id`, the script's first command is `SET <prefix>batch:<id> 1 NX EX`
        (`batch_ttl_seconds`): a batch already applied applies nothing, atomically."""
        if not rows:
            return
        args: list[Any] = [self.prefix, self._ttl_ms, self._batch_ttl_seconds]
        for row in rows:
            fields = _counter_fields(row)
            args += [row.second, row.target, len(fields) // 2, *fields]
        keys = [self.key("settled"), self.key("agg:index"), self.key("late:index")]
        if batch_id is not None:
            keys.append(self.key(f"batch:{batch_id}"))
        self._run("APPEND", keys, args)

    def settled_series(self, since_second: int, until_second: int) -> list[TargetSecond]:
        self._run("SETTLE", [self.key("settled")], [int(until_second)])
        reply = self._read("agg", int(since_second), int(until_second))
        rows = [_row(int(s), series, h) for (s, series), h in _members(reply, 1)]
        return sorted(rows, key=lambda r: (r.second, r.target))

    def late_series(self, since_second: int, until_second: int) -> list[LateRow]:
        reply = self._read("late", int(since_second), int(until_second))
        late = [
            LateRow(int(f), _row(int(s), series, h)) for (f, s, series), h in _members(reply, 2)
        ]
        return sorted(late, key=lambda r: (r.fold_second, r.row.second, r.row.target))

    def seconds(self, series: str, since_second: int, until_second: int) -> list[TargetSecond]:
        """Every row of `series`, late ones included: the charts show what was served."""
        merged: dict[int, TargetSecond] = {}
        on_time = _members(self._read("agg", since_second, until_second), 1)
        late = _members(self._read("late", since_second + 1, _FAR), 2)
        for parts, fields in [*on_time, *((p[1:], f) for p, f in late)]:
            second, name = int(parts[0]), parts[1]
            if name != series or not since_second <= second < until_second:
                continue
            row = _row(second, name, fields)
            if second in merged:
                merged[second].merge(row)
            else:
                merged[second] = row
        return [merged[s] for s in sorted(merged)]

    def _read(self, kind: str, low: int, high: int) -> list[Any]:
        """Every `{member, fields}` of the `kind` index scored in [low, high), window by
        window (`READ_WINDOW_SECONDS` each, gaps skipped)."""
        out: list[Any] = []
        index, keys = self.key(f"{kind}:index"), self.key(f"{kind}:")
        while low < high:
            reply = self._run("READ", [index], [keys, low, high, READ_WINDOW_SECONDS])
            low = int(reply[0])
            out.extend(reply[1:])
        return out

    def prune(self, before_second: int) -> int:
        """Counts (second, series) rows, on time or late, each already merged over processes
        (SQLite counts every process's row)."""
        keys, deleted = [self.key("agg:index"), self.key("late:index")], 0
        while True:
            args = [self.prefix, int(before_second), PRUNE_BATCH]
            batch = int(self._run("PRUNE", keys, args))
            deleted += batch
            if batch < PRUNE_BATCH:
                return deleted

    # lease --------------------------------------------------------------------------------

    def acquire_lease(self, holder: str, ttl_seconds: float, now: float) -> bool:
        ttl_ms = max(1, int(ttl_seconds * 1000))
        return int(self._run("ACQUIRE", [self.key("lease")], [holder, ttl_ms])) == 1

    def release_lease(self, holder: str) -> None:
        self._run("RELEASE", [self.key("lease")], [holder])

    def change_feed(self) -> RedisChangeFeed:
        return RedisChangeFeed(self.url, self._options, self.channel)

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def _decoding(what: str) -> Iterator[None]:
    """A value in Redis that is not what this store wrote (edited by hand, another program on
    the prefix) is a corrupt store, reported as such: 503 JSON, `/readyz` kind "corrupt"."""
    try:
        yield
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"rollout store {what} is corrupt: {type(exc).__name__}", kind="corrupt"
        ) from None


def _stored(version: Any, state: Any, updated_at: Any) -> StoredState:
    if version is None or state is None:
        return StoredState(RolloutState(), int(version or 0), None)
    at = float(updated_at) if updated_at else None
    return StoredState(RolloutState.from_dict(json.loads(state)), int(version), at)


def _history_dict(e: HistoryEntry) -> dict[str, Any]:
    data = e.to_dict()
    del data["id"]
    return data


def _history_entry(data: dict[str, Any], id_: int) -> HistoryEntry:
    return HistoryEntry(**data, id=id_)


def _counter_fields(row: TargetSecond) -> list[Any]:
    fields: list[Any] = ["requests", row.requests, "errors", row.errors]
    fields += ["successes", row.successes, "started", row.started]
    for tag, hist in (("l", row.latency), ("i", row.inflight)):
        for index, count in hist.counts.items():
            fields += [f"{tag}:{index}", count]
    return fields


def _members(reply: Sequence[Any], splits: int) -> list[tuple[list[str], list[Any]]]:
    """`{member, {field, value...}, ...}` -> [(member split on ':', fields)], vanished skipped."""
    pairs = []
    for i in range(0, len(reply), 2):
        if reply[i + 1]:
            member = reply[i].decode() if isinstance(reply[i], bytes) else str(reply[i])
            pairs.append((member.split(":", splits), list(reply[i + 1])))
    return pairs


def _row(second: int, series: str, flat: Sequence[Any]) -> TargetSecond:
    row = TargetSecond(second, series)
    latency, inflight = LatencyHistogram(), LatencyHistogram()
    for i in range(0, len(flat), 2):
        name = flat[i].decode() if isinstance(flat[i], bytes) else str(flat[i])
        value = int(flat[i + 1])
        if name.startswith("l:"):
            latency.counts[int(name[2:])] = value
        elif name.startswith("i:"):
            inflight.counts[int(name[2:])] = value
        elif name in ("requests", "errors", "successes", "started"):
            setattr(row, name, value)
    row.latency, row.inflight = latency, inflight
    return row


if TYPE_CHECKING:  # `open_store` imports implementations by name, so mypy checks the match here
    _implements: type[RolloutStore] = RedisStore
