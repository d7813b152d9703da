"""The rollout store interface: what every gateway process and the controller share.

One state row with a `version` for compare-and-set (two writers: one wins, the other gets
`Conflict`), an append-only history, per-second per-series aggregate rows (additive: every
process appends; the judge reads each settled second once, merged), the last verdict
(so `GET /admin/rollout` on any process shows it) and the controller lease. The API is
synchronous; callers on an event loop use `asyncio.to_thread`. Which implementation a
`ROLLOUT_STORE_URL` selects is `rollout.store.schemes`' business; this module knows none.

Every implementation's `from_url` takes `wait_seconds`: the longest one call waits for the store
(another writer's lock, or this object's other callers) before raising `StoreBusy`. Who waits how
long is the caller's choice; `rollout.extension` gives operators' verbs a short wait on their own
store object, so they answer quickly instead of queueing behind the background loops.

`from_url` also takes `batch_ttl_seconds`: how long an applied aggregate batch id is
remembered (`append_aggregates`); `RolloutSettings.store_options` makes it the buffer bound
plus an hour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.aggregate import TargetSecond
from rollout.machine import RolloutState


@dataclass(frozen=True, slots=True)
class LateRow:
    """A row that arrived after its second was settled (a process flushing what it kept
    through a store outage, or a flush slower than ROLLOUT_SETTLE_SECONDS): `fold_second` is
    the settled horizon when it arrived, i.e. the first second not yet judged then."""

    fold_second: int
    row: TargetSecond


class StoreError(Exception):
    """The store could not be read or written (I/O, locked for too long, corrupt).

    `kind` is a short word for what went wrong ("unreachable", "timeout", "auth", "busy",
    "corrupt", "io", ...): what `/readyz` and the admin API's 503 show. It never carries a
    secret, unlike the message, which may name a host or a path."""

    kind = "error"

    def __init__(self, message: str = "", *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


def failure_kind(exc: BaseException) -> str:
    """What `/readyz` and the logs may show of a failure: a short word, never the message."""
    return exc.kind if isinstance(exc, StoreError) else type(exc).__name__


class StoreBusy(StoreError):
    """Another writer held the store longer than this caller's `wait_seconds`. Nothing was
    written; the caller may retry (an operator's verb answers 503 `store_busy`)."""

    kind = "busy"


class Conflict(Exception):
    """Compare-and-set lost: someone else changed the state first. Names what is there now."""

    def __init__(self, current: StoredState) -> None:
        super().__init__(
            f"state changed concurrently: now {current.state.status} "
            f"at {current.state.percent}% (version {current.version})"
        )
        self.current = current


@dataclass(frozen=True, slots=True)
class StoredState:
    state: RolloutState
    version: int
    updated_at: float | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: float
    actor: str
    verb: str
    reason: str | None
    from_state: str
    to_state: str
    from_percent: int
    to_percent: int
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "verb": self.verb,
            "reason": self.reason,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "from_percent": self.from_percent,
            "to_percent": self.to_percent,
            "details": self.details,
        }


class ChangeFeed(Protocol):
    """Pushed notice of state writes (Redis pub/sub): every `compare_and_set` that commits
    publishes the new version, and every subscribed process re-reads the state at once instead
    of waiting for its next poll. A hint, never the truth: the state row is still read from the
    store, so a lost or duplicated message costs one poll interval, never a wrong percent.

    `changes()` yields the committed version per write, for as long as the subscription holds;
    it raises `StoreError` when the connection breaks (the caller waits and calls it again, and
    polls meanwhile). `aclose()` ends every iteration and frees the connection. `subscribed`
    is True while an iteration holds a live subscription (what `/readyz` shows as `push`)."""

    @property
    def subscribed(self) -> bool: ...

    def changes(self) -> AsyncIterator[int]: ...

    async def aclose(self) -> None: ...


class RolloutStore(Protocol):
    def read(self) -> StoredState:
        """The current state; a fresh store is `idle` at 0 % with version 0."""
        ...

    def compare_and_set(
        self,
        expected_version: int,
        state: RolloutState,
        entries: Sequence[HistoryEntry],
        now: float,
    ) -> StoredState:
        """Write `state` and its history rows atomically iff the version is still expected."""
        ...

    def history(self, limit: int = 50) -> list[HistoryEntry]:
        """Newest first."""
        ...

    def record_verdict(self, verdict: dict[str, Any]) -> None: ...

    def last_verdict(self) -> dict[str, Any] | None: ...

    def append_aggregates(self, rows: Sequence[TargetSecond], batch_id: str | None = None) -> None:
        """Add `rows` to the per-second series (on time, or late against the settle horizon).

        Idempotent per batch: a `batch_id` the store has already applied makes the call a
        no-op, checked and recorded atomically with the rows themselves, so a batch sent again
        after a call that failed but may have landed (a timeout: the write reached the store,
        the reply did not) counts once. The flusher picks one id per batch and resends the
        same rows (or, past `ROLLOUT_BUFFER_SECONDS`, fewer of them) under it until a call
        returns. The store remembers an id for `batch_ttl_seconds` (an option of `from_url`,
        longer than the buffer bound). Without an id every call appends."""
        ...

    def settled_series(self, since_second: int, until_second: int) -> list[TargetSecond]:
        """Settle every second before `until_second`, then return its per-second series.

        Settling is atomic with respect to `append_aggregates`: a row appended afterwards for a
        second before the settled horizon H is late. It is never returned here, so the series
        of a settled second never changes again; it is stamped with `fold_second = H` and
        handed out by `late_series` instead. That is what makes the judge a pure function of
        the store: a new leader rebuilding its state, and `ion-rollout replay` of an export,
        see exactly the rows the old leader judged, late ones at the same place. The horizon
        only moves forward. Returns one row per (second, series) with every process's rows
        merged, ordered by second then series, for since_second <= second < until_second.
        """
        ...

    def late_series(self, since_second: int, until_second: int) -> list[LateRow]:
        """The late rows whose `fold_second` is in [since_second, until_second): one per
        (fold second, second, series), merged over processes, in that order. Reads nothing
        twice when the ranges tile: a row gets its fold second when it is appended, and every
        fold second is at most the horizon then, so once `settled_series(since, until)` has
        returned, no row with a fold second below `until` can still arrive. The judge folds
        the rows of fold second F in just before it judges second F (docs/judge.md)."""
        ...

    def seconds(self, series: str, since_second: int, until_second: int) -> list[TargetSecond]:
        """One row per second of `series` with since_second <= second < until_second, every
        process's rows for that second merged, ordered by second; seconds nobody recorded are
        absent. A plain read (settles nothing): what the dashboard's charts are drawn from."""
        ...

    def prune(self, before_second: int) -> int:
        """Delete aggregate rows older than `before_second`; return how many. (The caller
        keeps the current or last rollout's rows: the judge's rebuild and export need them.)"""
        ...

    def acquire_lease(self, holder: str, ttl_seconds: float, now: float) -> bool:
        """Acquire or renew the controller lease; an expired lease can be taken over."""
        ...

    def release_lease(self, holder: str) -> None: ...

    def change_feed(self) -> ChangeFeed | None:
        """A new subscription to this store's change notices, or None when the store has
        none (SQLite: every process polls). Opening it does no I/O; `changes()` connects."""
        ...

    def close(self) -> None: ...
