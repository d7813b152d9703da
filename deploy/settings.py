"""`DeploySettings`: everything `ion-deploy` needs, from `DEPLOY_*` variables and CLI flags.

One typed class validated before any API call, so a typo in a project id or a bad instance count
stops the command with the variable's name instead of a half-applied deployment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import Secret, ServiceSettings, load_settings
from deploy import store, vpc

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

    # The gateway's rollout store and the network to reach it (docs/deploy.md "Cloud Run with
    # Memorystore"): a secret reference, never the URL itself.
    gateway_store_url_secret: str = ""
    gateway_vpc_connector: str = ""
    gateway_vpc_network: str = ""
    gateway_vpc_subnetwork: str = ""
    gateway_vpc_egress: Literal["", "private-ranges-only", "all-traffic"] = ""
    gateway_store_without_vpc: bool = False

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

    @field_validator("gateway_store_url_secret")
    @classmethod
    def _secret_reference_shape(cls, value: str) -> str:
        if value and (problem := store.secret_ref_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("gateway_vpc_connector", "gateway_vpc_network", "gateway_vpc_subnetwork")
    @classmethod
    def _vpc_name_shape(cls, value: str, info: ValidationInfo) -> str:
        kind = str(info.field_name).removeprefix("gateway_vpc_")
        if problem := vpc.name_problem(kind, value, str(info.data.get("region", ""))):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _one_way_to_the_store(self) -> DeploySettings:
        """The store URL comes from the secret or from plain env, never both; plain env never
        carries a password (the messages never quote the URL)."""
        plain = self.gateway_env.get(store.STORE_ENV)
        if plain is not None and self.gateway_store_url_secret:
            raise ValueError(
                f"DEPLOY_GATEWAY_STORE_URL_SECRET and DEPLOY_GATEWAY_ENV's {store.STORE_ENV} are "
                f"both set; keep the secret and remove {store.STORE_ENV} from DEPLOY_GATEWAY_ENV"
            )
        if plain is not None and (problem := store.plain_url_problem(plain)):
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _one_gateway_on_a_local_store(self) -> DeploySettings:
        """Each gateway instance would keep its own SQLite rollout state (its own percent, in its
        own in-memory filesystem), so more than one needs the shared Redis store."""
        if self.gateway_max_instances > 1 and not self.gateway_store_is_shared:
            raise ValueError(
                f"DEPLOY_GATEWAY_MAX_INSTANCES={self.gateway_max_instances} needs a shared "
                "rollout store: with SQLite (the default) each gateway instance keeps its own "
                "rollout state in its in-memory filesystem, so the gateway runs as one instance. "
                "Use a Redis store (Memorystore): put its redis:// or rediss:// URL in a Secret "
                "Manager secret, name it in DEPLOY_GATEWAY_STORE_URL_SECRET and set "
                "DEPLOY_GATEWAY_VPC_CONNECTOR or DEPLOY_GATEWAY_VPC_NETWORK/_SUBNETWORK "
                '(docs/deploy.md, "Cloud Run with Memorystore")'
            )
        return self

    @model_validator(mode="after")
    def _one_way_into_the_vpc(self) -> DeploySettings:
        """A connector or Direct VPC egress, not both; a Redis store needs one of them."""
        direct = self.gateway_vpc_network or self.gateway_vpc_subnetwork
        if self.gateway_vpc_connector and direct:
            raise ValueError(
                "DEPLOY_GATEWAY_VPC_CONNECTOR (Serverless VPC Access) and DEPLOY_GATEWAY_VPC_"
                "NETWORK/_SUBNETWORK (Direct VPC egress) are two ways into the VPC; set one"
            )
        if self.gateway_vpc_egress and not self.gateway_uses_vpc:
            raise ValueError(
                "DEPLOY_GATEWAY_VPC_EGRESS needs DEPLOY_GATEWAY_VPC_CONNECTOR or "
                "DEPLOY_GATEWAY_VPC_NETWORK/_SUBNETWORK"
            )
        if self.gateway_store_without_vpc and not self.gateway_store_is_shared:
            raise ValueError(
                "DEPLOY_GATEWAY_STORE_WITHOUT_VPC is about a Redis store, and none is set "
                "(DEPLOY_GATEWAY_STORE_URL_SECRET)"
            )
        needs_vpc = self.gateway_store_is_shared and not self.gateway_store_without_vpc
        if needs_vpc and not self.gateway_uses_vpc:
            raise ValueError(
                "a Redis rollout store on Memorystore has only a private address: set "
                "DEPLOY_GATEWAY_VPC_CONNECTOR (Serverless VPC Access) or "
                "DEPLOY_GATEWAY_VPC_NETWORK/_SUBNETWORK (Direct VPC egress), or "
                "DEPLOY_GATEWAY_STORE_WITHOUT_VPC=true if the gateway reaches it without one"
            )
        return self

    @property
    def gateway_store_is_shared(self) -> bool:
        """A Redis store: from the secret (taken to hold a redis[s]:// URL) or plain env."""
        plain = self.gateway_env.get(store.STORE_ENV, "")
        return bool(self.gateway_store_url_secret) or store.is_shared(plain)

    @property
    def gateway_uses_vpc(self) -> bool:
        return bool(
            self.gateway_vpc_connector or self.gateway_vpc_network or self.gateway_vpc_subnetwork
        )

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
