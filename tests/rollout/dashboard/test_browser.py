"""The dashboard in a real browser: Debian's chromium driven by Playwright, against the real
stack (`ion-run`: legacy, canary and gateway as child processes, demo rollout profile).

A viewer signs in and sees no actions; an operator starts and advances a rollout from the page
(by keyboard, then by mouse) and both pages show the new percent within 2 s; a stale page's
action gets the 409 shown plainly; a canary fault (100 % errors) is rolled back by the
controller and the page shows the rollback with its reason. Every step leaves a screenshot in
the test's tmp_path. Any console error (CSP violations included) fails the test, except the
one "Failed to load resource ... 409" that the stale-page step provokes on purpose.

`ION_DASHBOARD_SCREENSHOTS=docs/images` also copies the mid-rollout screenshot there as
`dashboard.png` and the rolled-back one as `dashboard-rollback.png` (that is how the docs'
pictures are made). The browser is never downloaded: without
/usr/bin/chromium the test is skipped, or fails under CI (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, wait_until

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[3]
OPERATOR = "operator-browser-token-1"
VIEWER = "viewer-browser-token-2"
CANARY_ADMIN = "canary-browser-token-3"
CANARY_USERS = ("user_19", "user_33", "user_54")  # buckets 0, 1, 4: on the canary from 5 %
OTHER_USERS = tuple(f"browser-user-{i}" for i in range(40))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE_SECONDS = 2.0  # a change must show on every open page within this

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} missing: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip(
        f"{CHROMIUM} missing: apt-get install -y --no-install-recommends chromium",
        allow_module_level=True,
    )

from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright  # noqa: E402


@dataclass
class Stack:
    gateway: str
    canary: str
    dashboard: str
    banner: str


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """`ion-run` exactly as `make run` starts it, on free ports, with both roles' tokens."""
    ports = {name: free_port() for name in ("gateway", "legacy", "canary")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "ROLLOUT_"))}
    env |= {
        "GATEWAY_ADMIN_TOKEN": OPERATOR,
        "GATEWAY_VIEWER_TOKEN": VIEWER,
        "CANARY_ADMIN_TOKEN": CANARY_ADMIN,
        "ROLLOUT_PROFILE": "demo",
        "ROLLOUT_SOAK_SECONDS": "5,5,5,5",  # the mid-rollout screenshot waits out one soak
        "GATEWAY_ACCESS_LOG": "false",
    }
    out = tmp_path / "ion-run.out"
    argv = [sys.executable, "-m", "deploy.local.run", "--dir", str(tmp_path / "run")]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    with out.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "stack is up" in out.read_text() or process.poll() is not None, 60,
                   "ion-run to announce the stack", interval=0.1)  # fmt: skip
        banner = out.read_text()
        assert process.poll() is None, banner
        found = re.search(r"dashboard (http://\S+/admin/ui)", banner)
        assert found, banner
        yield Stack(
            f"http://127.0.0.1:{ports['gateway']}",
            f"http://127.0.0.1:{ports['canary']}",
            found.group(1),
            banner,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


class Traffic:
    """Chat requests through the gateway from a thread, canary and legacy users alike, until
    stopped; bounded in count and time (2 minutes) whatever happens to the test."""

    def __init__(self, url: str, max_requests: int = 30_000, max_seconds: float = 120) -> None:
        self.url, self.max_requests, self.max_seconds = url, max_requests, max_seconds
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        users = [*CANARY_USERS, *OTHER_USERS]
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                for user in users:
                    if self.sent >= self.max_requests:
                        return
                    client.post("/chat", json={"message": "hello there", "user_id": user})
                    self.sent += 1
                self._stop.wait(0.02)  # pacing: leave the two cores some room for the browser


@dataclass
class Watched:
    """A page with every console error and uncaught exception it produced."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.taken: list[Path] = []

    def take(self, watched: Watched, name: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        watched.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def open_page(playwright, profile: Path, width: int = 1280, height: int = 800) -> Watched:
    context = playwright.chromium.launch_persistent_context(
        str(profile),  # a fresh user-data-dir per role: separate cookie jars
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": width, "height": height},
    )
    page = context.pages[0] if context.pages else context.new_page()
    watched = Watched(page)
    page.on("console", watched.console)
    page.on("pageerror", lambda exc: watched.errors.append(f"pageerror: {exc}"))
    return watched


def sign_in(watched: Watched, url: str, token: str, role: str) -> None:
    page = watched.page
    page.goto(url)
    expect(page.locator("#signin-form")).to_be_visible()
    assert page.locator("#history-table").count() == 0  # the sign-in page is only the form
    page.fill("#token", token)
    page.keyboard.press("Enter")
    expect(page.locator("#role")).to_have_text(role)
    expect(page.locator("#state")).to_have_attribute("data-state", re.compile(r"\w+"))


def percent_is(watched: Watched, percent: int) -> None:
    expect(watched.page.locator("#percent")).to_have_text(str(percent), timeout=LIVE_SECONDS * 1000)


def confirm(page: Page, button: str, effect: str) -> None:
    page.click(f"#action-{button}")
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-effect")).to_contain_text(effect)
    page.click("#confirm-ok")


def tab_to(page: Page, element_id: str, presses: int = 40) -> None:
    """Reach `element_id` with the Tab key alone: actions are keyboard reachable."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} not reachable with Tab")


def test_viewer_and_operator_watch_a_rollout_and_its_automatic_rollback(stack, tmp_path):
    """The whole story in a real browser; a failure also shows the rollout's history, so an
    unexpected automatic step (a rollback before the fault) explains itself."""
    try:
        watch_a_rollout(stack, tmp_path)
    except AssertionError as failure:
        history = httpx.get(
            f"{stack.gateway}/admin/rollout/history",
            headers={"authorization": f"Bearer {OPERATOR}"},
        )
        raise AssertionError(f"{failure}\nrollout history: {history.text[:6000]}") from failure


def watch_a_rollout(stack: Stack, tmp_path: Path) -> None:
    started = time.monotonic()
    shots = Shots(tmp_path / "screenshots")
    with sync_playwright() as playwright:
        viewer = open_page(playwright, tmp_path / "viewer-profile")
        operator = open_page(playwright, tmp_path / "operator-profile")

        # the viewer: signed in, reads everything, has no action to press
        viewer.page.goto(stack.dashboard)
        expect(viewer.page.locator("#signin-form")).to_be_visible()
        shots.take(viewer, "sign-in")
        sign_in(viewer, stack.dashboard, VIEWER, "viewer")
        expect(viewer.page.locator("#actions")).to_be_hidden()
        assert viewer.page.locator("#action-buttons button").count() == 0
        assert viewer.page.locator("button[data-verb]").count() == 0
        shots.take(viewer, "viewer-idle")

        # the operator: start by keyboard alone, and the percent moves on both pages
        sign_in(operator, stack.dashboard, OPERATOR, "operator")
        expect(operator.page.locator("#action-buttons button")).to_have_count(5)
        tab_to(operator.page, "action-start")
        operator.page.keyboard.press("Enter")
        expect(operator.page.locator("#confirm-effect")).to_have_text(
            "Start a rollout: send 5 % of users to the canary (stage 1 of 5)."
        )
        shots.take(operator, "confirm-start")
        operator.page.keyboard.press("Enter")  # in the salt field: submits the confirmation
        percent_is(operator, 5)
        percent_is(viewer, 5)
        expect(operator.page.locator("#state")).to_have_attribute("data-state", "progressing")

        with Traffic(stack.gateway) as traffic:
            rps = operator.page.locator("[data-chart=rps] figcaption")
            expect(rps).to_contain_text("canary", timeout=15_000)
            confirm(operator.page, "advance", "send 10 % of users to the canary (stage 2 of 5)")
            percent_is(operator, 10)
            percent_is(viewer, 10)
            expect(operator.page.locator("#notice")).to_contain_text("Now progressing at 10 %")
            expect(operator.page.locator("svg.chart line.mark")).to_have_count(6)  # 2 x 3 charts
            expect(operator.page.locator("#checks .check")).not_to_have_count(0, timeout=10_000)
            soak = operator.page.locator("[data-fact='Soak left']")
            expect(soak).to_have_text("0 s", timeout=10_000)  # the stage soaked: 5 s of charts
            during = shots.take(operator, "operator-at-10-percent")
            shots.take(viewer, "viewer-at-10-percent")

            # a stale page: the rollout changes while the operator reads the confirmation
            operator.page.click("#action-advance")
            expect(operator.page.locator("#confirm-effect")).to_contain_text("send 25 %")
            paused = httpx.post(
                f"{stack.gateway}/admin/rollout/pause",
                headers={"authorization": f"Bearer {OPERATOR}"},
                json={"reason": "someone else paused"},
            )
            assert paused.status_code == 200
            operator.page.click("#confirm-ok")
            notice = operator.page.locator("#notice")
            expect(notice).to_contain_text("Advance: not applied.")
            expect(notice).to_contain_text("The rollout changed since you looked")
            expect(notice).to_contain_text("Nothing was changed")
            expect(operator.page.locator("#state")).to_have_attribute("data-state", "paused")
            percent_is(operator, 10)
            shots.take(operator, "stale-page-conflict")
            confirm(operator.page, "resume", "Resume at 10 %")
            expect(operator.page.locator("#state")).to_have_attribute("data-state", "progressing")

            # a broken canary: the controller rolls back by itself; both pages show why
            faults = httpx.post(
                f"{stack.canary}/admin/faults",
                headers={"authorization": f"Bearer {CANARY_ADMIN}"},
                json={"error_rate": 1.0},
            )
            assert faults.status_code == 200
            fault_at = time.monotonic()
            for watched in (viewer, operator):
                state = watched.page.locator("#state")
                expect(state).to_have_attribute("data-state", "rolled_back", timeout=60_000)
                percent_is(watched, 0)
                banner = watched.page.locator("#reason-banner")
                expect(banner).to_contain_text("Rolled back")
                expect(banner).to_contain_text("breach")
                last = watched.page.locator("#history-table tbody tr").first
                expect(last).to_have_attribute("data-verb", "auto_rollback")
                expect(last.locator("td.reason")).to_contain_text("breach")
                expect(watched.page.locator("svg.chart line.mark-rollback")).to_have_count(
                    3, timeout=5_000
                )
            rollback_seconds = time.monotonic() - fault_at
            expect(operator.page.locator("#notice")).to_be_hidden()  # no stale "done" left
            after = shots.take(operator, "rolled-back")
            sent = traffic.sent

        # a phone: everything readable at 375 px, nothing wider than the screen
        viewer.page.set_viewport_size({"width": 375, "height": 800})
        expect(viewer.page.locator("#state")).to_contain_text("rolled back")
        width = viewer.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page is {width} px wide on a 375 px screen"
        shots.take(viewer, "viewer-phone")

        expected = [e for e in operator.errors if "status of 409" in e]
        assert len(expected) <= 1  # the stale-page step's refused POST, logged by chromium
        unexpected = [e for e in operator.errors if e not in expected] + viewer.errors
        assert unexpected == [], "\n".join(unexpected)
        for watched in (viewer, operator):
            watched.page.context.close()

    copy_to = os.environ.get("ION_DASHBOARD_SCREENSHOTS")
    if copy_to:
        shutil.copyfile(during, REPO / copy_to / "dashboard.png")
        shutil.copyfile(after, REPO / copy_to / "dashboard-rollback.png")
    print(f"\nscreenshots: {shots.folder} ({len(shots.taken)} files)")
    print(f"{sent} requests sent; fault -> rollback on both pages: {rollback_seconds:.1f} s")
    print(f"browser test: {time.monotonic() - started:.1f} s")
