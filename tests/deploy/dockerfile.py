"""Just enough of a Dockerfile parser to test what can be tested without a Docker engine.

Stages by name, each with its instructions (continuation lines joined, comments dropped) and
helpers for the exec-form CMD/HEALTHCHECK arrays; `.dockerignore` patterns applied to a copy.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def exec_form(self, keyword: str) -> list[str]:
        """The last KEYWORD's JSON array (HEALTHCHECK: the part after its `CMD`)."""
        args = self.all(keyword)[-1]
        if keyword == "HEALTHCHECK":
            args = args[args.index("CMD") + 3 :]
        return json.loads(args)


def logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or (stripped.startswith("#") and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def parse(path: Path) -> dict[str, Stage]:
    """Stages by name (`FROM x AS name`), in order; ARGs before the first FROM are substituted."""
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for line in logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and stage is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            for key, value in args.items():
                base = base.replace("${" + key + "}", value)
            stage = stages.setdefault(name.strip(), Stage(name.strip(), base.strip()))
        elif stage is not None:
            stage.instructions.append((keyword, rest))
    return stages


def ignored(patterns: list[str], relative: str) -> bool:
    return any(
        fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(relative, p.removeprefix("**/"))
        for p in patterns
    )


def copy_context(root: Path, dest: Path) -> Path:
    """Copy the build context as Docker would send it, `.dockerignore` applied."""
    lines = (root / ".dockerignore").read_text().splitlines()
    patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]

    def skip(directory: str, names: list[str]) -> list[str]:
        base = Path(directory).relative_to(root)
        return [n for n in names if ignored(patterns, str(base / n).removeprefix("./"))]

    shutil.copytree(root, dest, ignore=skip)
    return dest
