"""The seam between the gateway and the rollout machinery (DESIGN.md picture).

The gateway knows nothing of stores or controllers. `create_app(settings, rollout=...)` accepts an
object of this shape; the gateway's lifespan calls `start(aggregator)` after its upstream client is
open and `stop()` before closing it, mounts `routes` before the proxy catch-all, reads the live
percent through `current()` on every request (plain attribute read, no I/O), and merges
`readiness()` into `/readyz`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.routing import BaseRoute

from gateway.aggregate import Aggregator
from gateway.state import RoutingStateSource


class RolloutExtension(RoutingStateSource, Protocol):
    """A `RoutingStateSource` (`current()`, `readiness()`; `ok` False makes `/readyz` answer
    503) that also brings admin routes and background work tied to the gateway's lifespan."""

    @property
    def routes(self) -> Sequence[BaseRoute]:
        """Mounted once, at app creation: read-only, so a list, a tuple or a property will do."""
        ...

    async def start(self, aggregator: Aggregator) -> None: ...

    async def stop(self) -> None: ...
