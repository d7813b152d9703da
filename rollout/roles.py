"""The two admin roles (DESIGN.md "Cross-cutting"): the operator acts, the viewer only reads."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"  # GATEWAY_ADMIN_TOKEN: every verb
    VIEWER = "viewer"  # GATEWAY_VIEWER_TOKEN: status, history, series; no verb

    @property
    def may_act(self) -> bool:
        return self is Role.OPERATOR
