"""The language-model seam of the pipeline: one small protocol, an offline mock, a failing stub.

The original used Vertex/Gemini only in production with a project id and otherwise a mock that
always answered "Mock response for development"; local runs and CI need exactly that mock.
A real client can be added behind `ModelClient` without touching the pipeline.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

MOCK_RESPONSE = "Mock response for development"


class ModelError(RuntimeError):
    """The model could not answer; the pipeline turns this into the Nana fallback (§4.3)."""


@runtime_checkable
class ModelClient(Protocol):
    async def generate(self, prompt: str) -> str: ...


class MockModelClient:
    """Offline and deterministic, so responses and tests never depend on a network."""

    def __init__(self, response: str = MOCK_RESPONSE) -> None:
        self.response = response
        self.prompts: list[str] = []

    async def generate(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.response


class FailingModelClient:
    """Always fails: exercises the fallback path in tests and demos (`LEGACY_MODEL_BACKEND`)."""

    def __init__(self, message: str = "model unavailable") -> None:
        self.message = message

    async def generate(self, prompt: str) -> str:
        raise ModelError(self.message)
