"""Store fixtures: `opener` makes store objects on one store (a new object = a new process or
a restart), parametrized over SQLite (a temp file) and a real Redis (its own key prefix,
deleted after the test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rollout.store import RolloutStore, open_store
from tests.support.redis_server import delete_prefix, redis_url, unique_prefix

Opener = Callable[..., RolloutStore]


@pytest.fixture(params=["sqlite", "redis"])
def opener(request, tmp_path) -> Iterator[Opener]:
    opened: list[RolloutStore] = []
    if request.param == "sqlite":
        url, options = f"sqlite:///{tmp_path}/rollout.db", {}
    else:
        url, options = redis_url(), {"prefix": unique_prefix()}

    def open_one(**extra: object) -> RolloutStore:
        store = open_store(url, **options, **extra)
        opened.append(store)
        return store

    open_one.kind = request.param  # type: ignore[attr-defined]
    yield open_one
    for store in opened:
        store.close()
    if request.param == "redis":
        delete_prefix(url, str(options["prefix"]))
