"""PersonaPipeline: the /chat response shape, the empty-input error and the Nana fallback."""

from __future__ import annotations

import pytest

from legacy_service.model import MOCK_RESPONSE, FailingModelClient, MockModelClient
from legacy_service.pipeline import EMPTY_INPUT_MESSAGE, FALLBACK_CONTENT, PersonaPipeline

pytestmark = pytest.mark.anyio


async def test_success_shape_and_metadata():
    model = MockModelClient()
    result = await PersonaPipeline(model).process("  빨리 해결해야 해요! 급합니다!  ")
    assert result["content"] == MOCK_RESPONSE
    assert (result["persona_used"], result["resonance_key"], result["confidence"]) == (
        "Nana",
        "urgent-burst-expressive",
        1.0,
    )
    meta = result["metadata"]
    assert meta["rhythm"]["pace"] == "fast"  # raw converter pace, not `burst`
    assert meta["rhythm"]["avg_length"] == 2.0
    assert meta["rhythm"]["punctuation_density"] == pytest.approx(0.1176, abs=1e-4)
    assert meta["tone"] == {"primary": "urgent", "confidence": 0.7, "secondary": None}
    assert meta["routing"] == {
        "secondary_persona": "Lua",
        "reasoning": "파동키 'urgent-burst-expressive' 분석 결과: 감정 톤=urgent, 속도=burst, "
        "의도=expressive. Nana가 가장 적합 (점수: 1.00)",
    }
    # why: the prompt carries the persona's context line and the stripped input.
    assert "조율 필요도: burst" in model.prompts[0]
    assert "사용자 입력: 빨리 해결해야 해요! 급합니다!\n" in model.prompts[0]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
async def test_empty_input_is_a_value_error(text):
    with pytest.raises(ValueError, match=EMPTY_INPUT_MESSAGE):
        await PersonaPipeline(MockModelClient()).process(text)


async def test_model_failure_becomes_nana_fallback():
    result = await PersonaPipeline(FailingModelClient("boom")).process(" 안녕하세요 ")
    assert result == {
        "content": FALLBACK_CONTENT,
        "persona_used": "Nana",
        "resonance_key": "error-fallback-statement",
        "confidence": 0.0,
        "metadata": {
            "error": "boom",
            "error_type": "ModelError",
            "context": {"user_input": "안녕하세요", "stage": "processing"},
        },
    }
