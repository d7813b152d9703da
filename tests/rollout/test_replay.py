"""rollout/replay.py and `ion-rollout export` / `replay`: a recorded rollback is found again."""

from __future__ import annotations

import json

import pytest

from gateway.aggregate import TargetSecond
from rollout.cli import main
from rollout.judge.judge import JudgeConfig
from rollout.machine import Start
from rollout.replay import Export, ReplayError, read_export, replay, stages_of
from tests.rollout.test_controller import T0, Rig


async def recorded_rollback(rig: Rig) -> int:
    """Healthy for a minute, then the canary fails: the controller rolls back by itself."""
    await rig.service.apply(Start())
    for second in range(600):
        rig.clock.now += 1
        rig.observe(1, per_second=20, errors=0 if second < 60 else 4)
        verdict = await rig.controller.tick()
        if verdict is None or verdict.verdict == "breach":
            break
    assert rig.store.read().state.status == "rolled_back"
    return rig.store.history(1)[0].details["verdict"]["second"]


@pytest.mark.anyio
async def test_replaying_an_export_finds_the_rollback_at_the_same_second(
    tmp_path, monkeypatch, capsys
):
    rig = Rig(tmp_path)
    breach_second = await recorded_rollback(rig)
    monkeypatch.setenv("ROLLOUT_STORE_URL", f"sqlite:///{tmp_path}/r.db")
    monkeypatch.setenv("ROLLOUT_PROFILE", "demo")
    out = tmp_path / "rollout.jsonl"
    assert main(["export", "-o", str(out)]) == 0
    assert "seconds to" in capsys.readouterr().out
    header = json.loads(out.read_text().splitlines()[0])
    verbs = [t["verb"] for t in header["transitions"]]
    assert (verbs[0], verbs[-1]) == ("start", "auto_rollback")

    assert main(["replay", str(out)]) == 0
    first = capsys.readouterr().out
    assert main(["replay", str(out)]) == 0
    assert capsys.readouterr().out == first  # byte for byte
    last = first.strip().splitlines()[-1]
    assert last == f"decision=breach at_s={breach_second + 1 - int(T0)}"
    assert "verdict=breach" in first and "error_rate" in first

    assert main(["replay", str(out), "--set", "ROLLOUT_ALPHA=0.2"]) == 0  # try a looser budget
    looser = capsys.readouterr().out.strip().splitlines()[-1]
    assert looser.startswith("decision=breach")
    assert int(looser.split("at_s=")[1]) < int(last.split("at_s=")[1])


@pytest.mark.anyio
async def test_late_rows_are_exported_with_their_fold_second_and_replayed_there(
    tmp_path, monkeypatch, capsys
):
    """A process's rows arrive late and carry the breach: the export says where they were
    folded in, and the replay folds them there and finds the rollback at the same second."""
    rig = Rig(tmp_path)
    await rig.service.apply(Start())
    kept: list[TargetSecond] = []
    for _ in range(30):
        rig.clock.now += 1
        rig.observe(1, per_second=10, errors=0)
        second = int(rig.clock.now) - 1
        kept.append(TargetSecond(second, "canary", 10, 5, 5, started=10))
        assert (await rig.controller.tick()).verdict != "breach"
    rig.store.append_aggregates(kept)
    rig.clock.now += 1
    rig.observe(1, per_second=10, errors=0)
    assert (await rig.controller.tick()).verdict == "breach"
    breach_second = rig.store.history(1)[0].details["verdict"]["second"]
    monkeypatch.setenv("ROLLOUT_STORE_URL", f"sqlite:///{tmp_path}/r.db")
    monkeypatch.setenv("ROLLOUT_PROFILE", "demo")
    out = tmp_path / "rollout.jsonl"
    assert main(["export", "-o", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    late = [line for line in lines if line["kind"] == "late"]
    assert len(late) == 30 and {line["fold_second"] for line in late} == {breach_second}
    capsys.readouterr()
    assert main(["replay", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"decision=breach at_s={breach_second + 1 - int(T0)}"


def test_replay_without_a_breach_ends_with_the_last_decision(tmp_path):
    header = {"kind": "rollout", "id": 1, "started_at": 100.0, "ended_at": None,
              "stages": [5, 100], "transitions": [{"at": 100.0, "verb": "start",
              "to_state": "progressing", "to_percent": 5}]}  # fmt: skip
    lines = list(replay(Export(header, {}, {}), JudgeConfig()))
    assert lines[-1] == "decision=not_enough_data at_s=-"
    assert stages_of(header)[0].index == 0


def test_bad_input_is_refused_with_the_line_number(tmp_path, capsys):
    with pytest.raises(ReplayError, match="line 2"):
        read_export(['{"kind": "rollout"}', "not json"])
    bad = tmp_path / "x.jsonl"
    bad.write_text("{}\n")
    assert main(["replay", str(bad)]) == 1
    assert "replay failed" in capsys.readouterr().err
    assert main(["replay", str(bad), "--set", "ROLLOUT_NOPE=1"]) == 2
    assert "unknown setting ROLLOUT_NOPE" in capsys.readouterr().err
