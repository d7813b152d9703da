"""`CanarySettings`: every knob of the canary, read from `CANARY_*` and validated at start.

A bad value stops the process with a message naming the variable (`common.settings.load_settings`)
instead of surfacing later as a confusing 500 in the middle of a rollout demo.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from common.settings import Secret
from legacy_service.settings import ApiServiceSettings


class CanarySettings(ApiServiceSettings):
    """Canary configuration; the defaults reproduce the original service offline. Listener,
    logs, rate limit, proxies, CORS and body limit: the legacy fields (`ApiServiceSettings`)."""

    model_config = SettingsConfigDict(env_prefix="CANARY_")

    port: int = Field(8082, ge=0, le=65535)
    version: str = "1.0.0"
    admin_token: Secret[str | None] = None

    gemini_api_key: Secret[str | None] = None
    gemini_model: str = "gemini-2.0-flash"
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_timeout_seconds: float = Field(10.0, gt=0)

    fault_error_rate: float = Field(0.0, ge=0.0, le=1.0)
    fault_latency_ms: int = Field(0, ge=0)
    fault_jitter_ms: int = Field(0, ge=0)
    fault_invalid_response: bool = False
    fault_seed: int | None = None

    stream_chunk_chars: int = Field(12, gt=0)
    stream_chunk_delay_ms: int = Field(20, ge=0)

    renamed: ClassVar[dict[str, str]] = {"gemini_timeout_s": "gemini_timeout_seconds"}

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
