"""The gateway's rollout store as `ion-deploy` sees it: where its URL comes from, and whether
several gateway instances can share it.

Two ways to give the gateway a store URL:

- a Secret Manager secret named in `DEPLOY_GATEWAY_STORE_URL_SECRET`, which Cloud Run injects
  as `ROLLOUT_STORE_URL` (`value_source.secret_key_ref`). `ion-deploy` never reads its value,
  so it takes the secret to hold a `redis://` or `rediss://` URL (the only shared store) and the
  gateway checks the URL when it starts;
- a plain `ROLLOUT_STORE_URL` in `DEPLOY_GATEWAY_ENV`: fine for the SQLite default or for a
  Redis without AUTH, never for a URL carrying a password (anyone with `run.services.get` reads
  plain env, and so would `plan`).

Pure: every function takes text and answers, so each rule is one table row in the tests.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

STORE_ENV = "ROLLOUT_STORE_URL"
SECRET_SETTING = "DEPLOY_GATEWAY_STORE_URL_SECRET"

LOCAL_SCHEMES = frozenset({"sqlite"})
# Checked by name, not through rollout.store.schemes.parse_store_url: the Redis store registers
# `redis`/`rediss` there (issue 11, built apart), and the check here needs only the names, never
# the implementation (nor a driver installed on the machine that runs ion-deploy).
SHARED_SCHEMES = frozenset({"redis", "rediss"})
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,19}")
_CREDENTIAL_PARAMS = frozenset({"password", "pass", "passwd", "username", "user", "token"})

_SECRET_ID = r"[A-Za-z0-9_-]{1,255}"
_PROJECT = r"(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,19})"
_VERSION = r"(?:latest|[1-9][0-9]{0,18})"
_SECRET_REF = re.compile(
    rf"(?:projects/(?P<project>{_PROJECT})/secrets/)?(?P<secret>{_SECRET_ID})"
    rf"(?:/versions/(?P<version>{_VERSION}))?"
)


def scheme_of(url: str) -> str:
    """The URL's scheme (lower case), or "" when the text is not `scheme://...`."""
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    return scheme if sep and _SCHEME.fullmatch(scheme) else ""


def is_shared(url: str) -> bool:
    """True for a store every gateway instance reaches (Redis), False for a file in one."""
    return scheme_of(url) in SHARED_SCHEMES


def plain_url_problem(url: str) -> str:
    """Why `url` may not be a plain `ROLLOUT_STORE_URL` env value; empty when it may.

    The message names the settings to use instead and never quotes the URL.
    """
    where = f"DEPLOY_GATEWAY_ENV's {STORE_ENV}"
    scheme = scheme_of(url)
    if scheme not in LOCAL_SCHEMES | SHARED_SCHEMES:
        # The scheme is not quoted: whatever came before "://" may be a password pasted there.
        what = "an unsupported store scheme" if scheme else "not a scheme://... URL"
        return f"{where} is {what}; use sqlite:///, redis:// or rediss://"
    if scheme in LOCAL_SCHEMES:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{where}: not a valid {scheme}:// URL (host[:port][/db])"
    query = {key.lower() for key, _ in parse_qsl(parts.query)}
    if parts.username or parts.password or query & _CREDENTIAL_PARAMS:
        return (
            f"{where} carries credentials, and a plain env value is readable by anyone who can "
            f"view the service: store the URL in Secret Manager and name the secret in "
            f"{SECRET_SETTING} (remove {STORE_ENV} from DEPLOY_GATEWAY_ENV)"
        )
    if not parts.hostname:
        return f"{where}: a {scheme}:// URL needs a host"
    return ""


def secret_ref_problem(text: str) -> str:
    """Why `text` is not a Secret Manager reference; empty when it is."""
    if _SECRET_REF.fullmatch(text):
        return ""
    return (
        "must be a secret name (e.g. ion-rollout-store-url), projects/<project>/secrets/<name> "
        "or projects/<project>/secrets/<name>/versions/<latest|N>"
    )


def split_secret_ref(text: str, project: str, default_version: str) -> tuple[str, str]:
    """(secret, version) as Cloud Run's `SecretKeySelector` takes them: the secret is its bare
    name when it lives in `project` (the service's), else `projects/<p>/secrets/<name>`; the
    version is the one in the reference, else `default_version`."""
    match = _SECRET_REF.fullmatch(text)
    if match is None:
        raise ValueError(secret_ref_problem(text))
    other, secret = match["project"], match["secret"]
    name = f"projects/{other}/secrets/{secret}" if other and other != project else secret
    return name, match["version"] or default_version
