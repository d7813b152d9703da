"""The rollout store: the interface every gateway process and the controller share
(`interface`), the table of implementations by URL scheme (`schemes`), and one module per
implementation (`sqlite`)."""

from rollout.store.interface import (
    ChangeFeed,
    Conflict,
    HistoryEntry,
    LateRow,
    RolloutStore,
    StoreBusy,
    StoredState,
    StoreError,
)
from rollout.store.schemes import STORE_SCHEMES, StoreURL, open_store, parse_store_url

__all__ = [
    "STORE_SCHEMES",
    "ChangeFeed",
    "Conflict",
    "HistoryEntry",
    "LateRow",
    "RolloutStore",
    "StoreBusy",
    "StoreError",
    "StoreURL",
    "StoredState",
    "open_store",
    "parse_store_url",
]
