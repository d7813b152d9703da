"""The container images, checked without a Docker engine.

What can be checked here is checked for real: the Dockerfile's shape (multi-stage, slim, non-root,
no build tools in the final stages), the wheel built from the `.dockerignore`d context, installed
into a fresh venv, and each image's own start command and HEALTHCHECK (parsed from the
Dockerfile) run with `PORT` set, answering on loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.dockerfile import Stage, copy_context, ignored, parse
from tests.support.servers import free_port, wait_http_ok

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
TARGETS = {
    "gateway": ("GATEWAY", "/healthz"),
    "legacy": ("LEGACY", "/health"),
    "canary": ("CANARY", "/health"),
}
BUILD_TOOLS = ("gcc", "build-essential", "apt-get", "apk add", "make ")


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    return parse(DOCKERFILE)


def test_multi_stage_with_one_target_per_service(stages) -> None:
    assert list(stages) == ["builder", "runtime", "gateway", "legacy", "canary"]
    assert stages["builder"].base == stages["runtime"].base == "python:3.11-slim"
    assert any("pip wheel" in run for run in stages["builder"].all("RUN"))
    assert all(stages[t].base == "runtime" for t in TARGETS)


def test_final_stages_are_slim_non_root_and_install_only_wheels(stages) -> None:
    runtime = stages["runtime"]
    assert runtime.all("USER") == ["10001"]
    assert any("--no-index --find-links=/wheels" in run for run in runtime.all("RUN"))
    assert runtime.all("COPY") == ["--from=builder /wheels /wheels"], "no sources in the image"
    for name in ("runtime", *TARGETS):
        runs = " ".join(stages[name].all("RUN"))
        assert not [tool for tool in BUILD_TOOLS if tool in runs], name


@pytest.mark.parametrize("target", TARGETS)
def test_each_target_honours_port_and_has_a_healthcheck(stages, target) -> None:
    prefix, path = TARGETS[target]
    command = " ".join(stages[target].exec_form("CMD"))
    assert f'{prefix}_PORT="${{PORT:-8080}}"' in command
    assert f'{prefix}_HOST="${{{prefix}_HOST:-0.0.0.0}}"' in command
    assert command.endswith(f" ion-{target}"), "the console script the wheel installs"
    assert path in " ".join(stages[target].exec_form("HEALTHCHECK"))


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        (".venv", True),
        (".git", True),
        ("tests", True),
        ("gateway/__pycache__", True),
        ("ion-rollout.db", True),
        ("gateway/app.py", False),
        ("pyproject.toml", False),
        ("README.md", False),
        ("deploy/monitoring", False),
    ],
)
def test_dockerignore_keeps_the_context_small(path, excluded) -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]
    assert ignored(patterns, path) is excluded


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], check=True, capture_output=True, text=True, **kwargs
    )


@pytest.fixture(scope="session")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only our wheel installed, as the final stage has it.

    The wheel is built from the `.dockerignore`d context. Third-party dependencies are borrowed
    from the project venv through a `.pth` path entry (no network needed); our own packages
    come from the wheel, which the test below asserts.
    """
    base = tmp_path_factory.mktemp("image")
    context = copy_context(ROOT, base / "context")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", context)
    venv = base / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    wheel = next((base / "dist").glob("ion_canary-*.whl"))
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel)
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout
    (Path(site.strip()) / "project-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


@pytest.fixture
def image_env(image_venv: Path, tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"LANG", "LC_ALL", "TMPDIR"}}
    return {**keep, "PATH": f"{image_venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}


@pytest.mark.slow
def test_the_wheel_carries_our_packages_and_data(image_venv: Path, tmp_path: Path) -> None:
    code = (
        "import importlib.util as u\n"
        "for p in ('gateway', 'deploy', 'legacy_service', 'canary_service', 'rollout', 'common'):\n"
        "    print(u.find_spec(p).submodule_search_locations[0])"
    )
    places = run(image_venv / "bin" / "python", "-c", code, cwd=tmp_path).stdout.split()
    assert len(places) == 6
    assert all(p.startswith(str(image_venv)) for p in places), "imported from the wheel"
    for script in ("ion-gateway", "ion-legacy", "ion-canary", "ion-deploy"):
        assert (image_venv / "bin" / script).exists(), script


@pytest.fixture
def started(request) -> Iterator[list[subprocess.Popen]]:
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_start_command_and_healthcheck_work(stages, image_env, tmp_path, started, target) -> None:
    prefix, path = TARGETS[target]
    port = free_port()
    # Loopback only in tests; the image itself binds 0.0.0.0 (asserted above).
    env = {**image_env, "PORT": str(port), f"{prefix}_HOST": "127.0.0.1"}
    with (tmp_path / f"{target}.log").open("w") as log:  # the child keeps its own descriptor
        started.append(
            subprocess.Popen(
                stages[target].exec_form("CMD"), env=env, cwd=tmp_path, stdout=log, stderr=log
            )
        )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}{path}", timeout=30)
    except AssertionError:
        pytest.fail(f"{target} did not answer {path}:\n{(tmp_path / f'{target}.log').read_text()}")
    assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
    check = subprocess.run(
        stages[target].exec_form("HEALTHCHECK"), env=env, cwd=tmp_path, timeout=10
    )
    assert check.returncode == 0, "the image's HEALTHCHECK fails against a healthy server"
