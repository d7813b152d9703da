"""Failed sign-ins, rate-limited per client in a table of bounded size (pure: `now` passed in).

Each client (the peer address) gets `max_failures` failed sign-ins per `window_seconds`; past
that every sign-in from it, right or wrong, is refused until the window ends (checking the
token anyway would let the guesses continue). The table is an LRU of at most `max_clients`
entries: a flood of addresses evicts the least recently seen ones instead of growing memory.
A success does not reset the count: the window runs out on its own.

Behind a TLS front (Cloud Run) the peer is the front, so every client shares one entry and a
flood of bad guesses locks out everyone for one window; that is the safe side (a guess per
second per instance at most), and the tokens are long random strings regardless.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Entry:
    window_start: float
    failures: int


class SignInLimiter:
    def __init__(
        self, *, max_failures: int = 5, window_seconds: float = 60.0, max_clients: int = 4096
    ) -> None:
        if max_failures < 1 or window_seconds <= 0 or max_clients < 1:
            raise ValueError("max_failures, window_seconds and max_clients must be positive")
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_clients = max_clients
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def retry_after(self, client: str, now: float) -> int | None:
        """Seconds until `client` may try again, or None when it may try now."""
        entry = self._current(client, now)
        if entry is None or entry.failures < self.max_failures:
            return None
        return max(1, math.ceil(entry.window_start + self.window_seconds - now))

    def failed(self, client: str, now: float) -> int:
        """Count one failed sign-in; returns the client's failures in the current window."""
        entry = self._current(client, now)
        if entry is None:
            entry = self._entries[client] = _Entry(now, 0)
            while len(self._entries) > self.max_clients:
                self._entries.popitem(last=False)
        entry.failures += 1
        self._entries.move_to_end(client)
        return entry.failures

    def _current(self, client: str, now: float) -> _Entry | None:
        entry = self._entries.get(client)
        if entry is not None and now - entry.window_start >= self.window_seconds:
            del self._entries[client]
            return None
        return entry
