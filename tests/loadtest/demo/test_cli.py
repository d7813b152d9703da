"""ion-demo: pure bookkeeping (shares, flips, summary, schedule) and real `--fast` runs.

The slow tests run `python -m loadtest.demo` as a subprocess starting its own stack on free
ports, the way `make demo` does, and read the JSON summary it writes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from deploy.local.stack import port_is_free
from loadtest.demo import cli as demo
from loadtest.demo.ledger import (
    CANARY,
    LEGACY,
    NO_SIDE,
    Ledger,
    Outcome,
    expected_share,
    population,
    sides_since,
    split_moves,
)
from loadtest.demo.plan import (
    FAST_PLAN,
    plan_for,
    ramp_stages,
    stack_env,
    startable,
)
from loadtest.demo.render import (
    Board,
    metric_line,
    render_board,
    render_summary,
    summary_rows,
)
from loadtest.demo.summary import breach_metric, build_summary, find_rollback
from loadtest.demo.traffic import Pacer, chat_body
from tests.support.servers import free_port, wait_until

REPO = Path(__file__).resolve().parents[3]

# DESIGN.md vectors: user_19 -> 0, user_33 -> 1, user_54 -> 4, bob -> 20, alice -> 70.
VECTOR_USERS = ("user_19", "user_33", "user_54", "bob", "alice")


@pytest.mark.parametrize(
    ("percent", "expected", "why"),
    [
        (0, 0.0, "idle: nobody on the canary"),
        (1, 0.2, "bucket 0 only"),
        (5, 0.6, "buckets 0, 1, 4"),
        (21, 0.8, "bob's bucket 20 joins"),
        (70, 0.8, "alice's bucket 70 is not below 70"),
        (71, 1.0, "everyone"),
        (100, 1.0, "everyone"),
    ],
)
def test_expected_share_follows_the_bucket_formula(percent, expected, why):
    assert expected_share(VECTOR_USERS, percent) == pytest.approx(expected), why


def test_expected_share_of_nobody_is_zero_and_a_salt_picks_another_slice():
    assert expected_share((), 50) == 0.0
    users = population(200)
    assert expected_share(users, 50, "wave-2") != expected_share(users, 50)


def test_population_is_stable_and_distinct():
    assert population(3) == ("demo-user-000", "demo-user-001", "demo-user-002")
    assert len(set(population(200))) == 200


def outcome(user, side, at, status=200):
    return Outcome(user, side, status, at, at + 0.01)


def test_stage_tally_counts_requests_users_and_errors_per_side():
    ledger = Ledger(["a", "b", "c"])
    ledger.begin_stage("10%", 10)
    for item in (
        outcome("a", CANARY, 1),
        outcome("a", CANARY, 2, status=503),
        outcome("b", LEGACY, 3),
        outcome("c", LEGACY, 4),
        outcome("c", NO_SIDE, 5, status=None),
    ):
        ledger.record(item)
    tally = ledger.current
    assert tally.requests == Counter({CANARY: 2, LEGACY: 2, NO_SIDE: 1})
    assert tally.errors == Counter({CANARY: 1, NO_SIDE: 1})
    assert tally.canary_request_share == pytest.approx(2 / 5)
    assert tally.canary_user_share == pytest.approx(1 / 3)
    assert (tally.total_errors, tally.users_seen) == (2, 3)


@pytest.mark.parametrize(
    ("sides", "moves", "why"),
    [
        ((LEGACY, CANARY, CANARY), 0, "legacy -> canary is the stage growing"),
        ((CANARY, LEGACY), 1, "canary -> legacy is a move"),
        ((CANARY, NO_SIDE, CANARY), 0, "a failed request says nothing about routing"),
        ((CANARY, NO_SIDE, LEGACY), 1, "the last known side counts"),
        ((CANARY, LEGACY, CANARY, LEGACY), 2, "every move back counts"),
    ],
)
def test_ledger_records_every_move_from_canary_back_to_legacy(sides, moves, why):
    ledger = Ledger(["u"])
    ledger.begin_stage("5%", 5)
    for at, side in enumerate(sides):
        ledger.record(outcome("u", side, float(at)))
    assert len(ledger.moves) == moves, why


@pytest.mark.parametrize(
    ("rollback_at", "flips", "returns", "why"),
    [
        (None, 2, 0, "no rollback: every move is a flip"),
        (5.0, 1, 1, "answered before the rollback: flip; after: sent home"),
        (1.005, 0, 2, "in flight across the rollback: benefit of the doubt"),
        (100.0, 2, 0, "both answered before the rollback"),
    ],
)
def test_split_moves_uses_the_rollback_time(rollback_at, flips, returns, why):
    ledger = Ledger(["a", "b"])
    for user, first, second in (("a", 0.0, 1.0), ("b", 2.0, 9.0)):
        ledger.record(outcome(user, CANARY, first))
        ledger.record(outcome(user, LEGACY, second))
    got = split_moves(ledger.moves, rollback_at)
    assert (len(got[0]), len(got[1])) == (flips, returns), why


def test_sides_since_counts_requests_sent_from_the_cutoff_on():
    items = [outcome("a", CANARY, 1.0), outcome("a", LEGACY, 2.0), outcome("b", LEGACY, 3.0)]
    assert sides_since(items, 2.0) == Counter({LEGACY: 2})
    assert sides_since(items, None) == Counter()


@pytest.mark.parametrize(
    ("calls", "delays"),
    [
        ([0.0, 0.0, 0.0], [0.0, 0.1, 0.2]),  # three workers at once: spaced by the interval
        ([0.0, 0.05, 0.3], [0.0, 0.05, 0.0]),  # a late caller sends at once, no burst after
        ([1.0, 1.1, 1.2], [0.0, 0.0, 0.0]),  # callers already on the beat never wait
    ],
)
def test_pacer_spaces_requests_at_the_rate(calls, delays):
    pacer = Pacer(10.0)
    assert [pacer.delay(now) for now in calls] == pytest.approx(delays)


def test_pacer_refuses_a_rate_that_is_not_positive_and_bodies_carry_the_user():
    with pytest.raises(ValueError):
        Pacer(0)
    assert chat_body("u-1", 3)["user_id"] == "u-1"


def test_schedule_stops_before_the_last_stage_and_knows_when_start_is_valid():
    assert ramp_stages([5, 10, 25, 50, 100]) == [5, 10, 25, 50]
    assert ramp_stages([100]) == []
    assert [startable(s) for s in ("idle", "rolled_back", "completed")] == [True] * 3
    assert [startable(s) for s in ("progressing", "paused")] == [False] * 2


def test_stack_env_pins_the_demo_profile_and_fast_mode_shortens_the_intervals():
    normal, fast = stack_env(False, "sqlite:///x.db"), stack_env(True, "sqlite:///x.db")
    assert normal["ROLLOUT_PROFILE"] == "demo" and normal["ROLLOUT_AUTO_ADVANCE"] == "false"
    assert normal["ROLLOUT_BREACH_ACTION"] == "rollback"
    assert "ROLLOUT_SETTLE_SECONDS" not in normal
    assert fast["ROLLOUT_SETTLE_SECONDS"] == "0.3" and fast["ROLLOUT_STORE_URL"].endswith("x.db")
    assert (
        plan_for(True) is FAST_PLAN
        and FAST_PLAN.with_overrides(users=7, rate_per_s=None).users == 7
    )


BREACH = {
    "metric": "error_rate",
    "kind": "vs_baseline",
    "verdict": "breach",
    "statistic": 25000.0,
    "threshold": 16000.0,
    "canary_events": 10,
    "canary_requests": 80,
    "baseline_events": 1,
    "baseline_requests": 90,
    "seen": 80,
    "needed": 40,
    "ratio": 11.3,
    "ratio_low": 2.0,
    "ratio_high": None,
}
AUTO = {
    "at": 20.0,
    "verb": "auto_rollback",
    "actor": "controller",
    "reason": "breach: error_rate 11.3x baseline [2, inf] (E=2.5e+04 vs 1.6e+04; ...)",
    "details": {"verdict": {"verdict": "breach", "metrics": [{"verdict": "healthy"}, BREACH]}},
}


def test_find_rollback_takes_the_newest_rollback_of_this_run():
    history = [{"verb": "advance", "at": 25.0}, AUTO, {"verb": "rollback", "at": 1.0}]
    assert find_rollback(history, since=10.0) is AUTO
    assert find_rollback(history, since=21.0) is None
    assert breach_metric(AUTO) == BREACH and breach_metric(None) is None


def run_ledger(after_rollback_side=LEGACY, flip=False) -> Ledger:
    """A tiny run: one canary user, rolled back at t=20, requests until t=30."""
    ledger = Ledger(["c", "l"])
    ledger.begin_stage("5%", 5)
    ledger.record(outcome("c", CANARY, 5.0))
    ledger.record(outcome("l", LEGACY, 6.0))
    if flip:
        ledger.record(outcome("c", LEGACY, 7.0))
        ledger.record(outcome("c", CANARY, 8.0))
    ledger.record(outcome("c", CANARY, 15.0, status=500))
    ledger.record(outcome("c", after_rollback_side, 25.0))
    ledger.record(outcome("l", LEGACY, 26.0))
    return ledger


def summary_of(ledger, rollback=AUTO, final=None):
    final = final or {"state": "rolled_back", "percent": 0}
    return build_summary(
        ledger, fault_at=10.0, rollback=rollback, final_status=final, legacy_since=21.0
    )


def test_summary_of_a_good_run():
    summary = summary_of(run_ledger())
    assert summary.ok and summary.rolled_back_automatically and summary.all_legacy_after_rollback
    assert (summary.requests, summary.user_errors, summary.flips) == (5, 1, 0)
    assert summary.sides == {LEGACY: 3, CANARY: 2}
    assert summary.errors_by_side == {LEGACY: 0, CANARY: 1}
    assert (summary.returned_users, summary.after_rollback) == (1, {LEGACY: 2, CANARY: 0})
    assert summary.fault_to_rollback_s == pytest.approx(10.0)
    assert summary.breach == BREACH and summary.rollback_reason == AUTO["reason"]
    data = summary.to_dict()
    assert data["ok"] is True and json.loads(json.dumps(data))["final_state"] == "rolled_back"
    assert ("result", "OK") in summary_rows(summary)
    assert render_summary(summary).row_count == len(summary_rows(summary))


@pytest.mark.parametrize(
    ("summary", "why"),
    [
        (summary_of(run_ledger(flip=True)), "a user flipped back while the stage grew"),
        (summary_of(run_ledger(after_rollback_side=CANARY)), "canary traffic after rollback"),
        (summary_of(run_ledger(), rollback={**AUTO, "verb": "rollback"}), "operator rollback"),
        (summary_of(run_ledger(), rollback=None), "no rollback at all"),
        (summary_of(run_ledger(), final={"state": "progressing", "percent": 50}), "not at 0 %"),
    ],
)
def test_summary_is_not_ok_when_the_demo_did_not_show_its_point(summary, why):
    assert not summary.ok, why
    assert ("result", "NOT AS EXPECTED") in summary_rows(summary)


def test_summary_without_rollback_has_no_duration_and_counts_every_move_as_a_flip():
    summary = summary_of(run_ledger(flip=True), rollback=None)
    assert (summary.fault_to_rollback_s, summary.flips, summary.returned_users) == (None, 2, 0)
    assert summary.flip_examples == ["c at 5%", "c at 5%"]


@pytest.mark.parametrize(
    "argv", [["--error-rate", "2"], ["--users", "0"], ["--rate", "-1"], ["--concurrency", "0"]]
)
def test_bad_options_exit_2_with_a_message(argv, capsys):
    assert demo.main(argv) == 2
    assert "ion-demo:" in capsys.readouterr().out


def test_attaching_without_tokens_explains_which_variables_to_set(monkeypatch, capsys):
    monkeypatch.delenv("GATEWAY_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("CANARY_ADMIN_TOKEN", raising=False)
    assert demo.main(["--stack", "attach", "--gateway-url", "http://127.0.0.1:9"]) == 1
    out = capsys.readouterr().out
    assert "GATEWAY_ADMIN_TOKEN and CANARY_ADMIN_TOKEN" in out and "--stack own" in out


def demo_command(tmp_path: Path, gateway_port: int) -> list[str]:
    return [
        sys.executable, "-m", "loadtest.demo", "--fast", "--stack", "own", "--no-live",
        "--gateway-port", str(gateway_port), "--run-dir", str(tmp_path / "run"),
        "--json", str(tmp_path / "summary.json"),
    ]  # fmt: skip


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLOUT_", "GATEWAY_"))}
    return {k: v for k, v in env.items() if not k.startswith("CANARY_")}


@pytest.mark.slow
def test_fast_demo_on_its_own_stack_rolls_back_automatically(tmp_path):
    port = free_port()
    done = subprocess.run(
        demo_command(tmp_path, port), cwd=REPO, env=child_env(), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["ok"] and summary["rolled_back_automatically"]
    assert (summary["rollback_verb"], summary["rollback_actor"]) == ("auto_rollback", "controller")
    assert summary["flips"] == 0
    assert summary["after_rollback"]["canary"] == 0 and summary["after_rollback"]["legacy"] > 0
    assert 0 < summary["fault_to_rollback_s"] < FAST_PLAN.rollback_timeout_s
    assert "error_rate" in summary["rollback_reason"]
    assert summary["breach"]["statistic"] >= summary["breach"]["threshold"]
    assert summary["breach"]["canary_requests"] >= 5
    assert (summary["final_state"], summary["final_percent"]) == ("rolled_back", 0)
    assert summary["sides"]["canary"] > 0 and summary["user_errors"] > 0
    assert "ROLLBACK by controller" in done.stdout and "ion-demo summary" in done.stdout
    assert port_is_free("127.0.0.1", port), "the demo's gateway is still listening"


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_and_its_stack(tmp_path):
    port = free_port()
    out_path = tmp_path / "out.txt"
    with out_path.open("w") as out:
        process = subprocess.Popen(
            demo_command(tmp_path, port), cwd=REPO, env=child_env(), stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until(lambda: "routes 5%" in out_path.read_text(), 30, "the rollout to start")
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 130
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "interrupted" in out_path.read_text()
    assert port_is_free("127.0.0.1", port), "the demo's gateway is still listening"


def test_board_shows_stages_flips_and_the_verdict_numbers():
    ledger = run_ledger(flip=True)
    board = Board("demo", ledger, started_at=0.0)
    board.say(3.0, "gateway routes 5% of buckets to the canary")
    verdict = {"verdict": "breach", "at": 20.0, "metrics": [BREACH]}
    board.status = {"state": "rolled_back", "percent": 0, "version": 6, "last_verdict": verdict}
    console = Console(record=True, width=100)
    console.print(render_board(board))
    text = console.export_text()
    assert "[   3.0s] gateway routes 5%" in text and "rolled_back at 0%" in text
    assert "error_rate         breach          E 2.5e+04/1.6e+04 11.3x [2, inf]" in text
    assert "while the stage grew: 2" in text  # no rollback time on the board yet
    assert "5%" in text and "50.0% 1/2" in text  # stage row: users on canary


@pytest.mark.slow
def test_a_stack_that_cannot_start_is_reported_with_the_childs_reason(monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", "short")  # the gateway refuses tokens < 8 chars
    port = free_port()
    assert demo.main(["--fast", "--stack", "own", "--gateway-port", str(port)]) == 1
    out = capsys.readouterr().out
    assert "did not start" in out and "GATEWAY_ADMIN_TOKEN" in out and "--run-dir" in out
    assert port_is_free("127.0.0.1", port)


GUARD = {
    **BREACH, "metric": "guard_error_rate", "kind": "guard", "canary_rate": 0.125,
    "line": 0.05, "shared": True,
}  # fmt: skip


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (BREACH, "breach          E 2.5e+04/1.6e+04 11.3x [2, inf], canary 10/80"),
        ({**BREACH, "verdict": "healthy", "ratio_high": 1.41}, "healthy         E 2.5e+04"),
        (GUARD, "guard_error_rate   breach          E 2.5e+04/1.6e+04 12.50% (line 5.00%) both"),
    ],
)
def test_metric_line_shows_evidence_level_and_effect(metric, expected):
    assert expected in metric_line(metric).plain


def test_summary_row_of_the_breach_shows_the_evidence():
    rows = dict(summary_rows(summary_of(run_ledger())))
    assert rows["breach"] == (
        "error_rate 11.3x [2, inf]: evidence E 2.5e+04 >= 1.6e+04, canary 10/80, "
        "baseline 1/90 (seen 80, needed 40)"
    )
