"""`ion-canary` / `python -m canary_service`: validate settings, then serve with uvicorn.

Same start-up as the legacy service (`legacy_service.serving`): a bad `CANARY_*` value prints one
line naming the variable and exits 2, before any socket opens.
"""

from __future__ import annotations

import sys

from canary_service.app import create_app
from canary_service.settings import CanarySettings
from legacy_service.serving import run


def main() -> int:
    return run("ion-canary", CanarySettings, create_app)


if __name__ == "__main__":
    sys.exit(main())
