"""`CanarySettings`: every knob of the canary, read from `CANARY_*` and validated at start.

A bad value stops the process with a message naming the variable (`common.settings.load_settings`)
instead of surfacing later as a confusing 500 in the middle of a rollout demo.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings, StrList, split_list
from legacy_service.ratelimit import DEFAULT_TRUSTED_PROXIES, parse_networks, parse_rate


class CanarySettings(ServiceSettings):
    """Canary configuration; the defaults reproduce the original service offline."""

    model_config = SettingsConfigDict(env_prefix="CANARY_")

    host: str = "127.0.0.1"
    port: int = Field(8082, ge=0, le=65535)
    log_level: str = "INFO"
    version: str = "1.0.0"

    rate_limit: str = "30/minute"
    trusted_proxies: StrList = DEFAULT_TRUSTED_PROXIES
    cors_origins: StrList = ("*",)
    max_body_bytes: int = Field(1_048_576, gt=0)
    admin_token: str | None = None

    gemini_api_key: str | None = None
    gemini_model: str = "gemini-2.0-flash"
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_timeout_s: float = Field(10.0, gt=0)

    fault_error_rate: float = Field(0.0, ge=0.0, le=1.0)
    fault_latency_ms: int = Field(0, ge=0)
    fault_jitter_ms: int = Field(0, ge=0)
    fault_invalid_response: bool = False
    fault_seed: int | None = None

    stream_chunk_chars: int = Field(12, gt=0)
    stream_chunk_delay_ms: int = Field(20, ge=0)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_shape(cls, value: str) -> str:
        parse_rate(value)
        return value.strip()

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        """JSON (`["a","b"]`) or comma-separated, as the legacy settings accept."""
        return split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(value)
        return value

    @field_validator("admin_token", "gemini_api_key")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("gemini_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")
