"""Real legacy servers on 127.0.0.1 for the HTTP tests.

uvicorn's proxy-header rewriting is off, as in `python -m legacy_service`, so the app sees the
real peer and applies its own trusted-proxy rule.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest

from common.settings import load_settings
from legacy_service.app import create_app
from legacy_service.settings import LegacySettings
from tests.support.servers import serve_app


def make_settings(**overrides: object) -> LegacySettings:
    overrides.setdefault("rate_limit", "1000/second")
    return load_settings(LegacySettings, **overrides)


@contextlib.contextmanager
def legacy_client(settings: LegacySettings | None = None, **app_kwargs) -> Iterator[httpx.Client]:
    app = create_app(settings or make_settings(), **app_kwargs)
    with serve_app(app, proxy_headers=False) as base, httpx.Client(base_url=base) as client:
        yield client


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One server for the read-only tests of a module; its limit is out of the way."""
    with legacy_client() as shared:
        yield shared
