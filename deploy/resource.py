"""Translation between our `ServiceSpec` and the Cloud Run Admin API v2 `Service` message.

Pure, both ways: `to_service` builds the request body, `spec_from_service` reads back only the
fields we manage, so Cloud Run's own defaults (probe periods, annotations) never look like drift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from google.cloud import run_v2

from deploy.spec import SecretRef, ServiceSpec

MANAGED_BY = "ion-deploy"


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
    return run_v2.Container(
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


def to_service(spec: ServiceSpec, name: str = "") -> run_v2.Service:
    """The request body; `name` is empty on create (the API composes it from parent + id)."""
    template = run_v2.RevisionTemplate(
        containers=[_container(spec)],
        scaling=run_v2.RevisionScaling(
            min_instance_count=spec.min_instances, max_instance_count=spec.max_instances
        ),
        max_instance_request_concurrency=spec.concurrency,
        timeout=dt.timedelta(seconds=spec.timeout_seconds),
        service_account=spec.service_account,
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


def spec_from_service(service: run_v2.Service) -> ServiceSpec:
    """Our view of a deployed service (first container only: we deploy one per service)."""
    template = service.template
    container = template.containers[0] if template.containers else run_v2.Container()
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
