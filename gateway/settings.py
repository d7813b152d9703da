"""Gateway settings: one typed object, env prefix `GATEWAY_`, validated at start-up.

Lists and maps may be given as JSON (`GATEWAY_ALLOW_USERS='["alice","bob"]'`) or, for lists, as a
comma-separated string (`GATEWAY_ALLOW_USERS=alice,bob`).

Where the live percent comes from (`GATEWAY_PERCENT_SOURCE`): `store` (the default) reads it from
the rollout store, where operators and the controller change it; `static` routes the fixed
`GATEWAY_CANARY_PERCENT`. Setting `GATEWAY_CANARY_PERCENT` while the source is `store` is refused
at start-up (exit 2, the message names both variables) rather than ignored, and rather than
switching the source by itself: a percent left over in an environment must not silently turn
off the rollout store, its controller and the admin API that an emergency rollback needs.

Durations end in `_seconds` (`GATEWAY_READ_TIMEOUT_SECONDS`); the old `_S` names still work for
one release, with a warning at start-up (`renamed`, see `common.settings`).
"""

from __future__ import annotations

import hmac
from typing import Annotated, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from common.settings import Secret, ServiceSettings, split_list
from gateway.routing import Target

IDENTITY_SOURCES = ("header", "query", "body")


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    log_level: str = "INFO"
    access_log: bool = True

    legacy_url: str = "http://127.0.0.1:8081"
    canary_url: str = "http://127.0.0.1:8082"
    legacy_health_path: str = "/health"
    canary_health_path: str = "/health"

    # Routing (DESIGN.md "Routing"). `store`: the live percent comes from the rollout store
    # (ROLLOUT_STORE_URL) and operators change it; `static`: GATEWAY_CANARY_PERCENT, fixed.
    percent_source: Literal["store", "static"] = "store"
    run_controller: bool = True  # compete for the controller lease in this process
    canary_percent: int = Field(0, ge=0, le=100)
    salt: str | None = Field(None, max_length=128)
    hash_variant: Literal["prefix8", "full"] = "prefix8"
    # Which hash-routed legacy buckets form the judge's `baseline` series (gateway.routing).
    baseline_buckets: Literal["all", "same_size"] = "all"
    identity_sources: Annotated[tuple[str, ...], NoDecode] = IDENTITY_SOURCES
    user_id_header: str = "x-user-id"
    user_id_max_length: int = Field(128, ge=1, le=4096)
    allow_users: Annotated[frozenset[str], NoDecode] = frozenset()
    deny_users: Annotated[frozenset[str], NoDecode] = frozenset()
    force_header_enabled: bool = False
    force_header: str = "x-canary-force"
    pinned_paths: dict[str, Target] = Field(default_factory=dict)

    # Proxying.
    target_header_enabled: bool = True
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=0)
    connect_timeout_seconds: float = Field(2.0, gt=0)
    read_timeout_seconds: float = Field(60.0, gt=0)
    legacy_read_timeout_seconds: float | None = Field(None, gt=0)
    canary_read_timeout_seconds: float | None = Field(None, gt=0)
    pool_size: int = Field(256, ge=1, le=10000)
    upstream_keepalive_seconds: float = Field(4.0, gt=0)
    retry_on_5xx_paths: Annotated[tuple[str, ...], NoDecode] = ()
    readiness_timeout_seconds: float = Field(2.0, gt=0)

    # Connections (gateway/server.py): what a client may cost before its request is read.
    max_header_line_bytes: int = Field(8 * 1024, ge=256)
    max_head_bytes: int = Field(32 * 1024, ge=1024)
    max_headers: int = Field(100, ge=1)
    header_timeout_seconds: float = Field(10.0, gt=0)
    max_connections: int = Field(1000, ge=1)

    # Admin roles (DESIGN.md "Cross-cutting"): the operator acts, the viewer only reads. The
    # dashboard's session cookies are signed with a key derived from both tokens (every process
    # derives the same one), unless `session_key` overrides it; see docs/dashboard.md.
    admin_token: Secret[str | None] = None
    viewer_token: Secret[str | None] = None
    session_key: Secret[str | None] = None
    session_ttl_seconds: float = Field(8 * 3600, ge=60, le=7 * 24 * 3600)

    renamed: ClassVar[dict[str, str]] = {
        "connect_timeout_s": "connect_timeout_seconds",
        "read_timeout_s": "read_timeout_seconds",
        "legacy_read_timeout_s": "legacy_read_timeout_seconds",
        "canary_read_timeout_s": "canary_read_timeout_seconds",
        "upstream_keepalive_s": "upstream_keepalive_seconds",
        "readiness_timeout_s": "readiness_timeout_seconds",
    }

    @field_validator(
        "identity_sources", "allow_users", "deny_users", "retry_on_5xx_paths", mode="before"
    )
    @classmethod
    def _lists(cls, value: object) -> object:
        return split_list(value)

    @field_validator("identity_sources")
    @classmethod
    def _known_sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in IDENTITY_SOURCES]
        if unknown:
            raise ValueError(f"unknown identity source(s) {unknown}; use {list(IDENTITY_SOURCES)}")
        return value

    @field_validator("legacy_url", "canary_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("user_id_header", "force_header")
    @classmethod
    def _lower_header(cls, value: str) -> str:
        if not value or any(c in value for c in " :\r\n"):
            raise ValueError("must be a header name")
        return value.lower()

    @field_validator("pinned_paths")
    @classmethod
    def _paths_absolute(cls, value: dict[str, Target]) -> dict[str, Target]:
        bad = [p for p in value if not p.startswith("/")]
        if bad:
            raise ValueError(f"pinned paths must start with '/': {bad}")
        return value

    @field_validator("admin_token", "viewer_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None and len(value.strip()) < 8:
            raise ValueError("admin token must be at least 8 characters (unset it to disable)")
        return value.strip() if value else None

    @field_validator("session_key")
    @classmethod
    def _session_key(cls, value: str | None) -> str | None:
        if value is not None and len(value.strip()) < 32:
            raise ValueError("session key must be at least 32 characters (unset it to derive one)")
        return value.strip() if value else None

    @model_validator(mode="after")
    def _roles_apart(self) -> GatewaySettings:
        """A model-level check, so the error names both variables and echoes neither value."""
        if self.viewer_token is None:
            return self
        if self.admin_token is None:
            raise ValueError(
                "GATEWAY_VIEWER_TOKEN is set but GATEWAY_ADMIN_TOKEN is not: the admin API "
                "(and with it the viewer role) is off without an operator token"
            )
        if hmac.compare_digest(self.viewer_token.encode(), self.admin_token.encode()):
            raise ValueError("GATEWAY_VIEWER_TOKEN must differ from GATEWAY_ADMIN_TOKEN")
        return self

    @field_validator("deny_users")
    @classmethod
    def _lists_disjoint(cls, value: frozenset[str], info: ValidationInfo) -> frozenset[str]:
        both = value & info.data.get("allow_users", frozenset())
        if both:
            raise ValueError(f"users on both GATEWAY_ALLOW_USERS and this list: {sorted(both)}")
        return value

    @field_validator("max_head_bytes")
    @classmethod
    def _head_holds_a_line(cls, value: int, info: ValidationInfo) -> int:
        line = info.data.get("max_header_line_bytes")
        if line is not None and value < line:
            raise ValueError(f"must be at least GATEWAY_MAX_HEADER_LINE_BYTES ({line})")
        return value

    @model_validator(mode="after")
    def _percent_needs_static_source(self) -> GatewaySettings:
        """See the module docstring: a percent the store would ignore stops start-up."""
        if self.percent_source == "store" and "canary_percent" in self.model_fields_set:
            raise ValueError(
                "GATEWAY_CANARY_PERCENT is only used with GATEWAY_PERCENT_SOURCE=static; "
                "set GATEWAY_PERCENT_SOURCE=static to route a fixed percent, or unset "
                "GATEWAY_CANARY_PERCENT to take the percent from the rollout store "
                "(GATEWAY_PERCENT_SOURCE=store, the default; change it with ion-rollout)"
            )
        return self

    def read_timeout_for(self, target: Target) -> float:
        canary = target == Target.CANARY
        specific = self.canary_read_timeout_seconds if canary else self.legacy_read_timeout_seconds
        return specific or self.read_timeout_seconds
