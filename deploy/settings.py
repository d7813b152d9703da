"""`DeploySettings`: everything `ion-deploy` needs, from `DEPLOY_*` variables and CLI flags.

One typed class validated before any API call, so a typo in a project id or a bad instance count
stops the command with the variable's name instead of a half-applied deployment.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import Secret, ServiceSettings, load_settings

GMP_SIDECAR_IMAGE = (
    "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.2.0"
)
"""Managed Service for Prometheus collector for Cloud Run, pinned so plans stay stable."""


class DeploySettings(ServiceSettings):
    """Desired deployment: where (project, region), what (images), and how (sizing, secrets)."""

    model_config = SettingsConfigDict(env_prefix="DEPLOY_", extra="ignore", frozen=True)

    project: str = ""
    region: str = "us-central1"
    registry: str = ""
    image_tag: str = "latest"
    gateway_image: str = ""
    legacy_image: str = ""
    canary_image: str = ""

    gateway_service: str = "ion-gateway"
    legacy_service: str = "ion-api"
    canary_service: str = "ion-api-canary"
    gateway_service_account: str = ""
    legacy_service_account: str = ""
    canary_service_account: str = ""

    memory: str = "512Mi"
    cpu: str = "1"
    concurrency: int = Field(80, ge=1, le=1000)
    timeout_seconds: int = Field(300, ge=1, le=3600)
    gateway_min_instances: int = Field(1, ge=0)
    gateway_max_instances: int = Field(1, ge=1)
    legacy_min_instances: int = Field(0, ge=0)
    legacy_max_instances: int = Field(10, ge=1)
    canary_min_instances: int = Field(1, ge=0)
    canary_max_instances: int = Field(5, ge=1)

    gateway_admin_token_secret: str = "ion-gateway-admin-token"
    canary_admin_token_secret: str = "ion-canary-admin-token"
    gemini_api_key_secret: str = "ion-gemini-api-key"
    secret_version: str = "latest"
    # Extra environment per service: may carry a store password or a webhook key, so secret.
    gateway_env: Secret[dict[str, str]] = Field(default_factory=dict)
    legacy_env: Secret[dict[str, str]] = Field(default_factory=dict)
    canary_env: Secret[dict[str, str]] = Field(default_factory=dict)

    gmp_sidecar: bool = True
    gmp_sidecar_image: str = GMP_SIDECAR_IMAGE
    gmp_config_secret: str = ""

    gateway_url: str = ""
    gateway_admin_token: Secret[str] = ""
    api_endpoint: str = ""
    operation_timeout_seconds: float = Field(600.0, gt=0)

    @field_validator("project")
    @classmethod
    def _project_id_shape(cls, value: str) -> str:
        if value and not (6 <= len(value) <= 30 and value.replace("-", "").isalnum()):
            raise ValueError("a Google Cloud project id is 6-30 letters, digits or hyphens")
        return value.lower()

    @model_validator(mode="after")
    def _min_not_above_max(self) -> DeploySettings:
        for svc in ("gateway", "legacy", "canary"):
            low, high = getattr(self, f"{svc}_min_instances"), getattr(self, f"{svc}_max_instances")
            if low > high:
                raise ValueError(f"{svc}_min_instances {low} > {svc}_max_instances {high}")
        return self

    @model_validator(mode="after")
    def _one_gateway_on_a_local_store(self) -> DeploySettings:
        """Each gateway instance would keep its own SQLite rollout state (its own percent), so
        more than one needs a shared store named in `DEPLOY_GATEWAY_ENV`'s ROLLOUT_STORE_URL."""
        store = self.gateway_env.get("ROLLOUT_STORE_URL", "sqlite:")
        if self.gateway_max_instances > 1 and store.startswith("sqlite:"):
            raise ValueError(
                "gateway_max_instances > 1 needs a shared rollout store; with the SQLite store "
                "(the default) the gateway runs as one instance"
            )
        return self

    @property
    def location(self) -> str:
        """The API parent of every service: `projects/<p>/locations/<r>`."""
        return f"projects/{self.project}/locations/{self.region}"

    def image(self, role: str) -> str:
        """The image for `role`: explicit, else `<registry>/<role>:<tag>` (Artifact Registry)."""
        explicit = getattr(self, f"{role}_image")
        if explicit:
            return explicit
        registry = self.registry or (
            f"{self.region}-docker.pkg.dev/{self.project}/ion-canary" if self.project else ""
        )
        return f"{registry}/{role}:{self.image_tag}" if registry else ""

    def service_account(self, role: str) -> str:
        """One runtime identity per service (`<service>-runner@<project>`), unless overridden."""
        explicit = getattr(self, f"{role}_service_account")
        if explicit or not self.project:
            return explicit
        name = getattr(self, f"{role}_service")
        return f"{name}-runner@{self.project}.iam.gserviceaccount.com"


def load_deploy_settings(**overrides: object) -> DeploySettings:
    """`load_settings(DeploySettings)`: a non-JSON map variable (`DEPLOY_GATEWAY_ENV`) is already
    reported there by its variable name, like every other bad value."""
    return load_settings(DeploySettings, **overrides)
