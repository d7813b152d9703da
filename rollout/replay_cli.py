"""`ion-rollout export` and `replay`: settings, files and errors around rollout.replay."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from common.settings import SettingsError, load_settings
from rollout.judge.judge import JudgeConfig
from rollout.replay import ReplayError, export, read_export, replay
from rollout.settings import RolloutSettings
from rollout.store import StoreError, open_store

PREFIX = "ROLLOUT_"


def overrides(pairs: list[str]) -> dict[str, Any]:
    """`ROLLOUT_ALPHA=0.01` -> {"alpha": "0.01"}; anything else is refused by name."""
    found: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.startswith(PREFIX):
            raise SettingsError(f"--set wants ROLLOUT_NAME=value, got {pair!r}")
        key = name[len(PREFIX) :].lower()
        if key not in RolloutSettings.model_fields:
            raise SettingsError(f"unknown setting {name}")
        found[key] = value
    return found


def run_export(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(RolloutSettings)
        store = open_store(
            settings.store_url, **settings.store_options(settings.store_wait_seconds)
        )
    except (SettingsError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        with open(args.output, "w", encoding="utf-8") as out:
            written = export(
                store, out, stages=settings.stages, now=time.time(),
                settle_seconds=settings.settle_seconds, rollout_id=args.rollout,
            )  # fmt: skip
    except (ReplayError, StoreError, OSError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"wrote {written} seconds to {args.output}")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    try:
        settings = RolloutSettings(**overrides(args.set))
    except (SettingsError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        with open(args.file, encoding="utf-8") as lines:
            recorded = read_export(lines)
        stages = recorded.header["stages"]
        config = JudgeConfig.from_settings(settings.model_copy(update={"stages": stages}))
        for line in replay(recorded, config):
            print(line)
    except (ReplayError, OSError) as exc:
        print(f"replay failed: {exc}", file=sys.stderr)
        return 1
    return 0
