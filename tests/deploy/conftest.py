"""Fixtures for deploy tests: no metadata server, no ambient credentials, a fake Cloud Run API.

Modules that touch Google libraries opt in with `pytestmark = pytest.mark.usefixtures(
"isolated_google_env")`; it is not autouse so other tests in this folder (`local/`) are unaffected.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials

from deploy.cloudrun import CloudRun, make_client
from deploy.settings import DeploySettings
from tests.deploy.fake_cloudrun import FakeCloudRun
from tests.support.servers import free_port, serve_app

PROJECT = "ion-test-project"


@pytest.fixture
def isolated_google_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing may reach a metadata server or pick up a developer's real gcloud login.

    google-auth also looks up a service account's regional access boundary at
    iamcredentials.googleapis.com in a background thread; an HTTPS proxy on a closed loopback
    port makes that fail at once instead of leaving the machine (NO_PROXY keeps loopback direct).
    """
    closed = f"127.0.0.1:{free_port()}"
    for proxy in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(proxy, f"http://{closed}")
    for no_proxy in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(no_proxy, "127.0.0.1,localhost")
    monkeypatch.setenv("GCE_METADATA_HOST", closed)
    monkeypatch.setenv("GCE_METADATA_IP", closed)
    monkeypatch.setenv("GCE_METADATA_DETECT_RETRIES", "1")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    for name in [n for n in os.environ if n.startswith("DEPLOY_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def fake() -> FakeCloudRun:
    return FakeCloudRun(PROJECT)


@pytest.fixture
def fake_url(fake: FakeCloudRun) -> Iterator[str]:
    with serve_app(fake.app) as url:
        yield url


@pytest.fixture
def settings(fake_url: str) -> DeploySettings:
    return DeploySettings(
        project=PROJECT, registry="us-central1-docker.pkg.dev/p/ion", api_endpoint=fake_url
    )


@pytest.fixture
def cloud(settings: DeploySettings) -> CloudRun:
    client = make_client(settings, AnonymousCredentials())
    return CloudRun(client, settings.location, timeout_seconds=10, poll_initial_seconds=0.01)


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def adc_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_url: str, private_key_pem: str
) -> Path:
    """A service-account key file found through GOOGLE_APPLICATION_CREDENTIALS: the real ADC path.

    Its `token_uri` is the fake's token endpoint, so whichever way google-auth authenticates
    (self-signed JWT or token exchange), nothing leaves the machine.
    """
    path = tmp_path / "adc.json"
    key = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "fake-key-id",
        "private_key": private_key_pem,
        "client_email": f"deployer@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": f"{fake_url}/token",
    }
    path.write_text(json.dumps(key))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path
