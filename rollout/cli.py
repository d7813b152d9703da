"""`ion-rollout`: the operators' command line, a thin client of the gateway's `/admin/rollout`.

`status [--watch]`, `start [--salt]`, `advance`, `pause`, `resume`, `rollback [--reason]`,
`history [--limit]` talk HTTP (httpx) to `--url` (env `ROLLOUT_ADMIN_URL`) with the bearer
token from `GATEWAY_ADMIN_TOKEN`. `controller` runs the rollout controller as its own process
against `ROLLOUT_STORE_URL` until SIGTERM/SIGINT (useful when gateways run with
`run_controller` off, or to keep judging while no gateway is up). `export` writes a rollout's
per-second series from the store (ROLLOUT_STORE_URL) as JSON lines and `replay` re-runs the
judge over such a file, optionally with other settings (`--set ROLLOUT_ALPHA=0.01`): see
rollout.replay. Exit codes: 0 ok, 1 the API refused (its JSON error is printed) or the
export/replay failed, 2 the gateway could not be reached or a setting is invalid.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from rich.console import Console

from common.logging import configure_logging, get_logger
from common.settings import Secret, ServiceSettings, SettingsError, load_settings
from rollout.render import render_history, render_status, short_status


class CliSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    admin_url: str = Field("http://127.0.0.1:8080", validation_alias="ROLLOUT_ADMIN_URL")
    admin_token: Secret[str | None] = Field(None, validation_alias="GATEWAY_ADMIN_TOKEN")


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def build_parser(default_url: str) -> argparse.ArgumentParser:
    """`--url` is accepted before or after the command (`ion-rollout status --url U` and
    `ion-rollout --url U status`), as ion-deploy's options and gcloud's are: both copies default
    to SUPPRESS so neither overwrites the other; `main` falls back to ROLLOUT_ADMIN_URL."""
    common = argparse.ArgumentParser(add_help=False)
    url_help = f"gateway base URL (ROLLOUT_ADMIN_URL; now {default_url})"
    common.add_argument("--url", default=argparse.SUPPRESS, help=url_help)
    parser = argparse.ArgumentParser(
        prog="ion-rollout", description=__doc__.split("\n")[0], parents=[common]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    status = command("status", "state, percent, soak and the last verdict")
    status.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    command("start", "start a rollout at the first stage").add_argument("--salt")
    command("advance", "move to the next stage now")
    command("pause", "hold the current percent; nothing automatic")
    command("resume", "resume a paused rollout")
    rollback = command("rollback", "emergency rollback to 0%% (no confirmation)")
    rollback.add_argument("--reason")
    command("history", "transitions, newest first").add_argument("--limit", type=int, default=20)
    command("controller", "run the controller process (ROLLOUT_* settings)")
    export = command("export", "write a rollout's per-second series (JSON lines)")
    export.add_argument("--rollout", type=int, help="rollout id (default: current or last)")
    export.add_argument("-o", "--output", required=True, help="file to write")
    replay = command("replay", "re-run the judge over an export")
    replay.add_argument("file")
    replay.add_argument("--set", action="append", default=[], metavar="ROLLOUT_X=VALUE",
                        help="override a setting for the replay (repeatable)")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        cli = load_settings(CliSettings)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    args = build_parser(cli.admin_url).parse_args(argv)
    if args.command == "controller":
        return run_controller()
    if args.command in ("export", "replay"):
        from rollout.replay_cli import run_export, run_replay

        return run_export(args) if args.command == "export" else run_replay(args)
    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        url = getattr(args, "url", cli.admin_url)
        with httpx.Client(base_url=url, timeout=10.0, headers=_auth(cli)) as client:
            return dispatch(args, client, console)
    except CliError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 0


def dispatch(args: argparse.Namespace, client: httpx.Client, console: Console) -> int:
    if args.command == "status":
        return show_status(client, console, args.watch, args.interval)
    if args.command == "history":
        data = call(client, "GET", "/admin/rollout/history", params={"limit": args.limit})
        console.print(render_history(data["history"]))
        return 0
    body: dict[str, Any] = {}
    if args.command == "start" and args.salt:
        body["salt"] = args.salt
    if args.command == "rollback":
        body = {"emergency": True, **({"reason": args.reason} if args.reason else {})}
    status = call(client, "POST", f"/admin/rollout/{args.command}", json=body)
    console.print(short_status(status))
    return 0


def show_status(client: httpx.Client, console: Console, watch: bool, interval: float) -> int:
    while True:
        status = call(client, "GET", "/admin/rollout")
        if watch:
            console.clear()
        console.print(render_status(status))
        if not watch:
            return 0
        time.sleep(interval)


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One request; HTTP and connection problems become CliError with a helpful message."""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.ConnectError:
        message = f"cannot reach the gateway at {client.base_url} (connection refused)"
        raise CliError(message, 2) from None
    except httpx.HTTPError as exc:
        raise CliError(f"request to {client.base_url} failed: {exc}", 2) from None
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    message = f"HTTP {response.status_code}: {response.text}"
    if response.status_code == 401:
        message += "\nhint: set GATEWAY_ADMIN_TOKEN to the gateway's admin token"
    if response.status_code == 404 and "admin_disabled" in response.text:
        message += "\nhint: the gateway has no GATEWAY_ADMIN_TOKEN, so its admin API is off"
    raise CliError(message, 1)


def _auth(cli: CliSettings) -> dict[str, str]:
    return {"authorization": f"Bearer {cli.admin_token}"} if cli.admin_token else {}


def run_controller() -> int:
    """`ion-rollout controller`: judge and act until SIGTERM/SIGINT."""
    from rollout.runner import controller_main

    try:
        return asyncio.run(controller_main(signal.SIGTERM, signal.SIGINT))
    except SettingsError as exc:
        configure_logging("INFO")
        get_logger("rollout.cli").error("rollout.settings_invalid", error=str(exc))
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
