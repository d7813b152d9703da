"""Which store a `ROLLOUT_STORE_URL` selects: one table keyed by URL scheme, the URL parsed once.

uvicorn's `HTTP_PROTOCOLS` habit: the table maps a scheme to an import string, so adding a store
is one more row and nothing imports an implementation it does not use. Every implementation
has a `from_url(url: StoreURL)` class method.

`StoreURL` is the parsed form that settings hold and stores open from. Its `str()` and `repr()`
never show a password (DESIGN.md "Cross-cutting": no secret in an error, a log line or `/readyz`).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from rollout.store.interface import StoreError

if TYPE_CHECKING:
    from rollout.store.interface import RolloutStore

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,19}")
STORE_SCHEMES: dict[str, str] = {
    "sqlite": "rollout.store.sqlite:SqliteStore",
    "redis": "rollout.store.redis:RedisStore",
    "rediss": "rollout.store.redis:RedisStore",  # TLS (Memorystore's in-transit encryption)
}
REDIS_SCHEMES = ("redis", "rediss")
_DB = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True, slots=True)
class StoreURL:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db`; `path` is the file (or resource).
    `redis://[user][:password@]host[:port]/db` (and `rediss://`): `path` is the db number."""

    scheme: str
    path: str
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.redacted

    @property
    def redacted(self) -> str:
        """The URL as it may be shown: the password, if any, as `***`."""
        if self.scheme == "sqlite":
            return f"sqlite:///{self.path}"
        auth = ""
        if self.username or self.password:
            auth = f"{self.username or ''}{':***' if self.password else ''}@"
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{auth}{self.host or ''}{port}/{self.path}"


def parse_store_url(raw: str | StoreURL) -> StoreURL:
    """Parse and check a store URL; ValueError names the problem (never the password)."""
    if isinstance(raw, StoreURL):
        return raw
    if not isinstance(raw, str):
        raise ValueError("must be a store URL string")
    scheme, sep, _ = raw.partition("://")
    if not sep or scheme not in STORE_SCHEMES:
        supported = ", ".join(f"{s}://" for s in STORE_SCHEMES)
        # Quote the scheme only when it is one: anything else may be the whole URL, password too.
        shown = repr(scheme) if sep and _SCHEME.fullmatch(scheme) else "(not a scheme://... URL)"
        raise ValueError(f"unsupported store scheme {shown}; use one of {supported}")
    if scheme == "sqlite":
        return _sqlite(raw)
    return _network(urlsplit(raw))


def _sqlite(raw: str) -> StoreURL:
    rest = raw.partition("://")[2]
    if not rest.startswith("/") or len(rest) < 2:
        raise ValueError("sqlite store URL must look like sqlite:///path/to/file.db")
    return StoreURL("sqlite", rest[1:])


def _network(parts: SplitResult) -> StoreURL:
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{parts.scheme} store URL has an invalid port") from None
    if port == 0:
        raise ValueError(f"{parts.scheme} store URL has an invalid port")
    if not parts.hostname:
        raise ValueError(f"{parts.scheme} store URL needs a host")
    path = parts.path.lstrip("/")
    if parts.scheme in REDIS_SCHEMES and path and not _DB.fullmatch(path):
        # Not echoed: a mistyped URL may have its secret in the wrong place.
        raise ValueError(f"{parts.scheme} store URL path must be a db number like /0")
    return StoreURL(parts.scheme, path, parts.hostname, port, parts.username, parts.password)


def open_store(url: str | StoreURL, **options: Any) -> RolloutStore:
    """Open the store `url` names; `options` go to the implementation's `from_url`."""
    try:
        parsed = parse_store_url(url)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    module_name, _, class_name = STORE_SCHEMES[parsed.scheme].partition(":")
    try:
        implementation = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise StoreError(f"store implementation for {parsed.scheme!r} unavailable: {exc}") from exc
    store: RolloutStore = implementation.from_url(parsed, **options)
    return store
