"""Fixtures: two real upstreams and a gateway in front of them, all on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from gateway.aggregate import Aggregator
from gateway.app import create_app
from gateway.server import server_options
from gateway.settings import GatewaySettings
from tests.gateway.upstreams import Upstream
from tests.support.servers import serve_app


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, tuple[Upstream, str]]]:
    legacy, canary = Upstream("legacy"), Upstream("canary")
    with serve_app(legacy.app) as legacy_url, serve_app(canary.app) as canary_url:
        yield {"legacy": (legacy, legacy_url), "canary": (canary, canary_url)}


class AccessLines(list):
    """An access-log stream that keeps each line it is given, parsed (a list of dicts)."""

    def write(self, text: str) -> None:
        self.extend(json.loads(line) for line in text.splitlines())

    def flush(self) -> None:
        pass


def access_lines(app) -> AccessLines:
    """The access lines a `running_gateway` app has written so far (batched: up to 100 ms late)."""
    return app.runtime.access.stream


@contextlib.contextmanager
def running_gateway(**settings):
    """A gateway on loopback, served as `python -m gateway` serves it (gateway.server's uvicorn
    options and protocol); yields (base_url, app) so tests can look at its runtime, and its
    access lines (`access_lines(app)`).

    No rollout extension here, so the percent is static (GATEWAY_PERCENT_SOURCE=static); the
    tests take the rollout's place as the consumer of the aggregates (`app.runtime.aggregator`).
    """
    gateway_settings = GatewaySettings(**{"percent_source": "static", **settings})
    app = create_app(gateway_settings, registry=CollectorRegistry(), aggregator=Aggregator(),
                     access_stream=AccessLines())  # fmt: skip
    with serve_app(app, **server_options(gateway_settings)) as url:
        yield url, app


@pytest.fixture(scope="module")
def gateway(upstreams):
    """Canary at 5%; pinned /only-canary; retry after canary 5xx on /status/502."""
    with running_gateway(
        legacy_url=upstreams["legacy"][1],
        canary_url=upstreams["canary"][1],
        canary_percent=5,
        max_body_bytes=1_000_000,
        read_timeout_seconds=0.5,
        pinned_paths={"/only-canary": "canary"},
        retry_on_5xx_paths=("/status/502",),
    ) as (url, app):
        yield url, app
