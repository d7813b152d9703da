"""`ion-demo` / `make demo`: a narrated live rollout with an automatic rollback, in a terminal.

Simulated users chat through the gateway while the demo starts a rollout and advances it stage
by stage (5 -> 10 -> 25 -> 50 %), showing live which share of users and requests each side gets
and that no user ever flips back from the canary to legacy. Then it makes the canary fail half
its requests and lets the rollout controller notice and roll back by itself, and ends with a
summary. It attaches to a running stack (`make run`) when one answers at `--gateway-url`, or
starts its own on free ports with the demo rollout profile. Exit codes: 0 the demo showed what it
should, 1 it did not (or failed), 2 bad options, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from rich.console import Console
from rich.live import Live

from common.settings import Secret, ServiceSettings, SettingsError, load_settings
from loadtest.demo.admin import DemoError, RolloutAdmin
from loadtest.demo.ledger import Ledger, population
from loadtest.demo.plan import DemoPlan, plan_for
from loadtest.demo.render import Board, render_board, render_summary, stage_line, stage_table
from loadtest.demo.scenario import Scenario
from loadtest.demo.stack import choose_ports, own_stack
from loadtest.demo.summary import Summary
from loadtest.demo.traffic import Traffic

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080"
DEFAULT_CANARY_URL = "http://127.0.0.1:8082"


class DemoSettings(ServiceSettings):
    """The admin tokens of a running stack, read from the same variables the services use."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    gateway_admin_token: Secret[str | None] = Field(None, validation_alias="GATEWAY_ADMIN_TOKEN")
    canary_admin_token: Secret[str | None] = Field(None, validation_alias="CANARY_ADMIN_TOKEN")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ion-demo", description=__doc__.splitlines()[0])
    add = parser.add_argument
    add(
        "--gateway-url",
        metavar="URL",
        default=DEFAULT_GATEWAY_URL,
        help="running gateway (%(default)s)",
    )
    add(
        "--canary-url",
        metavar="URL",
        default=DEFAULT_CANARY_URL,
        help="running canary (%(default)s)",
    )
    add("--stack", choices=("auto", "attach", "own"), default="auto",
        help="attach to a running stack, start our own, or auto (attach if one runs)")  # fmt: skip
    add("--fast", action="store_true", help="tiny windows, few users, short holds (tests)")
    for name in ("gateway", "legacy", "canary"):
        add(
            f"--{name}-port",
            metavar="PORT",
            type=int,
            default=0,
            help=f"own stack: {name} port (0: free)",
        )
    add(
        "--run-dir",
        metavar="DIR",
        type=Path,
        help="own stack: keep logs and store here (default: temporary)",
    )
    add("--users", metavar="N", type=int, help="simulated users (200; fast 40)")
    add(
        "--rate",
        metavar="PER_S",
        dest="rate_per_s",
        type=float,
        help="requests per second (40; fast 60)",
    )
    add("--concurrency", metavar="N", type=int, help="requests in flight at most (8; fast 6)")
    add(
        "--stage-hold",
        metavar="S",
        dest="stage_hold_s",
        type=float,
        help="seconds per stage (10; fast 1)",
    )
    add("--error-rate", metavar="RATE", dest="fault_error_rate", type=float,
        help="canary error rate to inject (0.5)")  # fmt: skip
    add("--rollback-timeout", metavar="S", dest="rollback_timeout_s", type=float,
        help="seconds to wait for the controller (60; fast 15)")  # fmt: skip
    add("--no-live", action="store_true", help="plain narration lines instead of a live table")
    add(
        "--json",
        metavar="PATH",
        dest="json_path",
        type=Path,
        help="also write the summary as JSON here",
    )
    return parser


def make_plan(args: argparse.Namespace) -> DemoPlan:
    keys = ("users", "rate_per_s", "concurrency", "stage_hold_s", "fault_error_rate")
    overrides = {key: getattr(args, key) for key in (*keys, "rollback_timeout_s")}
    plan = plan_for(args.fast).with_overrides(**overrides)
    if plan.users < 1 or plan.rate_per_s <= 0 or plan.concurrency < 1:
        raise ValueError("--users, --rate and --concurrency must be positive")
    if not 0 < plan.fault_error_rate <= 1:
        raise ValueError("--error-rate must be within (0, 1]")
    return plan


class PlainNarrator:
    """One line per event and the stage table after each act: for logs, CI and pipes."""

    def __init__(self, console: Console, board: Board) -> None:
        self.console, self.board = console, board

    def say(self, text: str) -> None:
        self.console.print(self.board.say(time.time(), text), highlight=False, soft_wrap=True)

    def status(self, status: dict) -> None:
        self.board.status = status

    def act_done(self) -> None:
        tally = self.board.ledger.current
        if tally is not None:
            self.console.print("          " + stage_line(tally), highlight=False, soft_wrap=True)

    def rolled_back(self, at: float) -> None:
        self.board.rollback_at = at


class LiveNarrator(PlainNarrator):
    """The same, drawn in place by `rich.live.Live` (which redraws the board 4 times a second)."""

    def say(self, text: str) -> None:
        self.board.say(time.time(), text)

    def act_done(self) -> None:
        pass


def gateway_answers(url: str) -> bool:
    try:
        httpx.get(f"{url.rstrip('/')}/readyz", timeout=1.0)
    except httpx.HTTPError:
        return False
    return True


@contextlib.contextmanager
def target_stack(
    args: argparse.Namespace, settings: DemoSettings, environ: Mapping[str, str]
) -> Iterator[tuple[str, str, str | None, str | None]]:
    """(gateway URL, canary URL, gateway token, canary token): attached, or our own stack."""
    attach = args.stack == "attach" or (args.stack == "auto" and gateway_answers(args.gateway_url))
    if attach:
        yield args.gateway_url, args.canary_url, *_attach_tokens(settings)
        return
    ports = choose_ports(args.gateway_port, args.legacy_port, args.canary_port)
    with own_stack(environ, ports, fast=args.fast, run_dir=args.run_dir) as stack:
        yield stack.gateway_url, stack.canary_url, stack.tokens.gateway, stack.tokens.canary


def _attach_tokens(settings: DemoSettings) -> tuple[str, str]:
    missing = [
        var
        for var, value in (
            ("GATEWAY_ADMIN_TOKEN", settings.gateway_admin_token),
            ("CANARY_ADMIN_TOKEN", settings.canary_admin_token),
        )
        if not value
    ]
    if missing:
        raise DemoError(
            f"a gateway is running but {' and '.join(missing)} is not set; export the tokens "
            "ion-run printed, or run `ion-demo --stack own` for a stack of the demo's own"
        )
    return settings.gateway_admin_token or "", settings.canary_admin_token or ""


async def run_demo(
    urls: tuple[str, str, str | None, str | None], plan: DemoPlan, console: Console, live: bool
) -> Summary:
    gateway_url, canary_url, gateway_token, canary_token = urls
    ledger = Ledger(population(plan.users))
    board = Board(f"ion-canary rollout demo  {gateway_url}", ledger, time.time())
    narrator = (LiveNarrator if live else PlainNarrator)(console, board)
    limits = httpx.Limits(max_connections=plan.concurrency + 2)
    async with (
        httpx.AsyncClient(base_url=gateway_url, timeout=plan.request_timeout_s, limits=limits)
        as traffic_client,
        httpx.AsyncClient(timeout=plan.request_timeout_s) as admin_client,
    ):  # fmt: skip
        admin = RolloutAdmin(
            admin_client,
            gateway_url=gateway_url,
            canary_url=canary_url,
            gateway_token=gateway_token,
            canary_token=canary_token,
        )
        traffic = Traffic(
            traffic_client, ledger.users, ledger.record,
            rate_per_s=plan.rate_per_s, concurrency=plan.concurrency,
        )  # fmt: skip
        scenario = Scenario(admin, traffic, ledger, plan, narrator)
        with _live(console, board, live):
            summary = await _cancel_on_sigterm(scenario.run())
    if not live:
        console.print(stage_table(ledger))
    return summary


@contextlib.contextmanager
def _live(console: Console, board: Board, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    with Live(console=console, get_renderable=lambda: render_board(board), refresh_per_second=4):
        yield


async def _cancel_on_sigterm(work):
    """SIGTERM cancels the scenario like Ctrl-C does, so its cleanup still runs."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def report(console: Console, summary: Summary, json_path: Path | None) -> int:
    console.print(render_summary(summary))
    if json_path:
        json_path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0 if summary.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `ion-demo`. Reads the environment once, here, for the demo's own stack."""
    args = build_parser().parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        plan = make_plan(args)
        settings = load_settings(DemoSettings)
    except (ValueError, SettingsError) as exc:
        console.print(f"ion-demo: {exc}", style="red")
        return 2
    live = console.is_terminal and not args.no_live
    try:
        with target_stack(args, settings, dict(os.environ)) as urls:
            summary = asyncio.run(run_demo(urls, plan, console, live))
    except DemoError as exc:
        console.print(f"ion-demo: {exc}", style="red", highlight=False)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("ion-demo: interrupted (canary healed, unfinished rollout rolled back)")
        return 130
    return report(console, summary, args.json_path)


if __name__ == "__main__":
    sys.exit(main())
