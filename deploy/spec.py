"""Desired state of the three Cloud Run services, as plain comparable data.

`desired_specs(settings, upstream_urls)` is pure: the same settings and URLs always give the same
specs, so `plan` can diff them against what Cloud Run reports and an apply followed by a plan is
empty. Only fields we manage are modelled; anything Cloud Run adds on its own never shows up as a
change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from deploy import store, vpc
from deploy.settings import DeploySettings

ROLES = ("legacy", "canary", "gateway")
"""Apply order: the gateway last, because its env carries the other two services' URLs."""

PENDING_URL = "(known after apply)"
CONTAINER_PORT = 8080
HEALTH_PATHS = {"gateway": "/healthz", "legacy": "/health", "canary": "/health"}

GMP_SIDECAR_NAME = "gmp-collector"
GMP_CONFIG_DIR = "/etc/rungmp"
"""Where the Managed Service for Prometheus sidecar looks for `config.yaml` (a RunMonitoring
config); without the file it scrapes `0.0.0.0:8080/metrics` every 30 s, which is the gateway."""


@dataclass(frozen=True, order=True)
class SecretRef:
    """An env var filled by Cloud Run from Secret Manager: the value never passes through us."""

    env: str
    secret: str
    version: str = "latest"

    def __str__(self) -> str:
        return f"secret:{self.secret}:{self.version}"


@dataclass(frozen=True)
class SidecarSpec:
    """A non-ingress container next to the service's own (no port, started after `depends_on`).

    `config_secret`, when set, is a Secret Manager secret mounted as `<config_dir>/config.yaml`.
    """

    name: str
    image: str
    depends_on: tuple[str, ...] = ()
    config_secret: SecretRef | None = None
    config_dir: str = GMP_CONFIG_DIR

    def rows(self) -> list[tuple[str, str]]:
        """Plan rows, one per managed field, labelled `sidecar.<name>.<field>`."""
        rows = [("image", self.image), ("depends_on", ",".join(self.depends_on))]
        if ref := self.config_secret:
            rows.append(("config", f"secret:{ref.secret}:{ref.version} -> {self.config_dir}"))
        return [(f"sidecar.{self.name}.{field}", text) for field, text in rows]


@dataclass(frozen=True)
class VpcSpec:
    """How the service reaches a VPC: a connector, or Direct VPC egress (network/subnetwork).

    `connector` is the full name (`projects/<p>/locations/<r>/connectors/<n>`), the others as
    configured; `egress` is `private-ranges-only` or `all-traffic`.
    """

    connector: str = ""
    network: str = ""
    subnetwork: str = ""
    egress: str = vpc.DEFAULT_EGRESS

    def rows(self) -> list[tuple[str, str]]:
        """Plan rows `vpc.<field>`, the ones set (egress always)."""
        rows = [("connector", self.connector), ("network", self.network)]
        rows += [("subnetwork", self.subnetwork), ("egress", self.egress)]
        return [(f"vpc.{field}", text) for field, text in rows if text]


@dataclass(frozen=True)
class ServiceSpec:
    """What one Cloud Run service should look like; field names double as plan labels."""

    name: str
    role: str
    image: str
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[SecretRef, ...] = ()
    memory: str = "512Mi"
    cpu: str = "1"
    cpu_idle: bool = True
    concurrency: int = 80
    timeout_seconds: int = 300
    min_instances: int = 0
    max_instances: int = 10
    service_account: str = ""
    health_path: str = "/health"
    port: int = CONTAINER_PORT
    sidecars: tuple[SidecarSpec, ...] = ()
    vpc: VpcSpec | None = None

    def env_dict(self) -> dict[str, str]:
        return dict(self.env)


def _secrets(settings: DeploySettings, role: str) -> tuple[SecretRef, ...]:
    wanted = {
        "gateway": [("GATEWAY_ADMIN_TOKEN", settings.gateway_admin_token_secret)],
        "legacy": [],
        "canary": [
            ("CANARY_ADMIN_TOKEN", settings.canary_admin_token_secret),
            ("CANARY_GEMINI_API_KEY", settings.gemini_api_key_secret),
        ],
    }[role]
    refs = [SecretRef(env, name, settings.secret_version) for env, name in wanted if name]
    if role == "gateway" and settings.gateway_store_url_secret:
        secret, version = store.split_secret_ref(
            settings.gateway_store_url_secret, settings.project, settings.secret_version
        )
        refs.append(SecretRef(store.STORE_ENV, secret, version))
    return tuple(sorted(refs))


def _vpc(settings: DeploySettings, role: str) -> VpcSpec | None:
    """Only the gateway talks to the rollout store, so only it gets into the VPC."""
    if role != "gateway" or not settings.gateway_uses_vpc:
        return None
    return VpcSpec(
        connector=vpc.connector_path(
            settings.gateway_vpc_connector, settings.project, settings.region
        ),
        network=settings.gateway_vpc_network,
        subnetwork=settings.gateway_vpc_subnetwork,
        egress=settings.gateway_vpc_egress or vpc.DEFAULT_EGRESS,
    )


def _env(settings: DeploySettings, role: str, upstream_urls: Mapping[str, str]) -> dict[str, str]:
    env = dict(getattr(settings, f"{role}_env"))
    if role == "gateway":
        env["GATEWAY_LEGACY_URL"] = upstream_urls.get("legacy") or PENDING_URL
        env["GATEWAY_CANARY_URL"] = upstream_urls.get("canary") or PENDING_URL
    return env


def _sidecars(settings: DeploySettings, role: str) -> tuple[SidecarSpec, ...]:
    """The gateway gets the Prometheus collector, so its /metrics reach Cloud Monitoring."""
    if role != "gateway" or not settings.gmp_sidecar:
        return ()
    secret = settings.gmp_config_secret
    config = SecretRef("", secret, settings.secret_version) if secret else None
    return (SidecarSpec(GMP_SIDECAR_NAME, settings.gmp_sidecar_image, (role,), config),)


def desired_spec(
    settings: DeploySettings, role: str, upstream_urls: Mapping[str, str] | None = None
) -> ServiceSpec:
    """The spec for one role; the gateway's upstream URLs come from the deployed services."""
    env = _env(settings, role, upstream_urls or {})
    return ServiceSpec(
        name=getattr(settings, f"{role}_service"),
        role=role,
        image=settings.image(role),
        env=tuple(sorted(env.items())),
        secrets=_secrets(settings, role),
        memory=settings.memory,
        cpu=settings.cpu,
        cpu_idle=role != "gateway",
        concurrency=settings.concurrency,
        timeout_seconds=settings.timeout_seconds,
        min_instances=getattr(settings, f"{role}_min_instances"),
        max_instances=getattr(settings, f"{role}_max_instances"),
        service_account=settings.service_account(role),
        health_path=HEALTH_PATHS[role],
        sidecars=_sidecars(settings, role),
        vpc=_vpc(settings, role),
    )


def desired_specs(
    settings: DeploySettings, upstream_urls: Mapping[str, str] | None = None
) -> list[ServiceSpec]:
    """All three specs in apply order."""
    return [desired_spec(settings, role, upstream_urls) for role in ROLES]


def missing_inputs(settings: DeploySettings) -> list[str]:
    """Env vars that must be set before anything can be planned; empty when ready."""
    missing = [] if settings.project else ["DEPLOY_PROJECT"]
    for role in ROLES:
        if not settings.image(role):
            missing.append(f"DEPLOY_{role.upper()}_IMAGE (or DEPLOY_REGISTRY)")
    return missing
