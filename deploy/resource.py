"""Translation between our `ServiceSpec` and the Cloud Run Admin API v2 `Service` message.

Pure, both ways: `to_service` builds the request body, `spec_from_service` reads back only the
fields we manage, so Cloud Run's own defaults (probe periods, annotations) never look like drift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from google.cloud import run_v2

from deploy.spec import SecretRef, ServiceSpec, SidecarSpec, VpcSpec

MANAGED_BY = "ion-deploy"
CONFIG_FILE = "config.yaml"
EGRESS = {
    "private-ranges-only": run_v2.VpcAccess.VpcEgress.PRIVATE_RANGES_ONLY,
    "all-traffic": run_v2.VpcAccess.VpcEgress.ALL_TRAFFIC,
}


@dataclass(frozen=True)
class Observed:
    """A deployed service as `status` reports it, plus its spec for `plan`."""

    spec: ServiceSpec
    uri: str
    latest_ready_revision: str
    latest_created_revision: str
    ready: str
    message: str


def _env_vars(spec: ServiceSpec) -> list[run_v2.EnvVar]:
    plain = [run_v2.EnvVar(name=key, value=value) for key, value in spec.env]
    secret = [
        run_v2.EnvVar(
            name=ref.env,
            value_source=run_v2.EnvVarSource(
                secret_key_ref=run_v2.SecretKeySelector(secret=ref.secret, version=ref.version)
            ),
        )
        for ref in spec.secrets
    ]
    return plain + secret


def _container(spec: ServiceSpec) -> run_v2.Container:
    """The ingress container, named after the role so sidecars can depend on it by name."""
    return run_v2.Container(
        name=spec.role,
        image=spec.image,
        ports=[run_v2.ContainerPort(container_port=spec.port)],
        env=_env_vars(spec),
        resources=run_v2.ResourceRequirements(
            limits={"cpu": spec.cpu, "memory": spec.memory},
            cpu_idle=spec.cpu_idle,
            startup_cpu_boost=True,
        ),
        startup_probe=run_v2.Probe(http_get=run_v2.HTTPGetAction(path=spec.health_path)),
    )


def _volume_name(sidecar: SidecarSpec) -> str:
    return f"{sidecar.name}-config"


def _sidecar(sidecar: SidecarSpec) -> run_v2.Container:
    """No port (only the ingress container has one); started once `depends_on` is healthy."""
    mounts = [run_v2.VolumeMount(name=_volume_name(sidecar), mount_path=sidecar.config_dir)]
    return run_v2.Container(
        name=sidecar.name,
        image=sidecar.image,
        depends_on=list(sidecar.depends_on),
        volume_mounts=mounts if sidecar.config_secret else [],
    )


def _config_volume(sidecar: SidecarSpec, ref: SecretRef) -> run_v2.Volume:
    """The sidecar's config secret as a file: `<config_dir>/config.yaml`."""
    item = run_v2.VersionToPath(path=CONFIG_FILE, version=ref.version)
    source = run_v2.SecretVolumeSource(secret=ref.secret, items=[item])
    return run_v2.Volume(name=_volume_name(sidecar), secret=source)


def _vpc_access(vpc: VpcSpec | None) -> run_v2.VpcAccess | None:
    """`connector` or one network interface (Direct VPC egress), and the egress setting."""
    if vpc is None:
        return None
    interfaces = []
    if vpc.network or vpc.subnetwork:
        interfaces.append(
            run_v2.VpcAccess.NetworkInterface(network=vpc.network, subnetwork=vpc.subnetwork)
        )
    return run_v2.VpcAccess(
        connector=vpc.connector, egress=EGRESS[vpc.egress], network_interfaces=interfaces
    )


def to_service(spec: ServiceSpec, name: str = "") -> run_v2.Service:
    """The request body; `name` is empty on create (the API composes it from parent + id)."""
    template = run_v2.RevisionTemplate(
        containers=[_container(spec), *(_sidecar(s) for s in spec.sidecars)],
        volumes=[_config_volume(s, s.config_secret) for s in spec.sidecars if s.config_secret],
        scaling=run_v2.RevisionScaling(
            min_instance_count=spec.min_instances, max_instance_count=spec.max_instances
        ),
        max_instance_request_concurrency=spec.concurrency,
        timeout=dt.timedelta(seconds=spec.timeout_seconds),
        service_account=spec.service_account,
        vpc_access=_vpc_access(spec.vpc),
    )
    return run_v2.Service(
        name=name,
        labels={"managed-by": MANAGED_BY, "ion-role": spec.role},
        ingress=run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL,
        invoker_iam_disabled=True,
        template=template,
    )


def _read_env(container: run_v2.Container) -> tuple[tuple, tuple]:
    env, secrets = [], []
    for var in container.env:
        ref = var.value_source.secret_key_ref if var.value_source else None
        if ref and ref.secret:
            secrets.append(SecretRef(var.name, ref.secret, ref.version or "latest"))
        else:
            env.append((var.name, var.value))
    return tuple(sorted(env)), tuple(sorted(secrets))


def _seconds(value: object) -> int:
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    return int(getattr(value, "seconds", 0) or 0)


def _read_config(
    container: run_v2.Container, volumes: dict[str, run_v2.Volume]
) -> tuple[SecretRef | None, str]:
    """The secret mounted into a sidecar (first secret-volume mount), and where it is mounted."""
    for mount in container.volume_mounts:
        source = volumes[mount.name].secret if mount.name in volumes else None
        if source and source.secret:
            version = source.items[0].version if source.items else "latest"
            return SecretRef("", source.secret, version or "latest"), mount.mount_path
    return None, ""


def _read_sidecar(container: run_v2.Container, volumes: dict[str, run_v2.Volume]) -> SidecarSpec:
    config, config_dir = _read_config(container, volumes)
    sidecar = SidecarSpec(container.name, container.image, tuple(container.depends_on), config)
    return replace(sidecar, config_dir=config_dir) if config else sidecar


def _read_vpc(template: run_v2.RevisionTemplate) -> VpcSpec | None:
    """None when the revision has no VPC access; an unspecified egress is Cloud Run's default."""
    access = template.vpc_access
    interface = access.network_interfaces[0] if access.network_interfaces else None
    if not access.connector and interface is None:
        return None
    egress = next((k for k, v in EGRESS.items() if v == access.egress), "private-ranges-only")
    return VpcSpec(
        connector=access.connector,
        network=interface.network if interface else "",
        subnetwork=interface.subnetwork if interface else "",
        egress=egress,
    )


def _split(template: run_v2.RevisionTemplate) -> tuple[run_v2.Container, list[run_v2.Container]]:
    """The ingress container (the one with a port, as Cloud Run requires) and the sidecars."""
    containers = list(template.containers) or [run_v2.Container()]
    ingress = next((c for c in containers if c.ports), containers[0])
    return ingress, [c for c in containers if c is not ingress]


def spec_from_service(service: run_v2.Service) -> ServiceSpec:
    """Our view of a deployed service: the ingress container plus any sidecars."""
    template = service.template
    container, others = _split(template)
    volumes = {volume.name: volume for volume in template.volumes}
    env, secrets = _read_env(container)
    limits = container.resources.limits
    probe = container.startup_probe.http_get.path if container.startup_probe else ""
    return ServiceSpec(
        name=service.name.rsplit("/", 1)[-1],
        role=service.labels.get("ion-role", ""),
        image=container.image,
        env=env,
        secrets=secrets,
        memory=limits.get("memory", ""),
        cpu=limits.get("cpu", ""),
        cpu_idle=container.resources.cpu_idle,
        concurrency=template.max_instance_request_concurrency,
        timeout_seconds=_seconds(template.timeout),
        min_instances=template.scaling.min_instance_count,
        max_instances=template.scaling.max_instance_count,
        service_account=template.service_account,
        health_path=probe,
        port=container.ports[0].container_port if container.ports else 0,
        sidecars=tuple(_read_sidecar(c, volumes) for c in others),
        vpc=_read_vpc(template),
    )


def observe(service: run_v2.Service) -> Observed:
    """Spec plus the status fields `ion-deploy status` prints."""
    condition = service.terminal_condition
    return Observed(
        spec=spec_from_service(service),
        uri=service.uri,
        latest_ready_revision=service.latest_ready_revision.rsplit("/", 1)[-1],
        latest_created_revision=service.latest_created_revision.rsplit("/", 1)[-1],
        ready=condition.state.name if condition else "UNKNOWN",
        message=condition.message if condition else "",
    )
