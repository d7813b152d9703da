"""`RolloutSettings` (env prefix `ROLLOUT_`): the plan, the policy thresholds, store and timings.

`ROLLOUT_PROFILE=demo` swaps in second-scale defaults (short soaks, 30 s windows, small minimum
samples) so the whole rollout and an automatic rollback can be watched in a minute; any variable
set explicitly still wins over the profile. Rates are fractions (0.05 = 5 %), latencies are ms.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from common.settings import Secret, ServiceSettings, split_list
from rollout.store.schemes import StoreURL, parse_store_url

HOUR = 3600

DEMO_DEFAULTS: dict[str, Any] = {
    "soak_seconds": [5, 5, 5, 5],
    "error_window_seconds": 30,
    "p95_window_seconds": 30,
    "success_window_seconds": 30,
    "min_samples": 10,
    "check_interval_seconds": 1.0,
}


class RolloutSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLOUT_", extra="ignore", frozen=True)

    store_url: Secret[Annotated[StoreURL, NoDecode, BeforeValidator(parse_store_url)]] = (
        "sqlite:///ion-rollout.db"  # type: ignore[assignment]
    )
    profile: Literal["default", "demo"] = "default"
    stages: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [5, 10, 25, 50, 100])
    soak_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [24.0 * HOUR, 24.0 * HOUR, 48.0 * HOUR, 72.0 * HOUR]
    )

    breach_error_rate: float = Field(0.05, gt=0, le=1)
    warn_error_rate: float = Field(0.02, gt=0, le=1)
    target_error_rate: float = Field(0.01, gt=0, le=1)
    error_window_seconds: int = Field(300, gt=0)
    breach_p95_ms: float = Field(20_000, gt=0)
    warn_p95_ms: float = Field(17_000, gt=0)
    target_p95_ms: float = Field(15_000, gt=0)
    p95_window_seconds: int = Field(600, gt=0)
    breach_success_rate: float = Field(0.90, ge=0, lt=1)
    warn_success_rate: float = Field(0.93, ge=0, lt=1)
    target_success_rate: float = Field(0.95, ge=0, lt=1)
    success_window_seconds: int = Field(300, gt=0)
    min_samples: int = Field(50, ge=1)

    check_interval_seconds: float = Field(5.0, gt=0)
    breach_action: Literal["rollback", "pause", "step_back"] = "rollback"
    auto_advance: bool = False
    webhook_url: Secret[str | None] = None  # chat webhooks carry their key in the URL
    webhook_timeout_seconds: float = Field(5.0, gt=0)
    webhook_retries: int = Field(3, ge=0, le=10)
    poll_interval_seconds: float = Field(0.5, gt=0, le=0.5)
    flush_interval_seconds: float = Field(1.0, gt=0)
    lease_ttl_seconds: float = Field(15.0, gt=0)
    retention_seconds: int = Field(2 * HOUR, gt=0)

    # Waiting for the store (another writer's lock). Operators' verbs wait briefly, then answer
    # 503 `store_busy`; the background loops (poller, flusher, pruner, controller) share one
    # connection per process and retry on their next tick anyway, so they wait about a tick,
    # never long enough to starve the poller behind a blocked flush. A state read slower than
    # `store_slow_read_seconds` shows as `store: "slow"` in /readyz.
    admin_store_wait_seconds: float = Field(2.0, gt=0, le=30)
    store_wait_seconds: float = Field(1.0, gt=0, le=30)
    store_slow_read_seconds: float = Field(0.5, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, data: Any) -> Any:
        """Fill demo defaults for whatever was not set explicitly (env or keyword)."""
        if isinstance(data, dict) and data.get("profile") == "demo":
            return {**DEMO_DEFAULTS, **data}
        return data

    @field_validator("stages", "soak_seconds", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        """Accept `5,10,25` or `[5, 10, 25]` from the environment; lists pass through."""
        return split_list(value)

    @field_validator("stages")
    @classmethod
    def _check_stages(cls, stages: list[int]) -> list[int]:
        if not stages or any(not 1 <= s <= 100 for s in stages):
            raise ValueError("stages must be percents within 1..100")
        if any(b <= a for a, b in itertools.pairwise(stages)):
            raise ValueError("stages must be strictly increasing")
        if stages[-1] != 100:
            raise ValueError("the last stage must be 100")
        return stages

    @field_validator("soak_seconds")
    @classmethod
    def _check_soak(cls, soak: list[float]) -> list[float]:
        if any(s < 0 for s in soak):
            raise ValueError("soak seconds must be >= 0")
        return soak

    @field_validator("soak_seconds")
    @classmethod
    def _check_soak_length(cls, soak: list[float], info: ValidationInfo) -> list[float]:
        stages = info.data.get("stages")
        if stages is not None and len(soak) != len(stages) - 1:
            raise ValueError(f"needs {len(stages) - 1} values, one per stage before the last")
        return soak

    @field_validator("warn_error_rate", "warn_p95_ms")
    @classmethod
    def _warn_below_breach(cls, value: float, info: ValidationInfo) -> float:
        breach = info.data.get(str(info.field_name).replace("warn_", "breach_"))
        if breach is not None and value > breach:
            raise ValueError(f"must not exceed the breach threshold {breach}")
        return value

    @field_validator("warn_success_rate")
    @classmethod
    def _warn_above_breach(cls, value: float, info: ValidationInfo) -> float:
        breach = info.data.get("breach_success_rate")
        if breach is not None and value < breach:
            raise ValueError(f"must not be below the breach threshold {breach}")
        return value

    @property
    def sqlite_path(self) -> str:
        """`sqlite:///ion-rollout.db` -> `ion-rollout.db`; `sqlite:////abs/x.db` -> `/abs/x.db`."""
        return self.store_url.path
