"""Thin shell around `run_v2.ServicesClient`: one call per verb, errors mapped at one boundary.

Every Google API exception becomes a `DeployError` whose message says what failed and what to do
about it; missing credentials become `CredentialsError` (exit code 2 in the CLI).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import google.auth
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.api_core.future.polling import DEFAULT_POLLING
from google.auth import exceptions as auth_exc
from google.cloud import run_v2

from deploy.resource import Observed, observe, to_service
from deploy.settings import DeploySettings
from deploy.spec import ServiceSpec

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
CREDENTIALS_HELP = (
    "no Google Cloud credentials found. Run `gcloud auth application-default login`, "
    "or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file "
    "(in CI: google-github-actions/auth with workload identity federation)."
)


class DeployError(RuntimeError):
    """A Cloud Run call failed; the message is meant for the operator as is."""


class CredentialsError(DeployError):
    """Application Default Credentials are missing or unusable."""


def _hint(exc: gexc.GoogleAPICallError) -> str:
    if isinstance(exc, gexc.Forbidden | gexc.Unauthorized):
        return (
            " Hint: the caller needs roles/run.admin on the project and "
            "roles/iam.serviceAccountUser on each runtime service account."
        )
    if isinstance(exc, gexc.NotFound):
        return (
            " Hint: check DEPLOY_PROJECT and DEPLOY_REGION, and that run.googleapis.com is enabled."
        )
    return ""


def _status(exc: gexc.GoogleAPICallError) -> str:
    status = exc.grpc_status_code or exc.code
    return getattr(status, "name", str(status))


def _message(exc: gexc.GoogleAPICallError) -> str:
    """The API's own words, without the `GET http://...: ` prefix the REST transport adds."""
    text = re.sub(r"^[A-Z]+ \S+: ", "", exc.message or "").strip()
    return text if text.endswith(".") else text + "."


@contextmanager
def api_errors(what: str) -> Iterator[None]:
    """Turn library exceptions raised while doing `what` into one readable DeployError."""
    try:
        yield
    except auth_exc.DefaultCredentialsError as exc:
        raise CredentialsError(CREDENTIALS_HELP) from exc
    except auth_exc.GoogleAuthError as exc:
        raise CredentialsError(f"{what}: credentials rejected: {exc}") from exc
    except gexc.GoogleAPICallError as exc:
        raise DeployError(f"{what} failed ({_status(exc)}): {_message(exc)}{_hint(exc)}") from exc
    except TimeoutError as exc:
        raise DeployError(f"{what} did not finish in time: {exc}") from exc


def make_client(settings: DeploySettings, credentials: Any = None) -> run_v2.ServicesClient:
    """A REST client on ADC (or `credentials`); `DEPLOY_API_ENDPOINT` points it elsewhere."""
    if credentials is None:
        with api_errors("loading credentials"):
            credentials, _ = google.auth.default(scopes=list(SCOPES))
    options = ClientOptions(api_endpoint=settings.api_endpoint) if settings.api_endpoint else None
    return run_v2.ServicesClient(credentials=credentials, transport="rest", client_options=options)


class CloudRun:
    """The services of one project/region, as `Observed` values."""

    def __init__(
        self,
        client: run_v2.ServicesClient,
        location: str,
        *,
        timeout_seconds: float = 600.0,
        poll_initial_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.location = location
        self.timeout_seconds = timeout_seconds
        self.polling = DEFAULT_POLLING.with_delay(initial=poll_initial_seconds, maximum=10.0)

    def name(self, service: str) -> str:
        return f"{self.location}/services/{service}"

    def get(self, service: str) -> Observed | None:
        """The deployed service, or None if it does not exist."""
        with api_errors(f"reading service {service}"):
            try:
                return observe(self.client.get_service(name=self.name(service)))
            except gexc.NotFound:
                return None

    def create(self, spec: ServiceSpec) -> Observed:
        request = run_v2.CreateServiceRequest(
            parent=self.location, service_id=spec.name, service=to_service(spec)
        )
        return self._wait(f"creating service {spec.name}", self.client.create_service, request)

    def update(self, spec: ServiceSpec) -> Observed:
        request = run_v2.UpdateServiceRequest(service=to_service(spec, self.name(spec.name)))
        return self._wait(f"updating service {spec.name}", self.client.update_service, request)

    def delete(self, service: str) -> None:
        request = run_v2.DeleteServiceRequest(name=self.name(service))
        self._wait(f"deleting service {service}", self.client.delete_service, request)

    def list(self) -> list[Observed]:
        with api_errors(f"listing services in {self.location}"):
            return [observe(s) for s in self.client.list_services(parent=self.location)]

    def _wait(self, what: str, call: Callable[..., Any], request: Any) -> Any:
        """Start a long-running operation and block until it is done (or fails, or times out)."""
        with api_errors(what):
            operation = call(request=request)
            service = operation.result(timeout=self.timeout_seconds, polling=self.polling)
            return observe(service) if isinstance(service, run_v2.Service) else service
