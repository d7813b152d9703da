"""Bad input and failures over HTTP: original status codes and bodies, never a stack trace."""

from __future__ import annotations

import httpx
import pytest

from legacy_service.errors import INTERNAL_ERROR_BODY, PIPELINE_ERROR_MESSAGE
from legacy_service.model import FailingModelClient
from legacy_service.pipeline import FALLBACK_CONTENT, PersonaPipeline

from .conftest import legacy_client, make_settings


def _detail(response: httpx.Response) -> list[dict]:
    assert response.status_code == 422, response.text
    return response.json()["detail"]


def test_empty_message(client):
    (error,) = _detail(client.post("/chat", json={"message": "", "user_id": "u"}))
    assert (error["type"], error["loc"]) == ("string_too_short", ["body", "message"])


def test_whitespace_message_has_the_original_korean_message(client):
    (error,) = _detail(client.post("/chat", json={"message": "   ", "user_id": "u"}))
    assert error["loc"] == ["body", "message"]
    assert "메시지는 공백만으로 이루어질 수 없습니다" in error["msg"]


def test_whitespace_user_id(client):
    (error,) = _detail(client.post("/chat", json={"message": "hi", "user_id": "  "}))
    assert error["loc"] == ["body", "user_id"]
    assert "user_id는 필수 항목입니다" in error["msg"]


def test_too_long_message_gets_max_message_length_in_loc(client):
    (error,) = _detail(client.post("/chat", json={"message": "a" * 1001, "user_id": "u"}))
    assert error["type"] == "string_too_long"
    assert error["loc"] == ["body", "message", "max_message_length"]
    assert error["msg"] == "String should have at most 1000 characters"
    assert error["ctx"] == {"max_length": 1000}


def test_too_long_user_id_keeps_plain_loc(client):
    (error,) = _detail(client.post("/chat", json={"message": "hi", "user_id": "u" * 129}))
    assert (error["type"], error["loc"]) == ("string_too_long", ["body", "user_id"])


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({}, [["body", "message"], ["body", "user_id"]]),
        # why: the 2025-10-17 message-only body is rejected by the current contract (§1.4).
        ({"message": "안녕하세요"}, [["body", "user_id"]]),
    ],
)
def test_missing_fields(client, body, missing):
    errors = _detail(client.post("/chat", json=body))
    assert [e["loc"] for e in errors] == missing
    assert {e["type"] for e in errors} == {"missing"}
    assert {e["msg"] for e in errors} == {"Field required"}


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"message": 123, "user_id": "u"}, ["body", "message"], "string_type"),
        ({"message": "hi", "user_id": ["u"]}, ["body", "user_id"], "string_type"),
        ([1, 2], ["body"], "model_attributes_type"),
    ],
)
def test_wrong_types(client, body, loc, kind):
    (error,) = _detail(client.post("/chat", json=body))
    assert (error["type"], error["loc"]) == (kind, loc)


def test_invalid_json(client):
    headers = {"content-type": "application/json"}
    (error,) = _detail(client.post("/chat", content=b'{"message": ', headers=headers))
    assert error["type"] == "json_invalid"
    assert error["loc"][0] == "body"


def test_wrong_content_type_is_422_like_fastapi(client):
    response = client.post("/chat", content=b"message=hi", headers={"content-type": "text/plain"})
    assert _detail(response)[0]["loc"] == ["body"]


def test_unknown_route_is_fastapi_404(client):
    response = client.get("/nope")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_declared_huge_body_is_413_before_parsing(client):
    response = client.post("/chat", content=b"{" + b" " * 2_000_000 + b"}")
    assert response.status_code == 413
    assert response.json()["status_code"] == 413


def test_chunked_huge_body_is_413():
    def chunks():
        for _ in range(8):
            yield b"x" * 1024

    with legacy_client(make_settings(max_body_bytes=4096)) as client:
        response = client.post("/chat", content=chunks())
        assert response.status_code == 413
        # a chunked body under the limit still reaches the app
        small = client.post(
            "/chat",
            content=iter([b'{"message": "hi", ', b'"user_id": "u"}']),
            headers={"content-type": "application/json"},
        )
        assert small.status_code == 200


def test_model_failure_is_200_nana_fallback():
    with legacy_client(model=FailingModelClient("vertex down")) as client:
        response = client.post("/chat", json={"message": "안녕하세요", "user_id": "u"})
        assert response.status_code == 200
        body = response.json()
        assert (body["persona_used"], body["confidence"]) == ("Nana", 0.0)
        assert body["content"] == FALLBACK_CONTENT
        assert body["metadata"]["error_type"] == "ModelError"
        assert "legacy_chat_fallbacks_total 1.0" in client.get("/metrics").text


class ExplodingPipeline(PersonaPipeline):
    """A pipeline bug (not a model failure): the route must answer 500 without details."""

    async def process(self, text: str) -> dict:
        raise RuntimeError("secret internal detail")


def test_pipeline_exception_is_generic_500():
    with legacy_client(pipeline=ExplodingPipeline(FailingModelClient())) as client:
        response = client.post("/chat", json={"message": "hi", "user_id": "u"})
        assert response.status_code == 500
        assert response.json() == {"error": PIPELINE_ERROR_MESSAGE, "status_code": 500}
        assert "secret" not in response.text


class RejectingPipeline(PersonaPipeline):
    async def process(self, text: str) -> dict:
        raise ValueError("사용자 입력이 비어있습니다")


def test_pipeline_value_error_is_400():
    with legacy_client(pipeline=RejectingPipeline(FailingModelClient())) as client:
        response = client.post("/chat", json={"message": "hi", "user_id": "u"})
        assert response.status_code == 400
        assert response.json() == {"error": "사용자 입력이 비어있습니다", "status_code": 400}


class BrokenPipeline(PersonaPipeline):
    @property
    def ready(self) -> bool:
        raise KeyError("secret internal detail")


def test_unhandled_exception_hits_global_handler_with_headers():
    with legacy_client(pipeline=BrokenPipeline(FailingModelClient())) as client:
        response = client.get("/health")
        assert response.status_code == 500
        assert response.json() == INTERNAL_ERROR_BODY
        assert "secret" not in response.text
        assert response.headers["x-frame-options"] == "DENY"
        # the worker survives
        assert client.get("/").status_code == 200
