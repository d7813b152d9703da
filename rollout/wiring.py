"""The one place that builds the rollout's parts from `RolloutSettings`: machine, service,
controller. The gateway extension and `ion-rollout controller` both use it, so the two can never
judge the same rollout with different rules."""

from __future__ import annotations

from collections.abc import Callable

from rollout.controller import Controller
from rollout.judge.judge import JudgeConfig
from rollout.machine import Machine
from rollout.metrics import RolloutMetrics
from rollout.notify import Notifier
from rollout.plan import Plan
from rollout.service import RolloutService
from rollout.settings import RolloutSettings
from rollout.store import RolloutStore, StoredState


def build_machine(settings: RolloutSettings) -> Machine:
    return Machine(
        Plan.from_settings(settings),
        breach_action=settings.breach_action,
        shared_breach_action=settings.shared_breach_action,
        auto_advance=settings.auto_advance,
        warn_repeat_seconds=settings.warn_repeat_seconds,
    )


def build_service(
    settings: RolloutSettings,
    store: RolloutStore,
    *,
    clock: Callable[[], float],
    notifier: Notifier,
    metrics: RolloutMetrics,
    on_commit: Callable[[StoredState], None] | None = None,
) -> RolloutService:
    return RolloutService(
        store,
        build_machine(settings),
        clock=clock,
        notifier=notifier,
        metrics=metrics,
        on_commit=on_commit,
    )


def build_controller(
    settings: RolloutSettings,
    service: RolloutService,
    *,
    clock: Callable[[], float],
    holder: str | None = None,
) -> Controller:
    return Controller(
        service.store,
        service,
        JudgeConfig.from_settings(settings),
        clock=clock,
        holder=holder,
        lease_ttl_seconds=settings.lease_ttl_seconds,
        interval_seconds=settings.flush_interval_seconds,
        settle_seconds=settings.settle_seconds,
        metrics=service.metrics,
    )
