"""deploy/store.py: which store URLs may be plain env, and Secret Manager references. Pure."""

from __future__ import annotations

import pytest

from deploy.store import is_shared, plain_url_problem, secret_ref_problem, split_secret_ref

PASSWORD = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    ("url", "shared"),
    [
        ("redis://10.0.0.3:6379/0", True),
        ("rediss://10.0.0.3:6378/0", True),
        ("REDIS://10.0.0.3", True),  # schemes are case-insensitive
        ("sqlite:///ion-rollout.db", False),
        ("", False),
        ("10.0.0.3:6379", False),  # no scheme: not a URL at all
    ],
)
def test_only_redis_is_shared(url: str, shared: bool) -> None:
    assert is_shared(url) is shared


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        # fine as plain env: the SQLite default, a Redis without AUTH (Memorystore's default)
        ("sqlite:///ion-rollout.db", ""),
        ("redis://10.0.0.3:6379/0", ""),
        ("rediss://10.0.0.3:6378/1?ssl_cert_reqs=required", ""),
        # credentials in plain env: refused, pointing at the secret setting
        (f"redis://:{PASSWORD}@10.0.0.3:6379/0", "DEPLOY_GATEWAY_STORE_URL_SECRET"),
        (f"rediss://default:{PASSWORD}@10.0.0.3:6378/0", "DEPLOY_GATEWAY_STORE_URL_SECRET"),
        # redis-py also reads `redis://<password>@host` as a user name and ?password=
        (f"redis://{PASSWORD}@10.0.0.3/0", "DEPLOY_GATEWAY_STORE_URL_SECRET"),
        (f"redis://10.0.0.3/0?password={PASSWORD}", "DEPLOY_GATEWAY_STORE_URL_SECRET"),
        ("redis:///0", "needs a host"),
        ("redis://10.0.0.3:99999/0", "not a valid redis:// URL"),
        ("postgres://db/x", "is an unsupported store scheme; use sqlite:///, redis://"),
        (f"{PASSWORD}", "is not a scheme://... URL"),
        # whatever sits before "://" may be a pasted password: never quoted
        (f"{PASSWORD}://10.0.0.3", "is an unsupported store scheme"),
    ],
)
def test_plain_url_problem(url: str, problem: str) -> None:
    found = plain_url_problem(url)
    assert (problem in found) if problem else found == ""
    assert PASSWORD.lower() not in found.lower(), "an error never quotes the password"


@pytest.mark.parametrize(
    ("ref", "project", "expected"),
    [
        # a bare name: same project, version from DEPLOY_SECRET_VERSION
        ("ion-rollout-store-url", "ion-test-project", ("ion-rollout-store-url", "latest")),
        # a full name in the service's own project is the bare name to Cloud Run
        (
            "projects/ion-test-project/secrets/store/versions/3",
            "ion-test-project",
            ("store", "3"),
        ),
        # another project (or a project number) keeps its path, as SecretKeySelector wants
        (
            "projects/ion-shared-secrets/secrets/store",
            "ion-test-project",
            ("projects/ion-shared-secrets/secrets/store", "latest"),
        ),
        (
            "projects/123456789012/secrets/store/versions/latest",
            "ion-test-project",
            ("projects/123456789012/secrets/store", "latest"),
        ),
    ],
)
def test_split_secret_ref(ref: str, project: str, expected: tuple[str, str]) -> None:
    assert secret_ref_problem(ref) == ""
    assert split_secret_ref(ref, project, "latest") == expected


@pytest.mark.parametrize(
    "ref",
    [
        "redis://10.0.0.3:6379/0",  # a URL where the secret's name belongs
        "projects/p/secrets/store",  # project ids have 6-30 characters
        "projects/ion-test-project/secrets/store/versions/0",
        "projects/ion-test-project/secrets/store/versions/newest",
        "projects/ion-test-project/store",
        "store name",
        "x" * 256,
    ],
)
def test_bad_secret_references(ref: str) -> None:
    assert "must be a secret name" in secret_ref_problem(ref)
    with pytest.raises(ValueError, match="must be a secret name"):
        split_secret_ref(ref, "ion-test-project", "latest")
