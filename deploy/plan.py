"""The diff between desired specs and what Cloud Run reports, and its human-readable form.

Pure: `diff(desired, observed)` never calls an API, so `ion-deploy plan` can be trusted to touch
nothing and the same function decides what `apply` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal

from deploy.spec import ServiceSpec

Action = Literal["create", "update"]
_IDENTITY = {"name", "role"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str


@dataclass(frozen=True)
class Change:
    """One service to create or update, with every managed field that differs."""

    action: Action
    spec: ServiceSpec
    fields: tuple[FieldChange, ...]


def _show(spec: ServiceSpec, name: str) -> list[tuple[str, str]]:
    """Flatten one field to (label, text) rows: one per env variable, one per sidecar field."""
    value = getattr(spec, name)
    if name == "env":
        return [(f"env.{key}", val) for key, val in value]
    if name == "secrets":
        return [(f"env.{ref.env}", str(ref)) for ref in value]
    if name == "sidecars":
        return [row for sidecar in value for row in sidecar.rows()]
    return [(name, str(value))]


def _rows(spec: ServiceSpec | None) -> dict[str, str]:
    if spec is None:
        return {}
    names = [f.name for f in fields(ServiceSpec) if f.name not in _IDENTITY]
    return {label: text for name in names for label, text in _show(spec, name)}


def field_changes(old: ServiceSpec | None, new: ServiceSpec) -> tuple[FieldChange, ...]:
    """Every row that differs, removals shown as a change to "(unset)"."""
    before, after = _rows(old), _rows(new)
    labels = sorted(set(before) | set(after))
    return tuple(
        FieldChange(label, before.get(label), after.get(label, "(unset)"))
        for label in labels
        if before.get(label) != after.get(label)
    )


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
