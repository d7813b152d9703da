"""An in-memory fake of the Cloud Run Admin API v2 REST surface, served on 127.0.0.1 in tests.

Just enough of `run.googleapis.com/v2` for the real `run_v2.ServicesClient` (REST transport) to
create, patch, get, list and delete services and to poll their long-running operations, plus an
OAuth token endpoint so `authorized_user` ADC files can point at it. Faults are switched on by
setting attributes: `deny` (403 on everything), `fail_operations` (the next operation finishes
with an error), `done_after_polls` (operations need that many GETs before they are done).
Requests for a project other than `project` answer 404, like a wrong project id does, and a
template that breaks the multi-container rules (one ingress port, named containers, known
`dependsOn` and volume names; a VPC connector or one network interface, not both) answers 400.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
_OUTPUT_ONLY = ("uid", "uri", "generation", "terminalCondition", "latestReadyRevision")


def api_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": code}}, status_code=status
    )


def invalid_template(body: dict[str, Any]) -> str:
    """The multi-container rules Cloud Run checks on create/patch; empty when the body is fine."""
    template = body.get("template", {})
    containers = template.get("containers", [])
    names = {c.get("name", "") for c in containers}
    volumes = {v["name"] for v in template.get("volumes", [])}
    if len(containers) > 1 and sum(bool(c.get("ports")) for c in containers) != 1:
        return "exactly one container (the ingress container) must set a port"
    if len(containers) > 1 and "" in names:
        return "every container of a multi-container service needs a name"
    vpc = template.get("vpcAccess", {})
    if vpc.get("connector") and vpc.get("networkInterfaces"):
        return "a revision reaches a VPC through a connector or Direct VPC egress, not both"
    if len(vpc.get("networkInterfaces", [])) > 1:
        return "at most one network interface is supported"
    for container in containers:
        missing = set(container.get("dependsOn", [])) - names
        missing |= {m["name"] for m in container.get("volumeMounts", [])} - volumes
        if missing:
            return f"container {container.get('name')!r} refers to unknown {sorted(missing)}"
    return ""


class FakeCloudRun:
    """State plus fault switches; `app` is the ASGI app to serve."""

    def __init__(self, project: str = "ion-test-project") -> None:
        self.project = project
        self.services: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self.calls: list[tuple[str, str]] = []
        self.authorizations: list[str] = []
        self.deny = False
        self.fail_operations: str | None = None
        self.done_after_polls = 0
        self._ids = itertools.count(1)
        self.app = Starlette(routes=self._routes())

    def _routes(self) -> list[Route]:
        base = "/v2/projects/{project}/locations/{location}"
        return [
            Route("/token", self.token, methods=["POST"]),
            Route(base + "/services", self.list_or_create, methods=["GET", "POST"]),
            Route(base + "/services/{service}", self.one, methods=["GET", "PATCH", "DELETE"]),
            Route(base + "/operations/{operation}", self.get_operation, methods=["GET"]),
        ]

    async def token(self, request: Request) -> JSONResponse:
        return JSONResponse({"access_token": "fake-access-token", "expires_in": 3600})

    def _refuse(self, request: Request) -> JSONResponse | None:
        """The checks the real API does before anything else: auth, permission, project."""
        self.calls.append((request.method, request.url.path))
        self.authorizations.append(request.headers.get("authorization", ""))
        if self.deny:
            return api_error(
                403, "PERMISSION_DENIED", "Permission 'run.services.get' denied on resource"
            )
        if request.path_params["project"] != self.project:
            location = f"projects/{request.path_params['project']}/locations/"
            return api_error(404, "NOT_FOUND", f"Location {location}... not found.")
        return None

    async def list_or_create(self, request: Request) -> JSONResponse:
        if refused := self._refuse(request):
            return refused
        parent = request.url.path.removeprefix("/v2/").removesuffix("/services")
        if request.method == "GET":
            found = [s for n, s in self.services.items() if n.startswith(parent + "/")]
            return JSONResponse({"services": found})
        name = f"{parent}/services/{request.query_params['serviceId']}"
        if name in self.services:
            return api_error(409, "ALREADY_EXISTS", f"Resource '{name}' already exists.")
        body = json.loads(await request.body())
        if problem := invalid_template(body):
            return api_error(400, "INVALID_ARGUMENT", problem)
        return self._finish(parent, self._store(name, body, 1))

    async def one(self, request: Request) -> JSONResponse:
        if refused := self._refuse(request):
            return refused
        name = request.url.path.removeprefix("/v2/")
        parent = name.split("/services/")[0]
        current = self.services.get(name)
        if current is None:
            return api_error(404, "NOT_FOUND", f"Resource '{name}' was not found")
        if request.method == "GET":
            return JSONResponse(current)
        if request.method == "DELETE":
            return self._finish(parent, self.services.pop(name))
        body = json.loads(await request.body())
        if problem := invalid_template(body):
            return api_error(400, "INVALID_ARGUMENT", problem)
        return self._finish(parent, self._store(name, body, int(current["generation"]) + 1))

    async def get_operation(self, request: Request) -> JSONResponse:
        if refused := self._refuse(request):
            return refused
        name = request.url.path.removeprefix("/v2/")
        if name not in self.operations:
            return api_error(404, "NOT_FOUND", f"Operation '{name}' was not found")
        self.polls[name] = self.polls.get(name, 0) + 1
        return JSONResponse(self._operation_view(name))

    def _store(self, name: str, body: dict[str, Any], generation: int) -> dict[str, Any]:
        """Keep the body as sent and add the output-only fields Cloud Run fills in."""
        short = name.rsplit("/", 1)[-1]
        revision = f"{name}/revisions/{short}-{generation:05d}-abc"
        service = {k: v for k, v in body.items() if k not in _OUTPUT_ONLY}
        service.update(
            name=name,
            uid=f"uid-{short}",
            uri=f"https://{short}-fake-uc.a.run.app",
            generation=str(generation),
            latestReadyRevision=revision,
            latestCreatedRevision=revision,
            terminalCondition={"type": "Ready", "state": "CONDITION_SUCCEEDED"},
        )
        self.services[name] = service
        return service

    def _finish(self, parent: str, service: dict[str, Any]) -> JSONResponse:
        """Record a long-running operation for a change already applied; answer it."""
        name = f"{parent}/operations/op-{next(self._ids)}"
        record: dict[str, Any] = {"name": name, "service": service}
        if self.fail_operations:
            record["error"] = {"code": 3, "message": self.fail_operations}
            service["terminalCondition"] = {
                "type": "Ready",
                "state": "CONDITION_FAILED",
                "message": self.fail_operations,
            }
            self.fail_operations = None
        self.operations[name] = record
        return JSONResponse(self._operation_view(name))

    def _operation_view(self, name: str) -> dict[str, Any]:
        record = self.operations[name]
        view: dict[str, Any] = {
            "name": name,
            "metadata": {"@type": SERVICE_TYPE, **record["service"]},
            "done": self.polls.get(name, 0) >= self.done_after_polls,
        }
        if view["done"]:
            key = "error" if "error" in record else "response"
            view[key] = record.get("error") or {"@type": SERVICE_TYPE, **record["service"]}
        return view
