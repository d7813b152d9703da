"""rollout/controller.py: scripted observations and a fake clock; assert history and effects."""

from __future__ import annotations

import pytest

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.controller import Controller
from rollout.machine import Start
from rollout.policy import rules_from_settings
from rollout.service import RolloutService
from rollout.settings import RolloutSettings
from rollout.store.sqlite import SqliteStore
from rollout.wiring import build_machine

T0 = 10_000.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def notify(self, kind: str, payload: dict) -> None:
        self.sent.append((kind, payload))

    async def aclose(self) -> None:
        return None


class Rig:
    """A real store, the real service and controller; only time and the webhook are fakes."""

    def __init__(self, tmp_path, **overrides) -> None:
        settings = RolloutSettings(
            profile="demo", store_url=f"sqlite:///{tmp_path}/r.db", **overrides
        )
        self.clock = Clock(T0)
        self.store = SqliteStore(settings.sqlite_path)
        self.notifier = RecordingNotifier()
        self.service = RolloutService(
            self.store, build_machine(settings), clock=self.clock, notifier=self.notifier
        )
        self.controller = self.make_controller("ctl-1", settings)
        self.settings = settings

    def make_controller(self, holder: str, settings=None) -> Controller:
        s = settings or self.settings
        return Controller(
            self.store, self.service, rules_from_settings(s), s.min_samples,
            clock=self.clock, holder=holder, lease_ttl_seconds=s.lease_ttl_seconds,
        )  # fmt: skip

    def observe(self, seconds: int, per_second: int, errors: int, latency_ms: float = 50.0):
        """Script canary traffic for the `seconds` before now (as the gateways would flush it)."""
        rows = []
        for s in range(int(self.clock.now) - seconds, int(self.clock.now)):
            hist = LatencyHistogram()
            hist.add(latency_ms, per_second)
            rows.append(TargetSecond(s, "canary", per_second, errors, per_second - errors, hist))
        self.store.append_aggregates(rows)

    def history(self) -> list[tuple[str, str, int]]:
        return [(e.verb, e.to_state, e.to_percent) for e in reversed(self.store.history())]


@pytest.fixture
def rig(tmp_path) -> Rig:
    return Rig(tmp_path)


@pytest.mark.anyio
async def test_breach_rolls_back_with_numbers_in_history(rig):
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=10, errors=2)  # 20 % errors, 300 samples
    verdict = await rig.controller.tick()
    assert verdict.verdict == "breach"
    assert rig.history() == [("start", "progressing", 5), ("auto_rollback", "rolled_back", 0)]
    rollback = rig.store.history(1)[0]
    assert rollback.actor == "controller"
    assert "error_rate 0.2 > 0.05 over 30s (300 samples)" in rollback.reason
    numbers = {m["metric"]: m for m in rollback.details["verdict"]["metrics"]}
    assert numbers["error_rate"]["value"] == pytest.approx(0.2)
    assert numbers["success_rate"]["value"] == pytest.approx(0.8)
    assert [kind for kind, _ in rig.notifier.sent] == ["start", "rollback"]
    assert rig.store.read().state.percent == 0
    assert rig.store.last_verdict()["verdict"] == "breach"


@pytest.mark.anyio
async def test_warn_is_recorded_and_notified_once_per_window(rig):
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=100, errors=3)  # 3 %: over warn 2 %, under breach 5 %
    for step in (0, 10, 10):  # three checks within the 30 s window
        rig.clock.now += step
        rig.observe(step, per_second=100, errors=3)
        assert (await rig.controller.tick()).verdict == "warn"
    rig.clock.now += 10  # 30 s after the first warning
    rig.observe(10, per_second=100, errors=3)
    await rig.controller.tick()
    assert [v for v, _, _ in rig.history()] == ["start", "warn", "warn"]
    assert [kind for kind, _ in rig.notifier.sent] == ["start", "warn", "warn"]
    assert rig.store.read().state.status == "progressing"


@pytest.mark.anyio
async def test_not_enough_data_never_advances_or_breaches(tmp_path):
    rig = Rig(tmp_path, auto_advance=True)
    await rig.service.apply(Start())
    rig.clock.now += 60  # soak (5 s) long over
    rig.observe(30, per_second=0, errors=0)
    rig.store.append_aggregates([TargetSecond(int(rig.clock.now) - 1, "canary", 5, 5, 0)])
    verdict = await rig.controller.tick()
    assert verdict.verdict == "not_enough_data"
    assert rig.history() == [("start", "progressing", 5)]


@pytest.mark.anyio
@pytest.mark.parametrize(("auto", "expected"), [(True, 10), (False, 5)])
async def test_healthy_and_soaked_advances_only_with_auto_advance(tmp_path, auto, expected):
    rig = Rig(tmp_path, auto_advance=auto)
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=10, errors=0)
    assert (await rig.controller.tick()).verdict == "healthy"
    assert rig.store.read().state.percent == expected
    if auto:
        assert rig.history()[-1] == ("auto_advance", "progressing", 10)


@pytest.mark.anyio
async def test_healthy_before_soak_elapsed_waits(tmp_path):
    rig = Rig(tmp_path, auto_advance=True, soak_seconds=[600, 600, 600, 600])
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=10, errors=0)
    await rig.controller.tick()
    assert rig.store.read().state.percent == 5


@pytest.mark.anyio
async def test_windows_never_reach_before_the_rollout_started(rig):
    rig.observe(30, per_second=10, errors=10)  # a previous rollout's failures
    await rig.service.apply(Start())
    rig.clock.now += 5
    rig.observe(5, per_second=10, errors=0)
    verdict = await rig.controller.tick()
    assert verdict.verdict in ("healthy", "not_enough_data")
    assert {m.samples for m in verdict.metrics} == {50}
    assert rig.store.read().state.status == "progressing"


@pytest.mark.anyio
async def test_only_the_lease_holder_acts(rig):
    other = rig.make_controller("ctl-2")
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=10, errors=5)
    assert await other.tick() is not None  # ctl-2 takes the lease first ...
    assert await rig.controller.tick() is None  # ... so ctl-1 stands by
    assert [v for v, _, _ in rig.history()] == ["start", "auto_rollback"]
    rig.clock.now += rig.settings.lease_ttl_seconds + 1  # ctl-2 died: lease expires
    await rig.service.apply(Start())
    assert await rig.controller.tick() is not None and rig.controller.leader


@pytest.mark.anyio
async def test_idle_store_is_not_judged(rig):
    assert await rig.controller.tick() is None
    assert rig.store.last_verdict() is None
