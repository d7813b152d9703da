"""The GitHub Actions workflows parse and contain the jobs and steps the docs promise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploy.settings import DeploySettings

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    """PyYAML reads the bare key `on` as True (YAML 1.1); accept either spelling."""
    return workflow.get("on") or workflow.get(True)


def runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uses(job: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def python_version(job: dict) -> str:
    step = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    return str(step["with"]["python-version"])


def test_test_workflow_runs_make_test_on_push_and_pr() -> None:
    workflow = load("test.yml")
    assert set(triggers(workflow)) == {"push", "pull_request"}
    job = workflow["jobs"]["test"]
    assert python_version(job) == "3.11"
    assert "make test" in runs(job)


def test_deploy_workflow_builds_pushes_applies_and_smoke_tests() -> None:
    workflow = load("deploy.yml")
    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert workflow["permissions"]["id-token"] == "write", "keyless auth needs an OIDC token"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert "make test" in runs(workflow["jobs"]["test"])
    assert uses(deploy)[:3] == [
        "actions/checkout",
        "google-github-actions/auth",
        "google-github-actions/setup-gcloud",
    ]
    script = runs(deploy)
    ordered = ["docker build", "docker push", "ion-deploy apply", "/healthz", "/readyz"]
    positions = [script.index(fragment) for fragment in ordered]
    assert positions == sorted(positions)
    for target in ("gateway", "legacy", "canary"):
        assert target in script
    assert "-f deploy/docker/Dockerfile --target" in script
    assert workflow["env"]["DEPLOY_IMAGE_TAG"] == "${{ github.sha }}"


def test_deploy_env_names_are_real_settings() -> None:
    for name in load("deploy.yml")["env"]:
        field = name.removeprefix("DEPLOY_").lower()
        assert field in DeploySettings.model_fields, name


def test_loadtest_workflow_is_scheduled_light_load_against_the_deployed_url() -> None:
    workflow = load("loadtest.yml")
    assert triggers(workflow)["schedule"][0]["cron"]
    assert "workflow_dispatch" in triggers(workflow)
    job = workflow["jobs"]["load-light"]
    assert "make load-light" in runs(job)
    step = next(s for s in job["steps"] if "make load-light" in s.get("run", ""))
    assert "vars.GATEWAY_URL" in step["env"]["LOCUST_HOST"]


@pytest.mark.parametrize("name", ["test.yml", "deploy.yml", "loadtest.yml"])
def test_every_job_has_a_timeout_and_pins_major_versions(name: str) -> None:
    for job in load(name)["jobs"].values():
        assert job["timeout-minutes"] <= 30
        assert all("@v" in step["uses"] for step in job["steps"] if "uses" in step)
