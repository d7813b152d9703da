"""rollout/store/redis.py beyond the shared contract: URLs, key prefixes, expiry, the
connection options from settings, and errors that never show the password."""

from __future__ import annotations

import asyncio
import gc
import shutil
import subprocess
import time

import pytest
import redis

from gateway.aggregate import TargetSecond
from rollout.machine import RolloutState, Status
from rollout.settings import RolloutSettings
from rollout.store import StoreError, open_store, parse_store_url
from rollout.store.redis import RedisStore
from tests.support.redis_server import RedisServer, delete_prefix, redis_url, unique_prefix
from tests.support.servers import free_port

PASSWORD = "s3cret-Redis-pw"


@pytest.fixture
def url() -> str:
    return redis_url()


@pytest.fixture
def prefixes(url):
    made: list[str] = []

    def make() -> str:
        made.append(unique_prefix())
        return made[-1]

    yield make
    for prefix in made:
        delete_prefix(url, prefix)


@pytest.mark.parametrize(
    ("raw", "fields", "why"),
    [
        ("redis://127.0.0.1:6379/0", ("redis", "127.0.0.1", 6379, "0"), "the usual"),
        ("redis://cache/3", ("redis", "cache", None, "3"), "default port"),
        (f"rediss://:{PASSWORD}@10.0.0.3:6378/1", ("rediss", "10.0.0.3", 6378, "1"), "TLS"),
        ("redis://cache", ("redis", "cache", None, ""), "no db: 0"),
    ],
)
def test_redis_urls_parse(raw, fields, why):
    parsed = parse_store_url(raw)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.path) == fields, why
    assert PASSWORD not in str(parsed)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (f"redis://:{PASSWORD}@host:99999/0", "invalid port"),
        (f"redis://:{PASSWORD}@host:0/0", "invalid port"),
        (f"redis://:{PASSWORD}@host:abc/0", "invalid port"),
        (f"redis://:{PASSWORD}@host:6379/zero", "db number"),
        (f"rediss://:{PASSWORD}@host:6379/0/extra", "db number"),
        (f"redis://:{PASSWORD}@:6379/0", "needs a host"),
    ],
)
def test_a_bad_redis_url_names_the_problem_not_the_password(raw, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_store_url(raw)
    assert PASSWORD not in str(info.value)


def test_settings_options_reach_the_store(url, prefixes):
    prefix = prefixes()
    settings = RolloutSettings(
        store_url=url,
        store_prefix=prefix,
        store_command_timeout_seconds=1.5,
        store_connect_timeout_seconds=0.5,
    )
    store = open_store(settings.store_url, **settings.store_options(0.75))
    assert isinstance(store, RedisStore)
    assert (store.prefix, store.wait_seconds, store.command_timeout_seconds) == (prefix, 0.75, 1.5)
    store.close()


def test_prefixes_keep_rollouts_apart_on_one_redis(url, prefixes):
    a = RedisStore(parse_store_url(url), prefix=prefixes())
    b = RedisStore(parse_store_url(url), prefix=prefixes())
    a.compare_and_set(0, RolloutState(Status.PROGRESSING, 5, 0), [], 1.0)
    a.append_aggregates([TargetSecond(5, "canary", 1)])
    assert b.read().version == 0 and b.settled_series(0, 10) == []
    assert b.acquire_lease("b", 10, 0) and a.acquire_lease("a", 10, 0)
    a.close(), b.close()


def test_aggregates_expire_but_state_history_and_verdict_do_not(url, prefixes):
    prefix = prefixes()
    store = RedisStore(parse_store_url(url), prefix=prefix, aggregate_ttl_seconds=3600)
    store.compare_and_set(0, RolloutState(Status.PROGRESSING, 5, 0), [], 1.0)
    store.record_verdict({"verdict": "healthy"})
    store.append_aggregates([TargetSecond(5, "canary", 1)])
    store.settled_series(0, 3)
    store.append_aggregates([TargetSecond(1, "canary", 1)])  # late
    client = redis.Redis.from_url(url)
    ttl = {k.decode()[len(prefix) :]: client.pttl(k) for k in client.scan_iter(f"{prefix}*")}
    client.close()
    for name in ("agg:5:canary", "agg:index", "late:3:1:canary", "late:index"):
        assert 0 < ttl[name] <= 3600_000, name
    for name in ("state", "history", "verdict", "settled"):
        assert ttl.get(name, -1) == -1, name  # -1: no expiry
    store.close()


def test_a_wrong_password_is_an_auth_error_without_the_password():
    server = RedisServer(None, "--requirepass", "the-right-one").start()
    try:
        store = open_store(f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0")
        with pytest.raises(StoreError) as info:
            store.read()
        assert "auth" in str(info.value) and PASSWORD not in str(info.value)
        assert ":***@" in str(info.value)
        store.close()
        nopass = open_store(f"redis://127.0.0.1:{server.port}/0")
        with pytest.raises(StoreError, match="auth"):
            nopass.read()
        nopass.close()
    finally:
        server.kill()


@pytest.fixture
def tls_server(tmp_path):
    """A redis-server speaking only TLS, its certificate (for 127.0.0.1) signed by a test CA."""
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl not found: the TLS test makes its certificates with it")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "1", "-subj", "/CN=ion-test-ca")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=127.0.0.1")  # fmt: skip
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "1",
            "-extfile", "ext.cnf")  # fmt: skip
    port = free_port()
    server = RedisServer(port, "--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no",
                         "--tls-cert-file", str(tmp_path / "server.crt"),
                         "--tls-key-file", str(tmp_path / "server.key"),
                         "--tls-ca-cert-file", str(tmp_path / "ca.crt"))  # fmt: skip
    server.start()
    yield port, str(tmp_path / "ca.crt")
    server.kill()


def test_rediss_checks_the_certificate_against_the_configured_ca(tls_server):
    port, ca_file = tls_server
    settings = RolloutSettings(store_url=f"rediss://127.0.0.1:{port}/0", store_tls_ca_file=ca_file)
    store = open_store(settings.store_url, **settings.store_options(1.0))
    state = RolloutState(Status.PROGRESSING, 5, 0)
    assert store.compare_and_set(0, state, [], 1.0).version == 1
    assert store.read().state == state
    store.close()
    untrusted = open_store(f"rediss://127.0.0.1:{port}/0")  # the system's CAs: not ours
    with pytest.raises(StoreError, match="tls"):
        untrusted.read()
    untrusted.close()
    plain = open_store(f"redis://127.0.0.1:{port}/0", command_timeout_seconds=1.0)
    with pytest.raises(StoreError):  # plain text to a TLS port: refused, never a hang
        plain.read()
    plain.close()


@pytest.mark.parametrize("reader", ["task", "anext"])
def test_closing_the_feed_under_a_running_iteration_ends_it_and_leaks_no_connection(
    url, prefixes, reader
):
    """`aclose()` while another task is inside `changes()` waiting on Redis: the iteration ends
    and every connection is closed. A connection left open warns (ResourceWarning) when it is
    collected, which filterwarnings=error turns into this test's failure."""
    store = RedisStore(parse_store_url(url), prefix=prefixes())
    feed = store.change_feed()

    async def scenario(feed) -> object:
        if reader == "task":  # an `async for` in a task of its own (the push listener)
            task = asyncio.create_task(_collect(feed.changes()))
        else:  # one pending __anext__ (what wait_for(changes().__anext__()) leaves)
            task = asyncio.ensure_future(feed.changes().__anext__())
        deadline = time.monotonic() + 10
        while not feed.subscribed:  # the iteration holds a live subscription, mid-read
            assert time.monotonic() < deadline, "never subscribed"
            await asyncio.sleep(0.01)
        await feed.aclose()
        try:
            return await asyncio.wait_for(task, 5)
        except StopAsyncIteration:
            return "ended"

    try:
        assert asyncio.run(scenario(feed)) in ([], "ended")
        assert not feed.subscribed
        del feed
        gc.collect()  # a leaked connection warns here
    finally:
        store.close()


async def _collect(changes) -> list[int]:
    return [version async for version in changes]


@pytest.mark.parametrize(
    ("key", "value", "read"),
    [
        ("state", {"version": "3", "state": "{not json", "updated_at": "1.0"}, "read"),
        ("state", {"version": "3", "state": '{"status": "exploded"}', "updated_at": "1.0"}, "read"),
        ("verdict", "{not json", "last_verdict"),
        ("history", ["{not json"], "history"),
    ],
)
def test_a_value_this_store_did_not_write_reads_as_a_corrupt_store(url, prefixes, key, value, read):
    """Not a traceback: a StoreError of kind "corrupt", which the admin API answers with 503
    JSON and /readyz shows as the kind."""
    prefix = prefixes()
    client = redis.Redis.from_url(url)
    try:
        if isinstance(value, dict):
            client.hset(prefix + key, mapping=value)
        elif isinstance(value, list):
            client.rpush(prefix + key, *value)
        else:
            client.set(prefix + key, value)
    finally:
        client.close()
    store = open_store(url, prefix=prefix)
    try:
        with pytest.raises(StoreError) as info:
            getattr(store, read)()
        assert info.value.kind == "corrupt"
    finally:
        store.close()
