"""`RolloutSettings` (env prefix `ROLLOUT_`): the plan, the judge, store and timings.

`ROLLOUT_PROFILE=demo` swaps in second-scale defaults (5 s soaks, late-onset starts weighted for
minutes rather than hours) so the whole rollout and an automatic rollback can be watched in a
minute; any variable set explicitly still wins over the profile. The judge itself is the same
in both profiles, with the same false-rollback budget. Rates are fractions (0.05 = 5 %),
latencies are ms. docs/judge.md explains every judge setting.
"""

from __future__ import annotations

import itertools
import os
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from common.settings import Secret, ServiceSettings, split_list
from rollout.store.schemes import StoreURL, parse_store_url

HOUR = 3600

DEMO_DEFAULTS: dict[str, Any] = {
    "soak_seconds": [5, 5, 5, 5],
    "late_onset_scale_seconds": 60.0,
    "warn_repeat_seconds": 30.0,
}


_WINDOWLESS = "the sequential judge (docs/judge.md) replaced the per-window thresholds"


class RolloutSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLOUT_", extra="ignore", frozen=True)

    retired: ClassVar[dict[str, str]] = {
        "warn_error_rate": _WINDOWLESS + "; a warning is evidence half-way to a breach",
        "warn_p95_ms": _WINDOWLESS + "; a warning is evidence half-way to a breach",
        "warn_success_rate": _WINDOWLESS + "; a warning is evidence half-way to a breach",
        "target_error_rate": _WINDOWLESS + "; healthy means certified within ROLLOUT_TOLERANCE",
        "target_p95_ms": _WINDOWLESS + "; healthy means certified within ROLLOUT_TOLERANCE",
        "target_success_rate": _WINDOWLESS + "; healthy means certified within ROLLOUT_TOLERANCE",
        "min_samples": _WINDOWLESS + "; it needs no minimum sample",
        "check_interval_seconds": "the controller judges every ROLLOUT_FLUSH_INTERVAL_SECONDS",
    }

    store_url: Secret[Annotated[StoreURL, NoDecode, BeforeValidator(parse_store_url)]] = (
        "sqlite:///ion-rollout.db"  # type: ignore[assignment]
    )
    profile: Literal["default", "demo"] = "default"
    stages: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [5, 10, 25, 50, 100])
    soak_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [24.0 * HOUR, 24.0 * HOUR, 48.0 * HOUR, 72.0 * HOUR]
    )

    # The judge (rollout.judge; docs/judge.md).
    alpha: float = Field(0.001, gt=0, lt=0.5)  # false-rollback budget of one whole rollout
    healthy_alpha: float = Field(0.01, gt=0, lt=0.5)  # risk of certifying a worse canary
    tolerance: float = Field(1.5, gt=1)  # "healthy": canary/baseline ratio certified below it
    min_effect: float = Field(2.0, ge=1.2)  # the ratio "needed" samples are computed for
    negligible_rate: float = Field(0.001, gt=0, lt=0.05)  # below it a metric needs no ratio
    slow_ms: float | None = Field(None, gt=0)  # slow-request line; unset: the baseline's P95
    slow_floor_ms: float = Field(50.0, ge=0)  # ... but never below this (sub-floor: not slow)
    settle_seconds: float = Field(1.5, ge=0)  # a second is judged once this long has passed
    late_onset_scale_seconds: float = Field(6 * HOUR, gt=0)  # see judge.sequential
    # The runbook's absolute guards, tested sequentially on the canary (and the baseline).
    breach_error_rate: float = Field(0.05, gt=0, lt=1)
    breach_p95_ms: float = Field(20_000, gt=0)
    breach_success_rate: float = Field(0.90, gt=0, lt=1)
    # Windows of the Cloud Monitoring alerts that back the judge up (deploy/monitoring/alerts
    # mirror them); the judge itself has no windows.
    error_window_seconds: int = Field(300, gt=0)
    p95_window_seconds: int = Field(600, gt=0)
    success_window_seconds: int = Field(300, gt=0)

    breach_action: Literal["rollback", "pause", "step_back"] = "rollback"
    # Canary and baseline both past an absolute guard: not the canary's fault.
    shared_breach_action: Literal["rollback", "pause", "step_back"] = "pause"
    warn_repeat_seconds: float = Field(300.0, gt=0)  # a warning is notified at most this often
    auto_advance: bool = False
    webhook_url: Secret[str | None] = None  # chat webhooks carry their key in the URL
    webhook_timeout_seconds: float = Field(5.0, gt=0)
    webhook_retries: int = Field(3, ge=0, le=10)
    poll_interval_seconds: float = Field(0.5, gt=0, le=0.5)
    flush_interval_seconds: float = Field(1.0, gt=0)
    lease_ttl_seconds: float = Field(15.0, gt=0)
    retention_seconds: int = Field(2 * HOUR, gt=0)
    # Aggregates the store has not taken (it is down) are kept this long in memory, then the
    # oldest are dropped and counted (rollout.buffer).
    buffer_seconds: int = Field(900, gt=0, le=24 * HOUR)

    # Waiting for the store (another writer's lock). Operators' verbs wait briefly, then answer
    # 503 `store_busy`; the background loops (poller, flusher, pruner, controller) share one
    # connection per process and retry on their next tick anyway, so they wait about a tick,
    # never long enough to starve the poller behind a blocked flush. A state read slower than
    # `store_slow_read_seconds` shows as `store: "slow"` in /readyz.
    admin_store_wait_seconds: float = Field(2.0, gt=0, le=30)
    store_wait_seconds: float = Field(1.0, gt=0, le=30)
    store_slow_read_seconds: float = Field(0.5, gt=0)
    # Network stores (Redis; docs/stores.md). Several rollouts or environments share one Redis
    # under different prefixes. Every call gives up after the connect/command timeout (a
    # `StoreError`: fail-static), so nothing waits on a Redis that is down or cut off.
    store_prefix: str = Field("ion-canary:", min_length=1, max_length=100, pattern=r"^[^\s]+$")
    store_connect_timeout_seconds: float = Field(2.0, gt=0, le=30)
    store_command_timeout_seconds: float = Field(2.0, gt=0, le=30)
    # `rediss://` checks the server's certificate against the system's CAs, or this PEM file
    # (Memorystore's in-transit encryption signs with its own CA: download it per instance).
    store_tls_ca_file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, data: Any) -> Any:
        """Fill demo defaults for whatever was not set explicitly (env or keyword)."""
        if isinstance(data, dict) and data.get("profile") == "demo":
            return {**DEMO_DEFAULTS, **data}
        return data

    @field_validator("store_tls_ca_file")
    @classmethod
    def _check_ca_file(cls, path: str | None) -> str | None:
        if path is not None and not os.path.isfile(path):
            raise ValueError("must name a readable PEM file of CA certificates")
        return path

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

    def store_options(self, wait_seconds: float) -> dict[str, Any]:
        """Keyword arguments for `open_store(self.store_url, **...)`, the one place they are
        made. Every implementation's `from_url` takes them all and ignores what does not apply
        (SQLite has no prefix or network). Aggregate keys (Redis) outlive the longest window
        plus the retention and the whole plan's soaks, so a rollout's rows outlast it even
        when `prune` cannot run; `prune` stays the retention. An applied aggregate batch id
        is remembered for the buffer bound plus an hour: the flusher resends a batch only
        while its rows are within the bound, so a resend always finds its id."""
        windows = max(self.error_window_seconds, self.p95_window_seconds)
        windows = max(windows, self.success_window_seconds)
        return {
            "wait_seconds": wait_seconds,
            "prefix": self.store_prefix,
            "connect_timeout_seconds": self.store_connect_timeout_seconds,
            "command_timeout_seconds": self.store_command_timeout_seconds,
            "tls_ca_file": self.store_tls_ca_file,
            "aggregate_ttl_seconds": windows + self.retention_seconds + sum(self.soak_seconds),
            "batch_ttl_seconds": self.buffer_seconds + HOUR,
        }

    @property
    def sqlite_path(self) -> str:
        """`sqlite:///ion-rollout.db` -> `ion-rollout.db`; `sqlite:////abs/x.db` -> `/abs/x.db`."""
        return self.store_url.path
