"""The one place that builds the rollout's parts from `RolloutSettings`: machine, service,
controller. The gateway extension and `ion-rollout controller` both use it, so the two can never
judge the same rollout with different rules."""

from __future__ import annotations

from collections.abc import Callable

from rollout.controller import Controller
from rollout.machine import Machine
from rollout.metrics import RolloutMetrics
from rollout.notify import Notifier
from rollout.plan import Plan
from rollout.policy import rules_from_settings
from rollout.service import RolloutService
from rollout.settings import RolloutSettings
from rollout.store import RolloutStore


def build_machine(settings: RolloutSettings) -> Machine:
    return Machine(
        Plan.from_settings(settings),
        breach_action=settings.breach_action,
        auto_advance=settings.auto_advance,
    )


def build_service(
    settings: RolloutSettings,
    store: RolloutStore,
    *,
    clock: Callable[[], float],
    notifier: Notifier,
    metrics: RolloutMetrics,
) -> RolloutService:
    return RolloutService(
        store, build_machine(settings), clock=clock, notifier=notifier, metrics=metrics
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
        rules_from_settings(settings),
        settings.min_samples,
        clock=clock,
        holder=holder,
        lease_ttl_seconds=settings.lease_ttl_seconds,
        check_interval_seconds=settings.check_interval_seconds,
        metrics=service.metrics,
    )
