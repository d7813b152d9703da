"""`ion-canary` / `python -m canary_service`: validate settings, then serve with uvicorn.

A bad `CANARY_*` value prints one line naming the variable and exits 2, before any socket opens.
"""

from __future__ import annotations

import sys

import uvicorn

from canary_service.app import create_app
from canary_service.settings import CanarySettings
from common.logging import configure_logging
from common.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings(CanarySettings)
    except SettingsError as exc:
        print(f"ion-canary: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
