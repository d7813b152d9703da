"""Settings base: one pydantic-settings class per service derives from `ServiceSettings`.

`load_settings(cls)` turns a validation error into `SettingsError`, whose message names every
offending environment variable, so a bad value stops start-up with a readable line.

List variables accept JSON (`["a","b"]`) or a comma-separated string (`a,b`): annotate the field
`NoDecode` (`StrList` does) and give it a `mode="before"` validator returning `split_list(value)`.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceParseError


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the environment variable."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", validate_default=True, frozen=True)


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
    prefix = cls.model_config.get("env_prefix", "") or ""
    return f"{prefix}{field}".upper()


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build `cls` from env (plus explicit overrides); raise SettingsError naming the vars."""
    try:
        return cls(**overrides)
    except SourceParseError as exc:  # a list/map variable that is not valid JSON
        match = re.search(r'field "([^"]+)"', str(exc))
        name = env_name(cls, match.group(1)) if match else "a setting"
        raise SettingsError(f"invalid settings: {name}: not valid JSON") from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["loc"]:
                name = env_name(cls, str(err["loc"][0]))
                problems.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
            else:
                problems.append(err["msg"])
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
