"""What `python -m legacy_service` and `python -m canary_service` both do: validate settings,
configure logs, serve with uvicorn.

A bad value prints one line naming the variable and exits 2, before any socket opens.
uvicorn's own proxy-header rewriting is off: `client_ip` applies the trusted-proxy rule itself,
and a rewritten peer address would make an untrusted X-Forwarded-For look trusted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn

from common.logging import configure_logging
from common.settings import SettingsError, load_settings
from legacy_service.settings import ApiServiceSettings

S = TypeVar("S", bound=ApiServiceSettings)


def serve(settings: S, app_factory: Callable[[S], Any]) -> None:
    configure_logging(settings.log_level)
    uvicorn.run(
        app_factory(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


def run(program: str, settings_cls: type[S], app_factory: Callable[[S], Any]) -> int:
    """The console script's exit status: 2 for bad settings, 0 after a graceful stop."""
    try:
        settings = load_settings(settings_cls)
    except SettingsError as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return 2
    serve(settings, app_factory)
    return 0
