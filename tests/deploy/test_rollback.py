"""`rollback-canary` against a real starlette app on loopback playing the gateway admin API."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest

from deploy.cli import main
from deploy.cloudrun import DeployError
from deploy.rollback import rollback_gateway
from tests.deploy.admin_stub import AdminStub
from tests.support.servers import free_port, serve_app

pytestmark = pytest.mark.usefixtures("isolated_google_env")

TOKEN = "s3cret-admin-token"


@pytest.fixture
def stub() -> AdminStub:
    return AdminStub(TOKEN)


@pytest.fixture
def gateway_url(stub: AdminStub) -> Iterator[str]:
    with serve_app(stub.app) as url:
        yield url


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as http:
        yield http


def test_rollback_sets_the_gateway_to_zero(client, gateway_url, stub) -> None:
    status = rollback_gateway(client, gateway_url + "/", TOKEN, "p95 too high")
    assert status == {"state": "rolled_back", "percent": 0, "stage": None}
    assert stub.reasons == ["p95 too high"]


@pytest.mark.parametrize(("state", "percent"), [("idle", 0), ("rolled_back", 0)])
def test_nothing_to_roll_back_at_zero_is_success(client, gateway_url, stub, state, percent) -> None:
    stub.status = {"state": state, "percent": percent, "stage": None}
    assert rollback_gateway(client, gateway_url, TOKEN, "again")["percent"] == 0
    assert stub.reasons == []


def test_a_409_above_zero_is_an_error_naming_the_state(client, gateway_url, stub) -> None:
    stub.status = {"state": "weird", "percent": 10, "stage": 1}
    with pytest.raises(
        DeployError, match=r"refused by the gateway \(409\): cannot rollback in state weird"
    ):
        rollback_gateway(client, gateway_url, TOKEN, "x")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("wrong", "rejected DEPLOY_GATEWAY_ADMIN_TOKEN"),
        ("", "DEPLOY_GATEWAY_ADMIN_TOKEN is not set"),
    ],
)
def test_token_problems_are_clear(client, gateway_url, stub, token, message) -> None:
    with pytest.raises(DeployError, match=message):
        rollback_gateway(client, gateway_url, token, "x")
    assert stub.status["percent"] == 25


def test_an_unreachable_gateway_is_clear(client) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DeployError, match=f"could not reach the gateway admin API at {url}"):
        rollback_gateway(client, url, TOKEN, "x")


def cli_env(monkeypatch: pytest.MonkeyPatch, gateway_url: str) -> None:
    monkeypatch.setenv("DEPLOY_GATEWAY_URL", gateway_url)
    monkeypatch.setenv("DEPLOY_GATEWAY_ADMIN_TOKEN", TOKEN)


def test_cli_asks_before_rolling_back(monkeypatch, capsys, gateway_url, stub) -> None:
    cli_env(monkeypatch, gateway_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    assert main(["rollback-canary"]) == 1
    assert "Aborted: nothing changed." in capsys.readouterr().out
    assert stub.status["percent"] == 25


def test_cli_rolls_back_after_typed_yes(monkeypatch, capsys, gateway_url, stub) -> None:
    cli_env(monkeypatch, gateway_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert main(["rollback-canary", "--reason", "error rate"]) == 0
    out = capsys.readouterr().out
    assert "Gateway rollout: state=rolled_back percent=0" in out
    assert "All traffic is now routed to LEGACY (100%)." in out
    assert stub.reasons == ["error rate"]


def test_cli_rollback_then_delete_the_canary_service(
    monkeypatch, capsys, gateway_url, stub, settings, cloud, fake, adc_file
) -> None:
    """The original's default: route everything to legacy, then delete ion-api-canary."""
    from deploy.spec import desired_specs

    for spec in desired_specs(settings):
        cloud.create(spec)
    cli_env(monkeypatch, gateway_url)
    args = ["--project", settings.project, "--api-endpoint", settings.api_endpoint]
    assert main([*args, "rollback-canary", "--yes", "--delete-canary"]) == 0
    assert stub.status["percent"] == 0
    assert cloud.get("ion-api-canary") is None
    assert cloud.get("ion-api") is not None
    assert "Deleted Cloud Run service ion-api-canary." in capsys.readouterr().out


def test_cli_finds_the_gateway_url_from_cloud_run(
    monkeypatch, capsys, settings, fake, adc_file
) -> None:
    monkeypatch.setenv("DEPLOY_GATEWAY_ADMIN_TOKEN", TOKEN)
    args = ["--project", settings.project, "--api-endpoint", settings.api_endpoint]
    assert main([*args, "rollback-canary", "--yes"]) == 1
    assert "service ion-gateway not found; set DEPLOY_GATEWAY_URL." in capsys.readouterr().err
