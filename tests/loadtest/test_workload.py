"""The load-test workload: valid messages, distinct user ids, the original's task weights."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from loadtest.workload import (
    LONG_MESSAGE,
    SHORT_MESSAGES,
    TASK_WEIGHTS,
    chat_body,
    next_user_id,
    pick_message,
)


@pytest.mark.parametrize("message", [*SHORT_MESSAGES, LONG_MESSAGE])
def test_every_message_is_valid_for_the_services(message: str) -> None:
    assert 1 <= len(message) <= 1000 and message.strip()


def test_messages_mix_korean_english_and_long() -> None:
    rng = random.Random(7)
    picked = {pick_message(rng) for _ in range(200)}
    assert LONG_MESSAGE in picked
    assert any("\uac00" <= ch <= "\ud7a3" for ch in "".join(picked))  # Hangul syllables
    assert any(msg.isascii() for msg in picked)


def test_user_ids_are_distinct_and_sent_in_the_body() -> None:
    ids = {next_user_id() for _ in range(50)}
    assert len(ids) == 50
    user = ids.pop()
    assert chat_body("hi", user) == {"message": "hi", "user_id": user}


def test_locust_user_has_the_original_task_weights() -> None:
    """In a subprocess: importing Locust would gevent-patch the test process."""
    code = (
        "import collections, json; from loadtest.locustfile import IonUser; "
        "print(json.dumps(collections.Counter(t.__name__ for t in IonUser.tasks)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert (
        json.loads(out.strip().splitlines()[-1])
        == TASK_WEIGHTS
        == {
            "chat": 5,
            "health": 1,
            "docs": 2,
        }
    )
