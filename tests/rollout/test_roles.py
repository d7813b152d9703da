"""rollout/roles.py: the two roles' names (what cookies, logs and history carry) and powers."""

from __future__ import annotations

import pytest

from rollout.roles import Role


@pytest.mark.parametrize(
    ("role", "value", "may_act"),
    [(Role.OPERATOR, "operator", True), (Role.VIEWER, "viewer", False)],
)
def test_roles(role, value, may_act):
    assert (str(role), role.may_act) == (value, may_act)
