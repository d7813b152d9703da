"""`python -m gateway` / `ion-gateway`: serve the gateway with uvicorn (uvloop + httptools).

With `GATEWAY_WORKERS` > 1 each worker process builds its own app from the environment through
`build_app` (uvicorn's factory mode).
"""

from __future__ import annotations

import sys

import uvicorn

from common.logging import configure_logging
from common.settings import SettingsError, load_settings
from gateway.app import GatewayApp, create_app
from gateway.settings import GatewaySettings


def build_app() -> GatewayApp:
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_level)
    return create_app(settings)


def main() -> None:
    try:
        settings = load_settings(GatewaySettings)
        configure_logging(settings.log_level)
    except (SettingsError, ValueError) as exc:
        print(f"ion-gateway: {exc}", file=sys.stderr)
        sys.exit(2)
    uvicorn.run(
        "gateway.__main__:build_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,  # the gateway is the edge: it appends the peer to X-Forwarded-For
        server_header=False,  # the upstream's Server/Date headers pass through unchanged
        date_header=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
