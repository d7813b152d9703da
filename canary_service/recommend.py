"""`POST /api/v2/recommend/personalized` answered through Lumen (ION_SPEC §6.2 success branch).

Persona choice uses the Lumen **client** order (moon → square → earth → pen), because in the
original this endpoint reached Lumen through the ion-api client, which picked the persona before
calling (§6.3); `/chat` is the gateway itself and uses the server order.

The `all_scores` overwrite bug (§9.12) is deliberately **not** reproduced: the original built
`{primary: 0.90, "Lua": 0.30, "Elro": 0.25, "Riri": 0.20}`, so a Lua/Elro/Riri primary lost its
0.90 and scored below the others. Here the primary keeps 0.90 and the fixed low scores fill in the
rest, so `primary_persona` is always the argmax of `all_scores` and agrees with `confidence`.
Nana primaries get exactly the original dict. No client is known to read the buggy value.

When the model fails, the answer is the legacy fixed simulation (`legacy_service.recommend`), as
the original served when Lumen returned `success=false`, marked with `metadata.fallback_reason`.
"""

from __future__ import annotations

from typing import Any

from canary_service.responder import LumenReply
from legacy_service.recommend import legacy_recommendation

LUMEN_CONFIDENCE = 0.90
SECONDARY_SCORES = {"Lua": 0.30, "Elro": 0.25, "Riri": 0.20}
MODEL_VERSION = "lumen_hybrid_v1"


def all_scores(primary: str) -> dict[str, float]:
    """Primary at 0.90 first, then the original's fixed low scores for the others."""
    scores = {primary: LUMEN_CONFIDENCE}
    scores.update({name: s for name, s in SECONDARY_SCORES.items() if name != primary})
    return scores


def lumen_recommendation(reply: LumenReply, processing_time_ms: int) -> dict[str, Any]:
    persona = reply.persona
    primary = persona.legacy_name
    return {
        "primary_persona": primary,
        "confidence": LUMEN_CONFIDENCE,
        "all_scores": all_scores(primary),
        "ranked_recommendations": [
            {
                "persona": primary,
                "score": LUMEN_CONFIDENCE,
                "reason": f"Lumen Gateway ({persona.emoji} {persona.name})",
            }
        ],
        "explanation": reply.text,
        "metadata": {
            "model_version": MODEL_VERSION,
            "processing_time_ms": processing_time_ms,
            "algorithm": "lumen_gateway",
            "ab_group": "lumen_treatment",
            "lumen_sources": list(reply.sources),
            "lumen_persona": {k: v for k, v in persona.as_dict().items() if k != "key"},
            "feature_flag": "LUMEN_GATEWAY=true",
        },
    }


def recommendation(reply: LumenReply, processing_time_ms: int) -> dict[str, Any]:
    """The Lumen answer on success, else the legacy simulation marked as a fallback."""
    if reply.success:
        return lumen_recommendation(reply, processing_time_ms)
    answer = legacy_recommendation()
    answer["metadata"]["fallback_reason"] = "lumen_unavailable"
    return answer
