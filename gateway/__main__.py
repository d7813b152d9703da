"""`python -m gateway` / `ion-gateway`: serve the gateway with uvicorn (`gateway.server`).

With `GATEWAY_WORKERS` > 1 each worker process builds its own app from the environment through
`build_app` (uvicorn's factory mode).
"""

from __future__ import annotations

import sys

from prometheus_client import CollectorRegistry

from common.logging import configure_logging
from common.settings import SettingsError, load_settings
from gateway import server
from gateway.app import GatewayApp, create_app
from gateway.settings import GatewaySettings
from rollout.extension import GatewayRollout
from rollout.settings import RolloutSettings


def build_app() -> GatewayApp:
    """The app as each worker builds it: live percent from the rollout store unless static."""
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_level)
    registry = CollectorRegistry()
    rollout = None
    if settings.percent_source == "store":
        rollout = GatewayRollout(
            load_settings(RolloutSettings),
            admin_token=settings.admin_token,
            registry=registry,
            run_controller=settings.run_controller,
        )
    return create_app(settings, registry=registry, rollout=rollout)


def main() -> None:
    try:
        settings = load_settings(GatewaySettings)
        if settings.percent_source == "store":
            load_settings(RolloutSettings)
        configure_logging(settings.log_level)
    except (SettingsError, ValueError) as exc:
        print(f"ion-gateway: {exc}", file=sys.stderr)
        sys.exit(2)
    server.run(settings, "gateway.__main__:build_app")


if __name__ == "__main__":
    main()
