"""The legacy answer of `POST /api/v2/recommend/personalized` (ION_SPEC §6.2).

With the Lumen gate off (the legacy's state) the original served one fixed simulation whatever
the query; its `algorithm` tag `cf_40_cb_40_pa_20` is how dashboards tell legacy answers apart.
"""

from __future__ import annotations

from typing import Any

LEGACY_ALGORITHM = "cf_40_cb_40_pa_20"


def legacy_recommendation() -> dict[str, Any]:
    """A fresh dict per call, so no caller can mutate a shared answer."""
    return {
        "primary_persona": "Lua",
        "confidence": 0.82,
        "all_scores": {"Lua": 0.82, "Elro": 0.45, "Riri": 0.38, "Nana": 0.35},
        "ranked_recommendations": [
            {"persona": "Lua", "score": 0.82, "reason": "Based on your learning preference"},
            {"persona": "Elro", "score": 0.45, "reason": "Analytical approach"},
            {"persona": "Riri", "score": 0.38, "reason": "Creative thinking"},
        ],
        "explanation": "Based on your query and preferences, Lua is recommended.",
        "metadata": {
            "model_version": "ensemble_v1",
            "processing_time_ms": 95,
            "algorithm": LEGACY_ALGORITHM,
            "ab_group": "treatment",
        },
    }
