"""`ion-deploy`: plan, apply, status and rollback-canary for the three Cloud Run services.

Exit codes: 0 done, 1 the operation failed or was declined, 2 bad configuration or no
credentials (the message says which variable or how to log in).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import httpx

from common.logging import configure_logging, get_logger
from common.settings import SettingsError
from deploy import actions
from deploy.cloudrun import CloudRun, CredentialsError, DeployError, make_client
from deploy.plan import render
from deploy.rollback import rollback_gateway
from deploy.settings import DeploySettings, load_deploy_settings
from deploy.spec import missing_inputs

FLAG_FIELDS = ("project", "region", "image_tag", "registry", "api_endpoint", "gateway_url")
LOG_LEVEL = "WARNING"


def global_options() -> argparse.ArgumentParser:
    """The options every command takes, accepted before or after it (`ion-deploy status
    --project p` and `ion-deploy --project p status`), as gcloud does.

    Their defaults are SUPPRESS so that the subcommand's copy, when not given, does not overwrite
    a value given before the subcommand; readers use `getattr(args, name, default)`.
    """
    options = argparse.ArgumentParser(add_help=False)
    for field in FLAG_FIELDS:
        flag = "--" + field.replace("_", "-")
        options.add_argument(
            flag, dest=field, default=argparse.SUPPRESS, help=f"overrides DEPLOY_{field.upper()}"
        )
    options.add_argument(
        "--log-level", default=argparse.SUPPRESS, help=f"structlog level, stderr ({LOG_LEVEL})"
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    common = global_options()
    parser = argparse.ArgumentParser(
        prog="ion-deploy", description=__doc__.splitlines()[0], parents=[common]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    command("plan", "show what apply would change; touches nothing")
    command("apply", "create or update ion-api, ion-api-canary, then ion-gateway")
    command("status", "services, latest revisions, ready conditions, URLs")
    rollback = command("rollback-canary", "gateway canary percent to 0")
    rollback.add_argument("--reason", default="manual rollback via ion-deploy")
    rollback.add_argument("--delete-canary", action="store_true", help="then delete the service")
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _settings(args: argparse.Namespace) -> DeploySettings:
    overrides = {f: getattr(args, f) for f in FLAG_FIELDS if hasattr(args, f)}
    return load_deploy_settings(**overrides)


def _cloud(settings: DeploySettings) -> CloudRun:
    return CloudRun(
        make_client(settings), settings.location, timeout_seconds=settings.operation_timeout_seconds
    )


def _require(settings: DeploySettings, *, images: bool = True) -> None:
    """Stop before any API call when the project (or, to deploy, an image) is not configured."""
    missing = missing_inputs(settings) if images else ["DEPLOY_PROJECT"] * (not settings.project)
    if missing:
        raise SettingsError("missing settings: " + ", ".join(missing))


def cmd_plan(settings: DeploySettings, args: argparse.Namespace) -> int:
    _require(settings)
    print(render(actions.plan_changes(settings, _cloud(settings))))
    return 0


def cmd_apply(settings: DeploySettings, args: argparse.Namespace) -> int:
    _require(settings)
    deployed = actions.apply(settings, _cloud(settings), print)
    print("Deployed:")
    for seen in deployed.values():
        print(f"  {seen.spec.name}: {seen.uri}")
    return 0


def cmd_status(settings: DeploySettings, args: argparse.Namespace) -> int:
    _require(settings, images=False)
    print(actions.render_status(_cloud(settings).list()))
    return 0


def _confirm(question: str) -> bool:
    print(f"{question} Type 'yes' to continue: ", end="", flush=True)
    return sys.stdin.readline().strip().lower() == "yes"


def _gateway_url(settings: DeploySettings) -> str:
    if settings.gateway_url:
        return settings.gateway_url
    _require(settings, images=False)
    seen = _cloud(settings).get(settings.gateway_service)
    if seen is None or not seen.uri:
        raise DeployError(f"service {settings.gateway_service} not found; set DEPLOY_GATEWAY_URL.")
    return seen.uri


def cmd_rollback_canary(settings: DeploySettings, args: argparse.Namespace) -> int:
    gateway_url = _gateway_url(settings)
    extra = f" and delete {settings.canary_service}" if args.delete_canary else ""
    if not args.yes and not _confirm(f"Route 100% to legacy via {gateway_url}{extra}."):
        print("Aborted: nothing changed.")
        return 1
    with httpx.Client(timeout=30.0) as client:
        status = rollback_gateway(client, gateway_url, settings.gateway_admin_token, args.reason)
    get_logger("deploy").warning("deploy.canary_rolled_back", reason=args.reason, **status)
    print(f"Gateway rollout: state={status.get('state')} percent={status.get('percent')}")
    print("All traffic is now routed to LEGACY (100%).")
    if args.delete_canary:
        _require(settings, images=False)
        _cloud(settings).delete(settings.canary_service)
        print(f"Deleted Cloud Run service {settings.canary_service}.")
    return 0


COMMANDS: dict[str, Callable[[DeploySettings, argparse.Namespace], int]] = {
    "plan": cmd_plan,
    "apply": cmd_apply,
    "status": cmd_status,
    "rollback-canary": cmd_rollback_canary,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(getattr(args, "log_level", LOG_LEVEL), stream=sys.stderr)
    try:
        return COMMANDS[args.command](_settings(args), args)
    except (SettingsError, CredentialsError) as exc:
        print(f"ion-deploy: {exc}", file=sys.stderr)
        return 2
    except DeployError as exc:
        print(f"ion-deploy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
