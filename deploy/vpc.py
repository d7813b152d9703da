"""How the gateway reaches a private network (Memorystore has only a private IP): name checks.

Cloud Run offers two ways, and a revision takes one of them:

- a Serverless VPC Access connector (`VpcAccess.connector`), a small managed VM group in the
  service's region: `projects/<p>/locations/<region>/connectors/<name>`, or its bare name;
- Direct VPC egress (`VpcAccess.network_interfaces`): the instances get an address in a
  subnetwork of the service's region, no connector to run or pay for. Network
  `projects/<p>/global/networks/<name>` or a name, subnetwork
  `projects/<p>/regions/<region>/subnetworks/<name>` or a name; one of the two is enough
  (Cloud Run finds the other).

`VpcAccess.egress` decides what goes through the VPC: `private-ranges-only` (RFC 1918 addresses
such as Memorystore's; the upstreams' `*.run.app` URLs stay on the public path) or
`all-traffic` (everything, which then needs Cloud NAT or Private Google Access to reach the
upstreams). The project in a path may differ from the service's (a Shared VPC host project);
the region may not.

Pure: every function returns a problem text (empty when fine), which settings validators raise.
"""

from __future__ import annotations

import re

EGRESS = ("private-ranges-only", "all-traffic")
DEFAULT_EGRESS = "private-ranges-only"

_PROJECT = r"[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,19}"
_CONNECTOR = r"[a-z](?:[-a-z0-9]{0,23}[a-z0-9])?"
_RFC1035 = r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?"
_REGION = r"[a-z]+-[a-z]+[0-9]+"

_FORMS = {
    "connector": (
        _CONNECTOR,
        rf"projects/(?:{_PROJECT})/locations/(?P<region>{_REGION})/connectors/{_CONNECTOR}",
    ),
    "network": (_RFC1035, rf"projects/(?:{_PROJECT})/global/networks/{_RFC1035}"),
    "subnetwork": (
        _RFC1035,
        rf"projects/(?:{_PROJECT})/regions/(?P<region>{_REGION})/subnetworks/{_RFC1035}",
    ),
}
_EXAMPLES = {
    "connector": "a connector name (lowercase letters, digits, hyphens; at most 25) or "
    "projects/<project>/locations/<region>/connectors/<name>",
    "network": "a network name (RFC 1035: lowercase letters, digits, hyphens; at most 63) "
    "or projects/<project>/global/networks/<name>",
    "subnetwork": "a subnetwork name (RFC 1035) or "
    "projects/<project>/regions/<region>/subnetworks/<name>",
}


def name_problem(kind: str, value: str, region: str) -> str:
    """Why `value` is not a valid `kind` ("connector", "network", "subnetwork") for a service in
    `region`; empty when it is (or is empty: not configured)."""
    if not value:
        return ""
    short, full = _FORMS[kind]
    if re.fullmatch(short, value):
        return ""
    match = re.fullmatch(full, value)
    if match is None:
        return f"must be {_EXAMPLES[kind]}"
    found = match.groupdict().get("region")
    if found is not None and found != region:
        return f"is in region {found}, but the service runs in {region} (DEPLOY_REGION)"
    return ""


def connector_path(value: str, project: str, region: str) -> str:
    """The full connector name the API expects; a bare name is in the service's project/region."""
    if not value or value.startswith("projects/"):
        return value
    return f"projects/{project}/locations/{region}/connectors/{value}"
