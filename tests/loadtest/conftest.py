"""Real legacy, canary and gateway apps on 127.0.0.1 ephemeral ports for the load-tool tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canary_service.app import create_app as create_canary
from canary_service.settings import CanarySettings
from common.settings import load_settings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from legacy_service.app import create_app as create_legacy
from legacy_service.settings import LegacySettings
from tests.support.servers import serve_app

#: The original's test-mode limit, as `ion-run` sets it: everything here comes from one IP.
LOCAL_RATE_LIMIT = "1000/second"


def service_apps(rate_limit: str):
    legacy = create_legacy(load_settings(LegacySettings, rate_limit=rate_limit))
    canary = create_canary(load_settings(CanarySettings, rate_limit=rate_limit))
    return legacy, canary


@pytest.fixture
def stack() -> Iterator[str]:
    """Legacy and canary behind a gateway at a static 50% (no rollout store); yields its URL."""
    legacy, canary = service_apps(LOCAL_RATE_LIMIT)
    with serve_app(legacy) as legacy_url, serve_app(canary) as canary_url:
        settings = load_settings(
            GatewaySettings,
            legacy_url=legacy_url,
            canary_url=canary_url,
            percent_source="static",
            canary_percent=50,
        )
        with serve_app(create_gateway(settings)) as gateway_url:
            yield gateway_url
