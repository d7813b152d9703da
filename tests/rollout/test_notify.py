"""rollout/notify.py with respx: delivered, retried after 500, timeout, never raises."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from rollout.notify import NullNotifier, WebhookNotifier, build_notifier, render
from rollout.settings import RolloutSettings

HOOK = "https://hooks.slack.test/services/T000/B000/XXX"
PAYLOAD = {"state": "rolled_back", "percent": 0, "reason": "breach: error_rate 0.2 > 0.05"}


def notifier(**kw) -> WebhookNotifier:
    return WebhookNotifier(HOOK, timeout_seconds=0.5, retries=2, backoff_seconds=0, **kw)


@pytest.mark.anyio
@respx.mock
async def test_delivers_slack_text_and_blocks():
    route = respx.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    n = notifier()
    n.notify("rollback", PAYLOAD)
    await n.drain()
    await n.aclose()
    body = json.loads(route.calls.last.request.content)
    assert body["text"].startswith(":rotating_light: ion-canary rollout: rollback")
    assert "rolled_back at 0%" in body["text"] and "error_rate 0.2 > 0.05" in body["text"]
    assert body["blocks"][1]["fields"][0] == {"type": "mrkdwn", "text": "*state*\nrolled_back"}


@pytest.mark.anyio
@respx.mock
async def test_retries_after_a_500():
    route = respx.post(HOOK).mock(
        side_effect=[httpx.Response(500), httpx.Response(503), httpx.Response(200)]
    )
    n = notifier()
    assert await n.send(render("warn", PAYLOAD)) is True
    assert route.call_count == 3
    await n.aclose()


@pytest.mark.anyio
@respx.mock
async def test_gives_up_after_timeouts_without_raising():
    route = respx.post(HOOK).mock(side_effect=httpx.ReadTimeout("slow slack"))
    n = notifier()
    n.notify("advance", PAYLOAD)
    await n.drain()
    assert route.call_count == 3  # first try + 2 retries
    assert await n.send(render("advance", PAYLOAD)) is False
    await n.aclose()


@pytest.mark.anyio
@respx.mock
async def test_a_4xx_is_not_retried():
    route = respx.post(HOOK).mock(return_value=httpx.Response(404, text="no_service"))
    n = notifier()
    assert await n.send(render("complete", PAYLOAD)) is False
    assert route.call_count == 1
    await n.aclose()


def test_no_url_means_no_notifier():
    assert isinstance(build_notifier(RolloutSettings()), NullNotifier)
    assert isinstance(build_notifier(RolloutSettings(webhook_url=HOOK)), WebhookNotifier)
