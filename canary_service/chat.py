"""The canary's `/chat` answer: the legacy response fields, produced the Lumen way. Pure.

Shape = legacy `ChatResponse` (content, persona_used, resonance_key, confidence, metadata) plus
the Lumen Gateway's `success` and `lumen_persona`, so legacy clients parse it unchanged and the
original canary smoke test ("success true, confidence > 0.8") holds.

- persona: chosen by the Lumen keyword rules (server order), reported as Lua/Elro/Riri/Nana in
  `persona_used` and in full in `lumen_persona`;
- `resonance_key` and `metadata.rhythm/tone`: the legacy converter's, so dashboards comparing
  both sides see the same key for the same message;
- confidence: 0.90 on success, the constant the Lumen path reports (§6.2); 0.0 on fallback, as
  the legacy fallback does (§4.3).
"""

from __future__ import annotations

from typing import Any

from canary_service.responder import LumenReply
from legacy_service.pipeline import resonance_metadata
from legacy_service.resonance import convert

LUMEN_CONFIDENCE = 0.90


def routing_metadata(reply: LumenReply) -> dict[str, Any]:
    persona = reply.persona
    return {
        "secondary_persona": None,
        "reasoning": (
            f"Lumen 키워드 규칙(서버 순서: earth → moon → square → pen) 결과: "
            f"{persona.emoji} {persona.name}({persona.key}) → {persona.legacy_name}"
        ),
    }


def lumen_metadata(reply: LumenReply, model_name: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"sources": list(reply.sources), "model": model_name}
    if not reply.success:
        meta["fallback"] = True
    return meta


def chat_response(message: str, reply: LumenReply, model_name: str) -> dict[str, Any]:
    """The JSON body of a canary `/chat` answer for `message` (already validated and stripped)."""
    resonance = convert(message)
    metadata = resonance_metadata(resonance)
    metadata["routing"] = routing_metadata(reply)
    metadata["lumen"] = lumen_metadata(reply, model_name)
    if not reply.success:
        metadata["error"] = reply.error
        metadata["error_type"] = reply.error_type
    return {
        "success": reply.success,
        "content": reply.text,
        "persona_used": reply.persona.legacy_name,
        "resonance_key": resonance.key,
        "confidence": LUMEN_CONFIDENCE if reply.success else 0.0,
        "metadata": metadata,
        "lumen_persona": reply.persona.as_dict(),
    }
