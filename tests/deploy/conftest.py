"""Fixtures for deploy tests: no metadata server, no ambient credentials, a fake Cloud Run API."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials

from deploy.cloudrun import CloudRun, make_client
from deploy.settings import DeploySettings
from tests.deploy.fake_cloudrun import FakeCloudRun
from tests.support.servers import free_port, serve_app

PROJECT = "ion-test-project"


@pytest.fixture(autouse=True)
def isolated_google_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing may reach a metadata server or pick up a developer's real gcloud login."""
    closed = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("GCE_METADATA_HOST", closed)
    monkeypatch.setenv("GCE_METADATA_IP", closed)
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


@pytest.fixture
def adc_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_url: str) -> Path:
    """An `authorized_user` ADC file whose token endpoint is the fake: the real ADC path."""
    path = tmp_path / "adc.json"
    creds = {
        "type": "authorized_user",
        "client_id": "fake-client",
        "client_secret": "fake-secret",
        "refresh_token": "fake-refresh",
        "token_uri": f"{fake_url}/token",
    }
    path.write_text(json.dumps(creds))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path
