"""What the simulated users send: varied Korean/English/long messages and distinct user ids.

Kept apart from `locustfile.py` because importing Locust monkey-patches the whole process with
gevent; this module stays importable anywhere (tests, the probe) without that side effect.
"""

from __future__ import annotations

import itertools
import random

SHORT_MESSAGES = (
    "안녕하세요",
    "이거 진짜 답답해요! 왜 안 되는 거죠?",
    "빨리 해결해야 해요! 급합니다!",
    "프로젝트 일정 조율을 도와주실 수 있나요?",
    "데이터 분석 결과를 어떻게 해석하면 좋을까요?",
    "Hello, can you help me plan my week?",
    "Explain AI concepts in a concise style",
    "What is the time complexity of this function?",
    "I feel a bit stuck today. Any advice?",
)

_LONG_BASE = (
    "요즘 팀 프로젝트에서 일정이 자꾸 밀려서 고민이 많습니다. "
    "We keep missing deadlines because requirements change every week, and I am not sure "
    "how to keep everyone aligned without adding more meetings. "
)
#: Long but valid: the services accept at most 1000 characters.
LONG_MESSAGE = (_LONG_BASE * 6)[:990]

#: Task weights of the original load test (chat 5, health 1, docs 2).
TASK_WEIGHTS = {"chat": 5, "health": 1, "docs": 2}

_user_numbers = itertools.count(1)


def next_user_id(prefix: str = "load-user") -> str:
    """Distinct ids per simulated user within one process (`load-user-1`, ...)."""
    return f"{prefix}-{next(_user_numbers)}"


def pick_message(rng: random.Random) -> str:
    """Mostly short messages, one in five long, as a chat workload tends to be."""
    return LONG_MESSAGE if rng.random() < 0.2 else rng.choice(SHORT_MESSAGES)


def chat_body(message: str, user_id: str) -> dict[str, str]:
    return {"message": message, "user_id": user_id}
