"""The diff is pure: table rows of (observed, desired) -> changes, plus its rendering."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deploy.plan import FieldChange, diff, field_changes, render
from deploy.settings import DeploySettings
from deploy.spec import SecretRef, desired_specs

SPECS = desired_specs(
    DeploySettings(project="ion-test-project"), {"legacy": "https://l", "canary": "https://c"}
)
LEGACY, CANARY, GATEWAY = SPECS


def test_fresh_project_plans_three_creates_in_apply_order() -> None:
    changes = diff(SPECS, {})
    assert [(c.action, c.spec.name) for c in changes] == [
        ("create", "ion-api"),
        ("create", "ion-api-canary"),
        ("create", "ion-gateway"),
    ]
    assert all(f.old is None for c in changes for f in c.fields)


def test_matching_state_plans_nothing() -> None:
    assert diff(SPECS, {s.name: s for s in SPECS}) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a new image tag is the common case: one field, shown old -> new
        (LEGACY, replace(LEGACY, image="x:2"), [FieldChange("image", LEGACY.image, "x:2")]),
        (CANARY, replace(CANARY, max_instances=7), [FieldChange("max_instances", "5", "7")]),
        # env and secrets show per variable, so one changed variable is one line
        (
            GATEWAY,
            replace(GATEWAY, env=(("GATEWAY_CANARY_URL", "https://c2"), GATEWAY.env[1])),
            [FieldChange("env.GATEWAY_CANARY_URL", "https://c", "https://c2")],
        ),
        # a variable we no longer want is removed, and the plan says so
        (
            replace(LEGACY, env=(("OLD", "1"),)),
            LEGACY,
            [FieldChange("env.OLD", "1", "(unset)")],
        ),
        (
            CANARY,
            replace(CANARY, secrets=(SecretRef("CANARY_ADMIN_TOKEN", "t", "3"),)),
            [
                FieldChange(
                    "env.CANARY_ADMIN_TOKEN", "secret:ion-canary-admin-token:latest", "secret:t:3"
                ),
                FieldChange(
                    "env.CANARY_GEMINI_API_KEY", "secret:ion-gemini-api-key:latest", "(unset)"
                ),
            ],
        ),
    ],
)
def test_field_changes(old, new, expected) -> None:
    assert list(field_changes(old, new)) == expected


def test_update_only_for_services_that_differ() -> None:
    observed = {s.name: s for s in SPECS} | {"ion-api": replace(LEGACY, image="old")}
    changes = diff(SPECS, observed)
    assert [(c.action, c.spec.name) for c in changes] == [("update", "ion-api")]


def test_render_reads_like_a_plan() -> None:
    text = render(diff(SPECS, {s.name: s for s in SPECS} | {"ion-api": replace(LEGACY, cpu="2")}))
    assert text.splitlines() == [
        "~ update ion-api (legacy)",
        "    cpu: 2 -> 1",
        "Plan: 0 to create, 1 to update.",
    ]
    assert "No changes" in render([])
    assert render(diff(SPECS, {})).endswith("Plan: 3 to create, 0 to update.")


def test_a_sidecar_change_renders_one_line_per_field() -> None:
    observed = {s.name: s for s in SPECS} | {"ion-gateway": replace(GATEWAY, sidecars=())}
    text = render(diff(SPECS, observed))
    collector = GATEWAY.sidecars[0]
    assert text.splitlines() == [
        "~ update ion-gateway (gateway)",
        "    sidecar.gmp-collector.depends_on: gateway",
        f"    sidecar.gmp-collector.image: {collector.image}",
        "Plan: 0 to create, 1 to update.",
    ]


SECRET_ENV = {
    "GATEWAY_VIEWER_TOKEN": "viewer-tok-123",  # declared Secret[...] by GatewaySettings
    "ROLLOUT_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/XYZsecret",  # by Rollout
    "OTEL_EXPORTER_OTLP_HEADERS_API_KEY": "k-9f8e7d",  # by its name only
    "GATEWAY_LOG_LEVEL": "DEBUG",  # not a secret: shown as is
    "ROLLOUT_WEBHOOK_TIMEOUT_SECONDS": "5",  # a number about a secret: shown as is
}
SHOWN = {"GATEWAY_LOG_LEVEL", "ROLLOUT_WEBHOOK_TIMEOUT_SECONDS"}


def gateway_with_env(env: dict[str, str]):
    settings = DeploySettings(project="ion-test-project", gateway_env=env)
    return desired_specs(settings, {"legacy": "https://l", "canary": "https://c"})[2]


def test_secret_env_values_never_show_in_a_plan() -> None:
    text = render(diff([gateway_with_env(SECRET_ENV)], {}))
    for name, value in SECRET_ENV.items():
        if name in SHOWN:
            assert f"    env.{name}: {value}" in text.splitlines()
        else:
            assert value not in text
            assert f"    env.{name}: *** ({len(value)} chars)" in text.splitlines()
    # references are safe to show, and still are
    assert "    env.GATEWAY_ADMIN_TOKEN: secret:ion-gateway-admin-token:latest" in text


def test_a_changed_secret_of_the_same_length_is_still_an_update() -> None:
    old = gateway_with_env({"GATEWAY_VIEWER_TOKEN": "aaaa"})
    new = gateway_with_env({"GATEWAY_VIEWER_TOKEN": "bbbb"})
    [change] = diff([new], {new.name: old})
    assert list(change.fields) == [
        FieldChange("env.GATEWAY_VIEWER_TOKEN", "*** (4 chars)", "*** (4 chars)")
    ]
    removed = field_changes(old, gateway_with_env({}))
    assert removed == (FieldChange("env.GATEWAY_VIEWER_TOKEN", "*** (4 chars)", "(unset)"),)


def test_a_password_in_any_other_url_shows_as_stars() -> None:
    spec = gateway_with_env({"GATEWAY_EXTRA_UPSTREAM": "https://svc:pw-77@upstream.internal/x"})
    text = render(diff([spec], {}))
    assert "pw-77" not in text
    assert "    env.GATEWAY_EXTRA_UPSTREAM: https://svc:***@upstream.internal/x" in text


def test_vpc_rows_show_in_the_diff() -> None:
    settings = DeploySettings(
        project="ion-test-project",
        gateway_store_url_secret="ion-rollout-store-url",
        gateway_vpc_connector="c1",
        gateway_max_instances=4,
    )
    new = desired_specs(settings, {"legacy": "https://l", "canary": "https://c"})[2]
    assert [(f.field, f.old, f.new) for f in field_changes(GATEWAY, new)] == [
        ("env.ROLLOUT_STORE_URL", None, "secret:ion-rollout-store-url:latest"),
        ("max_instances", "1", "4"),
        ("vpc.connector", None, "projects/ion-test-project/locations/us-central1/connectors/c1"),
        ("vpc.egress", None, "private-ranges-only"),
    ]
    assert [(f.field, f.new) for f in field_changes(new, GATEWAY) if f.field.startswith("vpc")] == [
        ("vpc.connector", "(unset)"),
        ("vpc.egress", "(unset)"),
    ]
