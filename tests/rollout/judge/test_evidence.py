"""rollout/judge/evidence.py: verdicts are data: they round-trip with their enums, say why."""

from __future__ import annotations

import json

from rollout.judge.evidence import CheckEvidence, CheckKind, Verdict, VerdictKind, failed_read


def guard(shared: bool) -> CheckEvidence:
    return CheckEvidence(
        "guard_error_rate", CheckKind.GUARD, VerdictKind.BREACH, 9e5, 1e5, 50, 100, 40, 400,
        100, None, canary_rate=0.5, baseline_rate=0.1, line=0.05, shared=shared,
    )  # fmt: skip


def test_a_verdict_round_trips_through_json_with_its_kinds():
    verdict = Verdict(VerdictKind.BREACH, (guard(True),), 12.0, None, True, 11)
    stored = json.loads(json.dumps(verdict.to_dict()))  # what the store and the webhook carry
    assert stored["verdict"] == "breach" and stored["metrics"][0]["kind"] == "guard"
    back = Verdict.from_dict(stored)
    assert back == verdict
    assert back.verdict is VerdictKind.BREACH and back.metrics[0].kind is CheckKind.GUARD


def test_a_shared_breach_says_it_is_not_the_canarys_fault():
    reason = Verdict(VerdictKind.BREACH, (guard(True),), shared=True).reason()
    assert reason.startswith("breach (not the canary's fault): guard_error_rate canary and")
    assert "over 5.00%" in reason
    assert "canary and baseline" not in Verdict(VerdictKind.BREACH, (guard(False),)).reason()


def test_a_failed_read_is_an_error_never_healthy():
    verdict = failed_read("store unreadable: locked", 3.0)
    assert verdict.verdict is VerdictKind.ERROR and verdict.reason() == "store unreadable: locked"
