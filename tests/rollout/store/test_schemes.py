"""rollout/store/schemes.py: parsing a store URL once, and never showing its password."""

from __future__ import annotations

import pytest

from rollout.store import StoreError, open_store
from rollout.store.schemes import StoreURL, parse_store_url

PASSWORD = "hunter2-Zq9"


@pytest.mark.parametrize(
    ("raw", "path", "why"),
    [
        ("sqlite:///ion-rollout.db", "ion-rollout.db", "three slashes: relative to the cwd"),
        ("sqlite:////abs/dir/x.db", "/abs/dir/x.db", "four slashes: absolute"),
        ("sqlite:///.run/rollout.db", ".run/rollout.db", "make run's store"),
    ],
)
def test_sqlite_urls_name_a_file(raw, path, why):
    url = parse_store_url(raw)
    assert (url.scheme, url.path) == ("sqlite", path), why
    assert str(url) == raw


@pytest.mark.parametrize(
    ("raw", "message", "why"),
    [
        ("ion.db", "(not a scheme://... URL)", "a bare path is not quoted back"),
        (f"redis//:{PASSWORD}@host", "(not a scheme://... URL)", "a typo'd URL keeps its secret"),
        (f"{PASSWORD}://host", "(not a scheme://... URL)", "not a scheme: may be anything"),
        ("postgres://db/x", "'postgres'", "a real scheme is named"),
        ("sqlite://relative.db", "sqlite store URL must look like", "two slashes"),
        ("sqlite:///", "sqlite store URL must look like", "no file"),
    ],
)
def test_a_bad_url_is_explained_without_echoing_it(raw, message, why):
    with pytest.raises(ValueError) as info:
        parse_store_url(raw)
    assert message in str(info.value), why
    assert PASSWORD not in str(info.value)


def test_a_non_string_is_refused_as_a_value_error():
    with pytest.raises(ValueError, match="must be a store URL string"):
        parse_store_url(42)  # type: ignore[arg-type]


def test_a_parsed_url_passes_through():
    url = parse_store_url("sqlite:///x.db")
    assert parse_store_url(url) is url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (StoreURL("redis", "0", "db", 6379, None, PASSWORD), "redis://:***@db:6379/0"),
        (StoreURL("rediss", "", "db", None, "app", PASSWORD), "rediss://app:***@db/"),
        (StoreURL("redis", "2", "db", 6380, "app", None), "redis://app@db:6380/2"),
    ],
)
def test_str_and_repr_never_show_the_password(url, shown):
    assert str(url) == url.redacted == shown
    assert PASSWORD not in repr(url) and PASSWORD not in f"{url}"


def test_open_store_turns_a_bad_url_into_a_store_error_without_the_password():
    with pytest.raises(StoreError) as info:
        open_store(f"redis//:{PASSWORD}@host")
    assert PASSWORD not in str(info.value)
