"""What `plan`, `apply` and `status` do, on top of `CloudRun` and the pure spec/plan modules.

Apply goes in `spec.ROLES` order and recomputes the gateway's spec after the upstreams exist,
so a first deployment needs one command: the gateway's env gets the URLs Cloud Run just assigned.
"""

from __future__ import annotations

from collections.abc import Callable

from common.logging import get_logger
from deploy.cloudrun import CloudRun
from deploy.plan import Change, diff
from deploy.resource import Observed
from deploy.settings import DeploySettings
from deploy.spec import ROLES, ServiceSpec, desired_spec, desired_specs

Echo = Callable[[str], None]


def observe_all(settings: DeploySettings, cloud: CloudRun) -> dict[str, Observed | None]:
    """Each role's deployed service (None if absent), keyed by role."""
    return {role: cloud.get(getattr(settings, f"{role}_service")) for role in ROLES}


def upstream_urls(observed: dict[str, Observed | None]) -> dict[str, str]:
    return {role: seen.uri for role, seen in observed.items() if seen and seen.uri}


def plan_changes(settings: DeploySettings, cloud: CloudRun) -> list[Change]:
    """The diff `apply` would carry out now; reads only."""
    observed = observe_all(settings, cloud)
    current = {seen.spec.name: seen.spec for seen in observed.values() if seen}
    return diff(desired_specs(settings, upstream_urls(observed)), current)


def _apply_one(cloud: CloudRun, spec: ServiceSpec, seen: Observed | None, echo: Echo) -> Observed:
    changes = diff([spec], {spec.name: seen.spec if seen else None})
    if not changes:
        echo(f"= {spec.name}: up to date")
        return seen  # type: ignore[return-value]
    action = changes[0].action
    echo(f"{'+' if action == 'create' else '~'} {action} {spec.name} ...")
    result = cloud.create(spec) if action == "create" else cloud.update(spec)
    get_logger("deploy").info(f"deploy.service_{action}d", service=spec.name, uri=result.uri)
    echo(f"  {spec.name}: {result.ready} {result.latest_ready_revision} {result.uri}")
    return result


def apply(settings: DeploySettings, cloud: CloudRun, echo: Echo) -> dict[str, Observed]:
    """Create or update every service, upstreams first; returns what is deployed, by role."""
    observed = observe_all(settings, cloud)
    deployed: dict[str, Observed] = {}
    for role in ROLES:
        spec = desired_spec(settings, role, upstream_urls({**observed, **deployed}))
        deployed[role] = _apply_one(cloud, spec, observed[role], echo)
    return deployed


def render_status(services: list[Observed]) -> str:
    """One block per service: readiness, revisions, URL, and the condition message if any."""
    if not services:
        return "No Cloud Run services found."
    lines = []
    for seen in sorted(services, key=lambda s: s.spec.name):
        lines.append(f"{seen.spec.name} [{seen.spec.role or '-'}] {seen.ready}")
        lines.append(f"    url: {seen.uri or '-'}")
        lines.append(f"    image: {seen.spec.image}")
        lines.append(f"    latest ready revision: {seen.latest_ready_revision or '-'}")
        lines.append(f"    latest created revision: {seen.latest_created_revision or '-'}")
        if seen.message:
            lines.append(f"    message: {seen.message}")
    return "\n".join(lines)
