"""rollout/controller.py: scripted series and a fake clock; assert history and effects."""

from __future__ import annotations

import pytest

from gateway.aggregate import LatencyHistogram, TargetSecond
from rollout.controller import Controller
from rollout.judge.judge import JudgeConfig
from rollout.machine import Start
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
            profile="demo", store_url=f"sqlite:///{tmp_path}/r.db", settle_seconds=0, **overrides
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
            self.store, self.service, JudgeConfig.from_settings(s), clock=self.clock,
            holder=holder, lease_ttl_seconds=s.lease_ttl_seconds, settle_seconds=0,
        )  # fmt: skip

    def observe(
        self,
        seconds: int,
        per_second: int,
        errors: int,
        *,
        baseline: int = 100,
        baseline_errors: int = 1,
        latency_ms: float = 50.0,
    ) -> None:
        """Script canary and baseline traffic for the `seconds` before now (as flushed)."""
        rows = []
        for s in range(int(self.clock.now) - seconds, int(self.clock.now)):
            for series, n, e in (("canary", per_second, errors),
                                 ("baseline", baseline, baseline_errors)):  # fmt: skip
                hist = LatencyHistogram()
                hist.add(latency_ms, n)
                rows.append(TargetSecond(s, series, n, e, n - e, hist, n))
        self.store.append_aggregates(rows)

    def history(self) -> list[tuple[str, str, int]]:
        return [(e.verb, e.to_state, e.to_percent) for e in reversed(self.store.history())]


@pytest.fixture
def rig(tmp_path) -> Rig:
    return Rig(tmp_path)


@pytest.mark.anyio
async def test_breach_rolls_back_with_evidence_in_history(rig):
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=10, errors=2)  # 20 % errors against the baseline's 1 %
    verdict = await rig.controller.tick()
    assert verdict.verdict == "breach"
    assert rig.history() == [("start", "progressing", 5), ("auto_rollback", "rolled_back", 0)]
    rollback = rig.store.history(1)[0]
    assert rollback.actor == "controller"
    assert "error_rate 20x baseline" in rollback.reason
    numbers = {m["metric"]: m for m in rollback.details["verdict"]["metrics"]}
    error = numbers["error_rate"]
    assert error["ratio"] == pytest.approx(20.0)
    assert error["statistic"] >= error["threshold"] and error["ratio_low"] > 1
    assert (error["canary_events"], error["baseline_events"]) == (58, 29)  # stage's 29 seconds
    assert numbers["success_rate"]["canary_rate"] == pytest.approx(0.2)
    assert [kind for kind, _ in rig.notifier.sent] == ["start", "rollback"]
    assert "error_rate" in rig.notifier.sent[1][1]["evidence"]
    assert rig.store.read().state.percent == 0
    assert rig.store.last_verdict()["verdict"] == "breach"


@pytest.mark.anyio
async def test_every_tick_judges_only_the_newly_settled_seconds(rig):
    await rig.service.apply(Start())
    rig.clock.now += 1
    rig.observe(1, per_second=10, errors=0)  # the second the stage began in is not judged
    assert (await rig.controller.tick()).second is None
    for _ in range(5):
        rig.clock.now += 1
        rig.observe(1, per_second=10, errors=0)
        verdict = await rig.controller.tick()
        assert verdict.second == int(rig.clock.now) - 1
    rig.store.append_aggregates([TargetSecond(int(T0) + 2, "canary", 50, 1, 49)])  # too late
    rig.clock.now += 1
    rig.observe(1, per_second=10, errors=0)
    verdict = await rig.controller.tick()
    error = next(m for m in verdict.metrics if m.metric == "error_rate")
    # seconds T0+1 .. T0+6 as settled, and the late row of T0+2 folded in once, not lost
    assert (error.canary_requests, error.canary_events) == (60 + 50, 1)
    rig.clock.now += 1
    rig.observe(1, per_second=10, errors=0)
    error = next(m for m in (await rig.controller.tick()).metrics if m.metric == "error_rate")
    assert (error.canary_requests, error.canary_events) == (120, 1)  # never folded twice


@pytest.mark.anyio
async def test_a_process_whose_rows_arrive_late_still_moves_the_evidence(rig):
    """Two gateway processes; one keeps its rows through a store outage and flushes them once
    the store is back (issue 11: no request lost from the controller's view). Its canary
    errors, all in late rows, roll the canary back; without folding, the on-time process's
    healthy rows would never breach."""
    await rig.service.apply(Start())
    kept: list[TargetSecond] = []
    for _ in range(20):
        rig.clock.now += 1
        rig.observe(1, per_second=10, errors=0)  # process A, on time and healthy
        second = int(rig.clock.now) - 1
        kept += [TargetSecond(second, "canary", 10, 5, 5, started=10),  # process B: 50 %
                 TargetSecond(second, "baseline", 100, 1, 99, started=100)]  # fmt: skip
        verdict = await rig.controller.tick()
        assert verdict.verdict != "breach"
    rig.store.append_aggregates(kept)  # B's store is back: every row is late
    rig.clock.now += 1
    rig.observe(1, per_second=10, errors=0)
    verdict = await rig.controller.tick()
    error = next(m for m in verdict.metrics if m.metric == "error_rate")
    assert error.canary_events == 19 * 5  # B's rows of the stage's 19 whole seconds
    assert verdict.verdict == "breach"
    assert rig.history()[-1] == ("auto_rollback", "rolled_back", 0)


@pytest.mark.anyio
async def test_a_new_leader_rebuilds_the_same_evidence(rig):
    await rig.service.apply(Start())
    rig.clock.now += 40
    rig.observe(40, per_second=10, errors=0, baseline_errors=2)
    first = await rig.controller.tick()
    await rig.controller.release()
    successor = await rig.make_controller("ctl-2").tick()
    assert successor.to_dict() == first.to_dict()


@pytest.mark.anyio
async def test_a_new_leader_folds_late_rows_where_the_old_one_did(rig):
    await rig.service.apply(Start())
    rig.clock.now += 10
    rig.observe(10, per_second=10, errors=0, baseline_errors=2)
    await rig.controller.tick()
    rig.store.append_aggregates([TargetSecond(int(T0) + 3, "canary", 40, 1, 39, started=40),
                                 TargetSecond(int(T0) + 4, "baseline", 400, 3, 397)])  # fmt: skip
    rig.clock.now += 10
    rig.observe(10, per_second=10, errors=0, baseline_errors=2)
    first = await rig.controller.tick()
    error = next(m for m in first.metrics if m.metric == "error_rate")
    assert (error.canary_requests, error.canary_events) == (19 * 10 + 40, 1)
    await rig.controller.release()
    successor = await rig.make_controller("ctl-2").tick()
    assert successor.to_dict() == first.to_dict()


@pytest.mark.anyio
async def test_canary_and_baseline_past_a_guard_pause_instead_of_rolling_back(rig):
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=20, errors=6, baseline=100, baseline_errors=30)  # both 30 %
    verdict = await rig.controller.tick()
    assert (verdict.verdict, verdict.shared) == ("breach", True)
    assert rig.history()[-1] == ("auto_pause", "paused", 5)
    assert "not the canary's fault" in rig.store.history(1)[0].reason


@pytest.mark.anyio
async def test_warn_is_recorded_and_notified_at_most_every_repeat_interval(rig):
    await rig.service.apply(Start())
    warned = []
    for _ in range(60):  # 2x the baseline's errors: evidence builds up slowly
        rig.clock.now += 1
        rig.observe(1, per_second=100, errors=2, baseline=1000, baseline_errors=10)
        verdict = await rig.controller.tick()
        warned.append(verdict.verdict)
        if verdict.verdict == "breach":
            break
    assert "warn" in warned
    warns = [v for v, _, _ in rig.history() if v == "warn"]
    first = warned.index("warn")
    span = len(warned) - first
    assert len(warns) == 1 + (span - 1) // int(rig.settings.warn_repeat_seconds)
    assert [kind for kind, _ in rig.notifier.sent].count("warn") == len(warns)


@pytest.mark.anyio
async def test_not_enough_data_never_advances_or_breaches(tmp_path):
    rig = Rig(tmp_path, auto_advance=True)
    await rig.service.apply(Start())
    rig.clock.now += 60  # soak (5 s) long over
    rig.store.append_aggregates([TargetSecond(int(rig.clock.now) - 1, "canary", 5, 5, 0)])
    verdict = await rig.controller.tick()
    assert verdict.verdict == "not_enough_data"
    assert "seen" in verdict.detail and "needed" in verdict.detail
    assert rig.history() == [("start", "progressing", 5)]


@pytest.mark.anyio
@pytest.mark.parametrize(("auto", "expected"), [(True, 10), (False, 5)])
async def test_healthy_and_soaked_advances_only_with_auto_advance(tmp_path, auto, expected):
    rig = Rig(tmp_path, auto_advance=auto)
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=1000, errors=0, baseline=10000, baseline_errors=0)
    assert (await rig.controller.tick()).verdict == "healthy"
    assert rig.store.read().state.percent == expected
    if auto:
        assert rig.history()[-1] == ("auto_advance", "progressing", 10)


@pytest.mark.anyio
async def test_healthy_before_soak_elapsed_waits(tmp_path):
    rig = Rig(tmp_path, auto_advance=True, soak_seconds=[600, 600, 600, 600])
    await rig.service.apply(Start())
    rig.clock.now += 30
    rig.observe(30, per_second=1000, errors=0, baseline=10000, baseline_errors=0)
    assert (await rig.controller.tick()).verdict == "healthy"
    assert rig.store.read().state.percent == 5


@pytest.mark.anyio
async def test_counts_never_reach_before_the_stage_began(rig):
    rig.observe(30, per_second=10, errors=10)  # a previous rollout's failures
    await rig.service.apply(Start())
    rig.clock.now += 6
    rig.observe(6, per_second=10, errors=0)
    verdict = await rig.controller.tick()
    assert verdict.verdict != "breach"
    error = next(m for m in verdict.metrics if m.metric == "error_rate")
    assert (error.canary_requests, error.canary_events) == (50, 0)  # 5 whole seconds
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
