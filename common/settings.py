"""Settings base: one pydantic-settings class per service derives from `ServiceSettings`.

`load_settings(cls)` turns a validation error into `SettingsError`, whose message names every
offending environment variable, so a bad value stops start-up with a readable line.

List variables accept JSON (`["a","b"]`) or a comma-separated string (`a,b`): annotate the field
`NoDecode` (`StrList` does) and give it a `mode="before"` validator returning `split_list(value)`.

Secrets: annotate a field `Secret[...]` (`admin_token: Secret[str | None] = None`). Its value
never appears in a settings error (only its length does), nor in the settings' `repr()`; the
value itself is read as usual (`settings.admin_token`), so call sites stay plain strings.

Renamed settings: list them once per class in `renamed = {"old_field": "new_field"}`. The old
variable (prefix + old name) keeps working for one release: its value goes to the new field and
a `DeprecatedSettingWarning` names both variables (`load_settings` prints it as one stderr line
at start-up). Both variables set to different values is an error naming both.

Retired settings: list them once per class in `retired = {"old_field": "why it is gone"}`. A
variable that no longer does anything is never ignored in silence: setting it warns at start-up
(`RetiredSettingWarning`, printed like a deprecation) with the reason, and nothing else changes.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceParseError


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the environment variable."""


class DeprecatedSettingWarning(FutureWarning):
    """An environment variable was renamed; the old name still works for one release.

    A FutureWarning: Python shows those to end users by default (DeprecationWarning it hides).
    """


class RetiredSettingWarning(DeprecatedSettingWarning):
    """An environment variable that no longer has any effect is set."""


class _SecretMarker:
    """Metadata of a `Secret[...]` field; read by `is_secret`."""

    def __repr__(self) -> str:
        return "SECRET"


SECRET = _SecretMarker()
T = TypeVar("T")
Secret = Annotated[T, Field(repr=False), SECRET]
"""A setting whose value must never be shown: tokens, API keys, URLs carrying credentials."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", validate_default=True, frozen=True)

    renamed: ClassVar[Mapping[str, str]] = {}
    """Old field name -> new field name; the old variable is honoured for one release."""

    retired: ClassVar[Mapping[str, str]] = {}
    """Field name that no longer exists -> why; setting its variable warns at start-up."""

    @model_validator(mode="before")
    @classmethod
    def _retired_settings(cls, data: Any) -> Any:
        if not cls.retired:
            return data
        environ = _environ(cls)
        given = data if isinstance(data, dict) else {}
        for field, why in cls.retired.items():
            name = env_name(cls, field)
            if field in given or _key(cls, name) in environ:
                warnings.warn(
                    f"{name} no longer has any effect ({why}); unset it",
                    RetiredSettingWarning,
                    stacklevel=2,
                )
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in cls.retired}
        return data

    @model_validator(mode="before")
    @classmethod
    def _renamed_settings(cls, data: Any) -> Any:
        if not cls.renamed or not isinstance(data, dict):
            return data
        environ = _environ(cls)
        data = dict(data)
        for old_field, new_field in cls.renamed.items():
            old, new = env_name(cls, old_field), env_name(cls, new_field)
            value = data.pop(old_field, None)  # a keyword argument with the old name
            if value is None and _key(cls, old) in environ:
                value = environ[_key(cls, old)]
                other = environ.get(_key(cls, new))
                if other is not None and other != value:
                    raise ValueError(
                        f"{old} (deprecated) and {new} are both set, to different values; "
                        f"unset {old}"
                    )
            if value is None:
                continue
            warnings.warn(
                f"{old} is deprecated and goes away in the next release; set {new} instead",
                DeprecatedSettingWarning,
                stacklevel=2,
            )
            data.setdefault(new_field, value)  # the new name, when given too, wins
        return data


S = TypeVar("S", bound=BaseSettings)
StrList = Annotated[tuple[str, ...], NoDecode]


def split_list(value: Any) -> Any:
    """`["a","b"]` (JSON) or `a, b` (commas, blanks dropped) from env; other values pass through.

    pydantic-settings alone only takes JSON, and operators type `A=x,y` in shells and YAML.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [part.strip() for part in text.split(",") if part.strip()]


def env_name(cls: type[BaseSettings], field: str) -> str:
    """The variable a field is read from: its alias if it has one, else prefix + name."""
    info = cls.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias.upper()
    prefix = cls.model_config.get("env_prefix", "") or ""
    return f"{prefix}{field}".upper()


def is_secret(cls: type[BaseSettings], field: str) -> bool:
    info = cls.model_fields.get(field)
    return info is not None and SECRET in info.metadata


def secret_fields(cls: type[BaseSettings]) -> list[str]:
    return [name for name in cls.model_fields if is_secret(cls, name)]


def redact_url(url: str) -> str:
    """`redis://:pw@host/0` -> `redis://:***@host/0`: a URL as a log line or banner may show it."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return "***"
    return url.replace(f":{password}@", ":***@", 1) if password else url


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build `cls` from env (plus explicit overrides); raise SettingsError naming the vars.

    Renamed variables still in use are reported on stderr, one line each.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecatedSettingWarning)
        result = _build(cls, overrides)
    _report(caught)
    if isinstance(result, SettingsError):
        raise result  # raised here, outside any except: pydantic's text is not even chained
    return result


def _build(cls: type[S], overrides: Mapping[str, Any]) -> S | SettingsError:
    try:
        return cls(**overrides)
    except SourceParseError as exc:  # a list/map variable that is not valid JSON
        match = re.search(r'field "([^"]+)"', str(exc))
        name = env_name(cls, match.group(1)) if match else "a setting"
        return SettingsError(f"invalid settings: {name}: not valid JSON")
    except ValidationError as exc:
        problems = [_problem(cls, err) for err in exc.errors()]
        return SettingsError("invalid settings: " + "; ".join(problems))


def _report(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        if issubclass(warning.category, DeprecatedSettingWarning):
            print(f"warning: {warning.message}", file=sys.stderr, flush=True)
        else:  # not ours: hand it back to whatever filters are in force
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )


def _problem(cls: type[BaseSettings], err: Any) -> str:
    """One line per error, naming the variable; a secret shows its length, never its value."""
    if not err["loc"]:
        return str(err["msg"])
    field = _field_named(cls, str(err["loc"][0]))
    name = env_name(cls, field)
    value = err.get("input")
    if not is_secret(cls, field):
        return f"{name}: {err['msg']} (got {value!r})"
    return f"{name}: {_scrub(str(err['msg']), value)} (got a secret of {len(str(value))} chars)"


def _scrub(message: str, value: Any) -> str:
    """A validator's message should never quote a secret; if one does, hide the secret anyway."""
    if isinstance(value, str) and value:
        message = message.replace(value, "***")
        password = _password(value)
        if password:
            message = message.replace(password, "***")
    return message


def _password(value: str) -> str | None:
    try:
        return urlsplit(value).password
    except ValueError:
        return None


def _field_named(cls: type[BaseSettings], key: str) -> str:
    """Error locations use the alias when a field has one; map it back to the field."""
    for name, info in cls.model_fields.items():
        if key == name or key == info.validation_alias:
            return name
    return key


def _environ(cls: type[BaseSettings]) -> dict[str, str]:
    if cls.model_config.get("case_sensitive"):
        return dict(os.environ)
    return {key.upper(): value for key, value in os.environ.items()}


def _key(cls: type[BaseSettings], name: str) -> str:
    return name if cls.model_config.get("case_sensitive") else name.upper()
