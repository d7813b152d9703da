"""deploy/vpc.py: connector, network and subnetwork names, checked before any API call. Pure."""

from __future__ import annotations

import pytest

from deploy.vpc import connector_path, name_problem

REGION = "us-central1"


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("connector", "", ""),  # not configured
        ("connector", "redis-connector", ""),
        ("connector", "projects/ion-test-project/locations/us-central1/connectors/c1", ""),
        # a Shared VPC host project is fine; another region is not (connectors are regional)
        ("connector", "projects/ion-host-project/locations/us-central1/connectors/c1", ""),
        (
            "connector",
            "projects/ion-test-project/locations/europe-west1/connectors/c1",
            "is in region europe-west1, but the service runs in us-central1",
        ),
        ("connector", "Redis_Connector", "must be a connector name"),
        ("connector", "c" * 26, "must be a connector name"),  # at most 25 characters
        ("connector", "ends-with-", "must be a connector name"),
        ("connector", "projects/x/locations/us-central1/connectors/c1", "must be a connector"),
        ("network", "default", ""),
        ("network", "projects/ion-host-project/global/networks/shared-vpc", ""),
        ("network", "projects/ion-host-project/regions/us-central1/networks/n", "must be a"),
        ("network", "n" * 64, "must be a network name"),
        ("subnetwork", "redis-subnet", ""),
        ("subnetwork", "projects/ion-host-project/regions/us-central1/subnetworks/s1", ""),
        (
            "subnetwork",
            "projects/ion-host-project/regions/asia-east1/subnetworks/s1",
            "is in region asia-east1",
        ),
        ("subnetwork", "10.8.0.0/28", "must be a subnetwork name"),
    ],
)
def test_name_problem(kind: str, value: str, problem: str) -> None:
    found = name_problem(kind, value, REGION)
    assert (problem in found) if problem else found == ""


def test_a_bare_connector_name_is_in_the_services_project_and_region() -> None:
    assert connector_path("c1", "ion-test-project", REGION) == (
        "projects/ion-test-project/locations/us-central1/connectors/c1"
    )
    full = "projects/ion-host-project/locations/us-central1/connectors/c1"
    assert connector_path(full, "ion-test-project", REGION) == full
    assert connector_path("", "ion-test-project", REGION) == ""
