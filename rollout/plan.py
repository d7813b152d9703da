"""The rollout plan: which percents, and how long each must soak before it may advance.

Pure data. The last stage is always 100 % and has no soak: reaching it completes the rollout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rollout.settings imports the store, which imports the machine and this plan
    from rollout.settings import RolloutSettings


@dataclass(frozen=True, slots=True)
class Plan:
    stages: tuple[int, ...]
    soak_seconds: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.stages or self.stages[-1] != 100:
            raise ValueError("a plan's last stage must be 100")
        if len(self.soak_seconds) != len(self.stages) - 1:
            raise ValueError("a plan needs one soak per stage before the last")

    @classmethod
    def from_settings(cls, settings: RolloutSettings) -> Plan:
        return cls(tuple(settings.stages), tuple(settings.soak_seconds))

    @property
    def last_index(self) -> int:
        return len(self.stages) - 1

    def percent_at(self, index: int) -> int:
        return self.stages[index]

    def soak_at(self, index: int) -> float:
        """Minimum soak of stage `index`; the last stage never needs one."""
        return self.soak_seconds[index] if index < self.last_index else 0.0
