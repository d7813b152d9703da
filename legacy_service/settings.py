"""Configuration of the legacy service: every knob is a `LEGACY_*` environment variable.

Validated once at start: a bad value stops the process with a message naming the variable
(`common.settings.load_settings`). Lists accept JSON (`["a","b"]`) or a comma-separated string.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings, StrList, split_list
from legacy_service.ratelimit import DEFAULT_TRUSTED_PROXIES, RateRule, parse_networks, parse_rate

ENVIRONMENTS = ("development", "production", "staging", "test")
TEST_RATE_LIMIT = "1000/second"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ApiServiceSettings(ServiceSettings):
    """What the legacy service and the canary (the same image in the original) both configure:
    the listener, logs and the shared middleware stack. Subclasses set the env prefix and port."""

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    log_level: str = "INFO"
    rate_limit: str = "30/minute"
    trusted_proxies: StrList = DEFAULT_TRUSTED_PROXIES
    cors_origins: StrList = ("*",)
    max_body_bytes: int = Field(1_048_576, gt=0)

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(value)
        return value

    @field_validator("rate_limit")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate(value)
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _valid_level(cls, value: str) -> str:
        """Only the names uvicorn also knows: `WARN` or `NOTSET` would pass `logging` and then
        crash `uvicorn.run` after validation."""
        if value.upper() not in LOG_LEVELS:
            raise ValueError("log level must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @property
    def rate_rule(self) -> RateRule:
        return parse_rate(self.rate_limit)

    @property
    def trusted_networks(self):
        return parse_networks(self.trusted_proxies)


class LegacySettings(ApiServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LEGACY_")

    port: int = Field(8081, ge=1, le=65535)
    app_version: str = "1.0.0"
    environment: str = "development"
    model_backend: Literal["mock", "failing", "vertex"] = "mock"
    vertex_project_id: str = ""
    vertex_location: str = "us-central1"
    vertex_model: str = "gemini-1.5-flash-002"

    @field_validator("environment", mode="before")
    @classmethod
    def _normalise_environment(cls, value: Any) -> str:
        """Anything unknown is `development`, as the original normalised it (§1.1)."""
        text = str(value).strip().lower()
        return text if text in ENVIRONMENTS else "development"

    @model_validator(mode="after")
    def _test_rate(self) -> LegacySettings:
        """The original relaxed the limit to 1000/second under ENVIRONMENT=test (§1.6)."""
        if self.environment == "test" and "rate_limit" not in self.model_fields_set:
            object.__setattr__(self, "rate_limit", TEST_RATE_LIMIT)
        return self
