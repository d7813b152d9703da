"""`ion-legacy` / `python -m legacy_service`: validate settings, configure logs, serve
(`legacy_service.serving`, shared with the canary)."""

from __future__ import annotations

import sys

from legacy_service.app import create_app
from legacy_service.serving import run
from legacy_service.settings import LegacySettings


def main() -> int:
    return run("ion-legacy", LegacySettings, create_app)


if __name__ == "__main__":
    sys.exit(main())
