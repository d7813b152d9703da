"""The live routing state the gateway reads on every request, and where it comes from.

`RoutingStateSource` is the small interface between the proxy and whatever decides the percent:
`StaticStateSource` (settings, `GATEWAY_CANARY_PERCENT`) or the rollout store poller. `current()`
is called on the hot path, so it must be a plain attribute read with no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class RoutingState:
    percent: int
    salt: str | None = None
    version: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100:
            raise ValueError(f"canary percent must be within 0..100, got {self.percent}")


class RoutingStateSource(Protocol):
    def current(self) -> RoutingState: ...

    def readiness(self) -> dict[str, Any]:
        """Health of the source for `/readyz`: must contain `ok: bool`."""
        ...


class StaticStateSource:
    def __init__(self, state: RoutingState) -> None:
        self._state = state

    def current(self) -> RoutingState:
        return self._state

    def readiness(self) -> dict[str, Any]:
        return {"ok": True, "source": "static", "percent": self._state.percent}
