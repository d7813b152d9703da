"""Fixtures for canary tests: settings with test-friendly limits, and a real server per test."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog
from prometheus_client import CollectorRegistry

from canary_service.app import create_app
from canary_service.settings import CanarySettings
from tests.support.servers import serve_app

SMOKE_BODY = {"message": "Python의 장점을 간단히 설명해주세요", "user_id": "test-canary-001"}
ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def make_settings(**overrides: Any) -> CanarySettings:
    """High rate limit and no chunk delay unless a test asks: tests send many requests."""
    base: dict[str, Any] = {"rate_limit": "100000/minute", "stream_chunk_delay_ms": 0}
    base.update(overrides)
    return CanarySettings(**base)


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """Undo any logging config another test left bound to a (now closed) captured stdout:
    structlog's default factory resolves sys.stdout per logger, so our servers never write into
    a dead stream."""
    structlog.reset_defaults()
    yield


@contextmanager
def running(model: Any = None, seed: int = 1, **overrides: Any) -> Iterator[str]:
    app = create_app(
        make_settings(**overrides),
        registry=CollectorRegistry(),
        model=model,
        rng=random.Random(seed),
    )
    with serve_app(app) as url:
        yield url


@pytest.fixture
def serve() -> Callable[..., Any]:
    """`with serve(**settings) as url:` runs a canary on 127.0.0.1:<ephemeral>."""
    return running
