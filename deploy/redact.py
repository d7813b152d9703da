"""What `plan` may print of an env value: no secret value in an output (DESIGN.md "Cross-cutting").

Secrets are meant to reach the services by reference (`secret:<name>:<version>` rows, safe to
show), but `DEPLOY_*_ENV` takes any plain variable, and an operator may put a token or a webhook
URL there. A plan row for such a variable shows `*** (N chars)`: enough to see that it changes,
nothing to read. A variable is taken for a secret when one of the services declares it
`Secret[...]` in its settings (the authoritative list, read from the classes) or when its name
looks like one (TOKEN, SECRET, PASSWORD, KEY, WEBHOOK, ...). Any other URL value shows with its
password, if it has one, as `***`.

The diff itself compares the real values (so a changed secret of the same length still plans an
update); only the rendering redacts.
"""

from __future__ import annotations

import importlib
import re
from functools import cache

from common.settings import env_name, redact_url, secret_fields

_SETTINGS_CLASSES = (
    "gateway.settings:GatewaySettings",
    "rollout.settings:RolloutSettings",
    "legacy_service.settings:LegacySettings",
    "canary_service.settings:CanarySettings",
)
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PWD|(?:^|_)KEY(?:$|_)|API_?KEY|WEBHOOK|CREDENTIAL|PRIVATE|DSN|COOKIE|AUTH"
)
# A number about a secret is no secret: ROLLOUT_WEBHOOK_TIMEOUT_SECONDS shows as it is.
_QUANTITY = re.compile(r"_(?:SECONDS|MS|BYTES|RETRIES|COUNT|PERCENT|ENABLED)$")


@cache
def declared_secrets() -> frozenset[str]:
    """The env variables the services' settings classes mark `Secret[...]`."""
    names: set[str] = set()
    for path in _SETTINGS_CLASSES:
        module, _, name = path.partition(":")
        cls = getattr(importlib.import_module(module), name)
        names.update(env_name(cls, field) for field in secret_fields(cls))
    return frozenset(names)


def is_secret_env(name: str) -> bool:
    upper = name.upper()
    if upper in declared_secrets():
        return True
    return _SECRET_NAME.search(upper) is not None and _QUANTITY.search(upper) is None


def masked(value: str) -> str:
    return f"*** ({len(value)} chars)"


def shown_env(name: str, value: str) -> str:
    """`value` of env variable `name` as a plan may print it."""
    if is_secret_env(name):
        return masked(value)
    return redact_url(value) if "://" in value else value
