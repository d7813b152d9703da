"""`ion-legacy` / `python -m legacy_service`: validate settings, configure logs, serve.

uvicorn's own proxy-header rewriting is off: `client_ip` applies the trusted-proxy rule itself,
and a rewritten peer address would make an untrusted X-Forwarded-For look trusted.
"""

from __future__ import annotations

import sys

import uvicorn

from common.logging import configure_logging
from common.settings import SettingsError, load_settings
from legacy_service.app import create_app
from legacy_service.settings import LegacySettings


def main() -> int:
    try:
        settings = load_settings(LegacySettings)
    except SettingsError as exc:
        print(f"ion-legacy: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
