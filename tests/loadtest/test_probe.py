"""`ion-probe` against the real legacy, canary and gateway apps on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest import probe
from loadtest.probe import CANARY_PIN_USER, LEGACY_PIN_USER, Attempt, SideReport
from tests.loadtest.conftest import service_apps
from tests.support.servers import serve_app


@pytest.fixture
def tight_services() -> Iterator[tuple[str, str]]:
    """Services with the faithful per-IP limit shape, only smaller, so the probe sees 429s."""
    legacy, canary = service_apps("5/minute")
    with serve_app(legacy) as legacy_url, serve_app(canary) as canary_url:
        yield legacy_url, canary_url


def bucket(user_id: str) -> int:
    return int(hashlib.md5(user_id.encode("utf-8")).hexdigest()[:8], 16) % 100


def test_pinned_users_sit_at_the_ends_of_the_bucket_range() -> None:
    assert (bucket(LEGACY_PIN_USER), bucket(CANARY_PIN_USER)) == (99, 0)


def test_direct_probe_counts_rate_limited_requests_as_failed(
    tight_services: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy_url, canary_url = tight_services
    out = tmp_path / "probe.json"
    argv = ["-n", "8", "--delay-ms", "0", "--sides", "legacy,canary", "--out", str(out)]
    argv += ["--legacy-url", legacy_url, "--canary-url", canary_url]
    assert probe.main(argv) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    printed = capsys.readouterr().out  # the in-process servers log to stdout too
    assert json.dumps(report, ensure_ascii=False, indent=2) in printed
    for side in ("legacy", "canary"):
        numbers = {k: report[side][k] for k in ("requests", "success", "failed", "success_rate")}
        assert numbers == {"requests": 8, "success": 5, "failed": 3, "success_rate": 62.5}
        assert report[side]["statuses"] == {"200": 5, "429": 3}
        assert report[side]["avg_response_ms"] > 0
    assert set(report) == {"timestamp", "legacy", "canary"}


def test_gateway_probe_pins_each_side_and_reports_the_target(stack: str) -> None:
    argv = ["-n", "4", "--delay-ms", "0", "--method", "POST", "--gateway-url", stack]
    args = probe.parse_args([*argv, "--sides", "gateway_legacy,gateway_canary"])
    report = probe.run_probe(args)
    assert report["gateway_legacy"]["targets"] == {"legacy": 4}
    assert report["gateway_canary"]["targets"] == {"canary": 4}
    for side in ("gateway_legacy", "gateway_canary"):
        assert (report[side]["success"], report[side]["success_rate"]) == (4, 100.0)


def test_unreachable_side_is_all_failed() -> None:
    args = probe.parse_args(
        ["-n", "2", "--delay-ms", "0", "--sides", "legacy", "--legacy-url", "http://127.0.0.1:9"]
    )
    side = probe.run_probe(args)["legacy"]
    assert (side["requests"], side["failed"], side["success_rate"]) == (2, 2, 0.0)
    assert side["statuses"] == {"error": 2}


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        ([], {"requests": 0, "success": 0, "failed": 0, "success_rate": 100.0}),  # original rule
        ([Attempt(200, 10), Attempt(503, 30)], {"success": 1, "failed": 1, "success_rate": 50.0}),
        ([Attempt(204, 1), Attempt(302, 3)], {"success": 1, "avg_response_ms": 2.0}),
        ([Attempt(None, 5, error="ConnectError")], {"failed": 1, "statuses": {"error": 1}}),
    ],
)
def test_side_report(attempts: list[Attempt], expected: dict) -> None:
    report = SideReport(attempts).as_dict()
    assert {key: report[key] for key in expected} == expected


def test_delay_goes_between_requests_only(stack: str) -> None:
    pauses: list[float] = []
    target = probe.ProbeTarget(stack + "/healthz")
    with probe.httpx.Client(timeout=5) as client:
        report = probe.probe_side(client, target, 3, 0.25, pause=pauses.append)
    assert pauses == [0.25, 0.25]
    assert len(report.attempts) == 3


@pytest.mark.parametrize("argv", [["--sides", "nope"], ["-n", "-1"], ["--method", "PUT"]])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        probe.parse_args(argv)
    assert exc.value.code == 2
