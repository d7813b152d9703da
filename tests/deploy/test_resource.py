"""Our spec -> `run_v2.Service` -> our spec is the identity, also through the REST JSON form.

That round trip is what makes "apply, then plan" empty: anything lost on the way back would show
as drift forever.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from google.cloud import run_v2

from deploy.resource import spec_from_service, to_service
from deploy.settings import DeploySettings
from deploy.spec import SecretRef, ServiceSpec, VpcSpec, desired_spec

BASE = DeploySettings(project="ion-test-project")
URLS = {"legacy": "https://l", "canary": "https://c"}
NAME = "projects/ion-test-project/locations/us-central1/services/"


def gateway(**overrides: object) -> ServiceSpec:
    return desired_spec(BASE.model_copy(update=overrides), "gateway", URLS)


CASES = {
    "legacy": desired_spec(BASE, "legacy"),
    "canary with secrets": desired_spec(BASE, "canary"),
    "gateway with the sidecar": gateway(),
    "gateway, sidecar config from a secret": gateway(gmp_config_secret="gmp", secret_version="3"),
    "gateway without the sidecar": gateway(gmp_sidecar=False),
    "gateway, other sidecar image": gateway(gmp_sidecar_image="r.example/gmp:9"),
    # VpcSpec spelled out, so a spec that silently lost its VPC could not pass as a round trip
    "gateway on Redis through a connector": replace(
        gateway(gateway_store_url_secret="ion-rollout-store-url"),
        vpc=VpcSpec(connector="projects/ion-test-project/locations/us-central1/connectors/c1"),
    ),
    "gateway, direct VPC egress, all traffic": replace(
        gateway(), vpc=VpcSpec(network="default", subnetwork="s1", egress="all-traffic")
    ),
    "gateway, direct VPC egress, subnetwork only": replace(gateway(), vpc=VpcSpec(subnetwork="s1")),
}


@pytest.mark.parametrize("spec", CASES.values(), ids=CASES.keys())
def test_round_trip(spec: ServiceSpec) -> None:
    service = to_service(spec, NAME + spec.name)
    assert spec_from_service(service) == spec
    wire = run_v2.Service.from_json(run_v2.Service.to_json(service))
    assert spec_from_service(wire) == spec


def test_the_gateway_container_is_found_by_its_port_not_its_position() -> None:
    spec = gateway(gmp_config_secret="gmp")
    service = to_service(spec, NAME + spec.name)
    service.template.containers = list(reversed(service.template.containers))
    assert spec_from_service(service) == spec


def test_the_sidecar_config_is_a_secret_file_next_to_no_port() -> None:
    spec = gateway(gmp_config_secret="gmp")
    template = to_service(spec).template
    ingress, sidecar = template.containers
    assert (ingress.name, [p.container_port for p in ingress.ports]) == ("gateway", [8080])
    assert (sidecar.name, list(sidecar.ports), list(sidecar.depends_on)) == (
        "gmp-collector",
        [],
        ["gateway"],
    )
    assert sidecar.volume_mounts[0].mount_path == "/etc/rungmp"
    assert template.volumes[0].secret.items[0].path == "config.yaml"
    assert spec.sidecars[0].config_secret == SecretRef("", "gmp", "latest")


def test_a_changed_sidecar_is_visible_to_the_diff() -> None:
    spec = gateway()
    moved = replace(spec, sidecars=(replace(spec.sidecars[0], image="x:2"),))
    assert spec_from_service(to_service(moved)) != spec


def test_vpc_access_is_the_v2_message() -> None:
    connector = to_service(gateway(gateway_vpc_connector="c1")).template.vpc_access
    assert connector.connector == "projects/ion-test-project/locations/us-central1/connectors/c1"
    assert connector.egress == run_v2.VpcAccess.VpcEgress.PRIVATE_RANGES_ONLY
    assert list(connector.network_interfaces) == []
    direct = to_service(gateway(gateway_vpc_network="n", gateway_vpc_subnetwork="s")).template
    [interface] = direct.vpc_access.network_interfaces
    assert (interface.network, interface.subnetwork) == ("n", "s")
    assert direct.vpc_access.connector == ""
    assert "vpc_access" not in to_service(gateway()).template, "no VPC: the field stays unset"


def test_an_unspecified_egress_reads_as_cloud_runs_default() -> None:
    service = to_service(gateway(gateway_vpc_connector="c1"))
    service.template.vpc_access.egress = run_v2.VpcAccess.VpcEgress.VPC_EGRESS_UNSPECIFIED
    assert spec_from_service(service).vpc == gateway(gateway_vpc_connector="c1").vpc
