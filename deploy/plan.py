"""The diff between desired specs and what Cloud Run reports, and its human-readable form.

Pure: `diff(desired, observed)` never calls an API, so `ion-deploy plan` can be trusted to touch
nothing and the same function decides what `apply` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal

from deploy.redact import shown_env
from deploy.spec import ServiceSpec

Action = Literal["create", "update"]
_IDENTITY = {"name", "role"}
UNSET = "(unset)"


@dataclass(frozen=True)
class FieldChange:
    """One row of the plan; `old`/`new` as it may be printed (a secret-looking value masked)."""

    field: str
    old: str | None
    new: str


@dataclass(frozen=True)
class Change:
    """One service to create or update, with every managed field that differs."""

    action: Action
    spec: ServiceSpec
    fields: tuple[FieldChange, ...]


def _show(spec: ServiceSpec, name: str) -> list[tuple[str, str, str]]:
    """Flatten one field to (label, value, shown) rows: one per env variable, one per sidecar or
    VPC field. `shown` is what a plan may print: a secret-looking env value is masked."""
    value = getattr(spec, name)
    if name == "env":
        return [(f"env.{key}", val, shown_env(key, val)) for key, val in value]
    if name == "secrets":
        rows = [(f"env.{ref.env}", str(ref)) for ref in value]
    elif name == "sidecars":
        rows = [row for sidecar in value for row in sidecar.rows()]
    elif name == "vpc":
        rows = value.rows() if value else []
    else:
        rows = [(name, str(value))]
    return [(label, text, text) for label, text in rows]


def _rows(spec: ServiceSpec | None) -> dict[str, tuple[str, str]]:
    if spec is None:
        return {}
    names = [f.name for f in fields(ServiceSpec) if f.name not in _IDENTITY]
    return {label: (text, shown) for name in names for label, text, shown in _show(spec, name)}


def field_changes(old: ServiceSpec | None, new: ServiceSpec) -> tuple[FieldChange, ...]:
    """Every row whose value differs, removals shown as a change to "(unset)".

    Values are compared as they are and carried as they may be shown, so a secret that changes
    is an update whose rows say only that it changed.
    """
    before, after = _rows(old), _rows(new)
    labels = sorted(set(before) | set(after))
    return tuple(
        FieldChange(
            label,
            before[label][1] if label in before else None,
            after[label][1] if label in after else UNSET,
        )
        for label in labels
        if _value(before, label) != _value(after, label)
    )


def _value(rows: dict[str, tuple[str, str]], label: str) -> str | None:
    return rows[label][0] if label in rows else None


def diff(
    desired: Sequence[ServiceSpec], observed: Mapping[str, ServiceSpec | None]
) -> list[Change]:
    """Changes needed to turn `observed` (by service name; None = absent) into `desired`."""
    changes = []
    for spec in desired:
        current = observed.get(spec.name)
        delta = field_changes(current, spec)
        if delta:
            changes.append(Change("create" if current is None else "update", spec, delta))
    return changes


def render(changes: Sequence[Change]) -> str:
    """Terraform-like text: `+` create, `~` update, one line per changed field."""
    if not changes:
        return "No changes. The deployed services match the desired state."
    lines = []
    for change in changes:
        mark = "+" if change.action == "create" else "~"
        lines.append(f"{mark} {change.action} {change.spec.name} ({change.spec.role})")
        for item in change.fields:
            text = item.new if item.old is None else f"{item.old} -> {item.new}"
            lines.append(f"    {item.field}: {text}")
    creates = sum(c.action == "create" for c in changes)
    lines.append(f"Plan: {creates} to create, {len(changes) - creates} to update.")
    return "\n".join(lines)
