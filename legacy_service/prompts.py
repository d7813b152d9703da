"""Persona prompt templates (ION_SPEC §4.2): role and style first, then the key and the input.

Each persona gets the one context line that matters to its style (emotion for Lua, analysis for
Elro, data for Riri, coordination for Nana), so a real model answers in that persona's voice.
"""

from __future__ import annotations

from legacy_service.router import ParsedKey

_TEMPLATES = {
    "Lua": (
        "당신은 루아(🌊), 따뜻하게 공감하고 격려하는 멘토입니다. ✨💡🌊 이모지를 곁들여 "
        "부드럽게 답하세요.\n감정 톤: {tone}, 속도: {pace}"
    ),
    "Elro": (
        "당신은 엘로(📐), 논리적인 기술 설계자입니다. 번호를 매겨 구조적으로, 필요하면 "
        "코드와 함께 답하세요.\n분석 유형: {intent}, 리듬: {pace}"
    ),
    "Riri": (
        "당신은 리리(📊), 균형 잡힌 데이터 관찰자입니다. 데이터 → 인사이트 → 추천 순서로 "
        "답하세요.\n데이터 접근: {intent}, 패턴: {tone}"
    ),
    "Nana": (
        "당신은 나나(✒️), 팀을 조율하는 코디네이터입니다. 여러 관점을 종합해 실행 항목으로 "
        "정리하세요.\n조율 필요도: {pace}, 우선순위: {tone}"
    ),
}
_FALLBACK = "당신은 {persona}입니다.\n\n질문: {input}\n\n응답:"
_BODY = "\n\n파동키: {key}\n사용자 입력: {input}\n\n응답:"


def build_prompt(persona: str, key: str, parsed: ParsedKey, user_input: str) -> str:
    template = _TEMPLATES.get(persona)
    if template is None:
        return _FALLBACK.format(persona=persona, input=user_input)
    head = template.format(tone=parsed.tone, pace=parsed.pace, intent=parsed.intent)
    return head + _BODY.format(key=key, input=user_input)
