"""README.md and docs/: the docs cannot drift from the code.

It sits at the root of `tests/` because the docs sit at the root of the repository; no source
module is under test, the code is the reference the docs are checked against.

- Every field of every pydantic-settings class appears, as the environment variable that sets it,
  in a table row of the page that documents its service (`PAGES`). A new settings class fails
  until it is given a page; a new field fails until its row is written.
- README.md stays short (≤ 200 lines, DESIGN.md "Docs").
- Every relative link in README.md and docs/*.md points at a file that exists, and its `#anchor`,
  if any, at a heading of that file (GitHub's heading ids).
- Every repository path written in backticks exists, every `make <target>` in code is a target of
  the Makefile and every `python -m <module>` names an importable module, so a layout move that
  forgets the docs fails here.

Settings classes are found by parsing the source (not by importing every module: importing
`loadtest/locustfile.py` would monkey-patch this process with gevent); only modules that define a
class deriving from something named `...Settings` are imported.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import importlib.util
import itertools
import re
from pathlib import Path

import pytest
from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings

from common.settings import env_name

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOC_FILES = [README, *sorted((ROOT / "docs").glob("*.md"))]
SOURCE_PACKAGES = (
    "common",
    "gateway",
    "legacy_service",
    "canary_service",
    "rollout",
    "deploy",
    "loadtest",
    "bench",
)
README_MAX_LINES = 200

#: Where each settings class is documented; its variables must be in a table row of that page.
PAGES = {
    "gateway.settings.GatewaySettings": "docs/gateway.md",
    "rollout.settings.RolloutSettings": "docs/rollout.md",
    "rollout.cli.CliSettings": "docs/rollout.md",
    "legacy_service.settings.LegacySettings": "docs/services.md",
    "canary_service.settings.CanarySettings": "docs/services.md",
    "deploy.settings.DeploySettings": "docs/deploy.md",
    "deploy.local.run.LocalRunSettings": "docs/local.md",
    "loadtest.demo.cli.DemoSettings": "docs/local.md",
}
#: Bases with no environment of their own: their fields are read, and checked, by subclasses.
BASES = {
    "common.settings.ServiceSettings",
    "legacy_service.settings.ApiServiceSettings",
}

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
MAKE_TARGET = re.compile(r"\bmake ([a-z][\w*-]*)")
PYTHON_MODULE = re.compile(r"\bpython3? -m ([A-Za-z_][\w.]*)")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _names_a_settings_base(node: ast.ClassDef) -> bool:
    for base in node.bases:
        name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
        if name.endswith("Settings"):
            return True
    return False


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def settings_classes() -> dict[str, type[BaseSettings]]:
    """Every BaseSettings subclass defined in the source packages, by qualified name."""
    found: dict[str, type[BaseSettings]] = {}
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(read(path))
            classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
            if not any(_names_a_settings_base(node) for node in classes):
                continue
            module = importlib.import_module(_module_name(path))
            for node in classes:
                cls = getattr(module, node.name, None)
                if not (isinstance(cls, type) and issubclass(cls, BaseSettings)):
                    continue
                if cls.__module__ == module.__name__:
                    found[qualified(cls)] = cls
    return found


def env_var(cls: type[BaseSettings], field: str) -> str:
    """The variable that sets `field`: its validation alias (the first, if several), else the
    env prefix plus the field name, upper-cased as the docs write it."""
    info = cls.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        alias = next((c for c in alias.choices if isinstance(c, str)), None)
    elif isinstance(alias, AliasPath):
        alias = None
    if isinstance(alias, str):
        return alias.upper()
    if info.alias:
        return info.alias.upper()
    return env_name(cls, field)


def prose(text: str) -> str:
    """The text without fenced code blocks (a `# comment` in a shell block is no heading)."""
    return FENCE.sub("", text)


def table_rows(text: str) -> list[str]:
    return [line for line in prose(text).splitlines() if line.lstrip().startswith("|")]


def mentions(row: str, variable: str) -> bool:
    return re.search(rf"(?<![A-Z0-9_]){re.escape(variable)}(?![A-Z0-9_])", row) is not None


def slug(heading: str) -> str:
    """GitHub's heading id: markup dropped, lower case, punctuation removed, spaces to dashes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    ids: set[str] = set()
    for match in HEADING.finditer(prose(text)):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        ids.add(base if count == 0 else f"{base}-{count}")
    return ids


def code_texts(text: str) -> list[str]:
    """Inline code spans and fenced blocks: where commands and paths are written."""
    blocks = [m.group(0) for m in FENCE.finditer(text)]
    return blocks + INLINE_CODE.findall(prose(text))


def expand_braces(path: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", path)
    if not match:
        return [path]
    head, tail = path[: match.start()], path[match.end() :]
    options = match.group(1).split(",")
    return list(itertools.chain.from_iterable(expand_braces(head + o + tail) for o in options))


def make_targets() -> set[str]:
    targets: set[str] = set()
    for line in read(ROOT / "Makefile").splitlines():
        match = re.match(r"^([A-Za-z][\w -]*?):(?!=)", line)
        if match:
            targets.update(match.group(1).split())
    return targets


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_settings_class_has_a_docs_page() -> None:
    found = set(settings_classes()) - BASES
    unmapped = sorted(found - set(PAGES))
    stale = sorted(set(PAGES) - found)
    assert not unmapped, f"settings classes with no docs page; add them to PAGES: {unmapped}"
    assert not stale, f"PAGES names settings classes that no longer exist: {stale}"


def test_every_setting_is_in_a_table_row_of_its_page() -> None:
    classes = settings_classes()
    missing: dict[str, list[str]] = {}
    for name, page in PAGES.items():
        cls = classes.get(name)
        if cls is None:
            continue  # reported by test_every_settings_class_has_a_docs_page
        rows = table_rows(read(ROOT / page))
        for field in cls.model_fields:
            variable = env_var(cls, field)
            if not any(mentions(row, variable) for row in rows):
                missing.setdefault(page, []).append(f"{variable} ({cls.__name__}.{field})")
    report = "\n".join(f"  {page}: {', '.join(names)}" for page, names in sorted(missing.items()))
    assert not missing, (
        "settings missing from the configuration tables; add a row "
        "`| VARIABLE | default | meaning |` on the page named:\n" + report
    )


def test_readme_is_short() -> None:
    lines = len(read(README).splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move detail to docs/"
    )


def test_relative_links_resolve() -> None:
    broken = []
    for doc in DOC_FILES:
        text = read(doc)
        for target in LINK.findall(INLINE_CODE.sub("", prose(text))):
            if re.match(r"[A-Za-z][\w+.-]*:", target):
                continue  # https:, mailto:
            path_part, _, anchor = target.partition("#")
            dest = (doc.parent / path_part).resolve() if path_part else doc
            if not dest.exists():
                broken.append(f"{rel(doc)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(read(dest)):
                broken.append(f"{rel(doc)}: {target} (no heading #{anchor} in {rel(dest)})")
    assert not broken, "broken links:\n  " + "\n  ".join(broken)


def test_repository_paths_in_code_exist() -> None:
    top = {p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in {".git", ".venv"}}
    missing = []
    for doc in DOC_FILES:
        for span in INLINE_CODE.findall(prose(read(doc))):
            if not re.fullmatch(r"[\w.-]+/[\w./{},*-]*", span) or span.split("/")[0] not in top:
                continue
            for path in expand_braces(span):
                if not (list(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()):
                    missing.append(f"{rel(doc)}: {path}")
    assert not missing, "paths named in the docs that do not exist:\n  " + "\n  ".join(missing)


def test_make_targets_in_code_exist() -> None:
    targets = make_targets()
    unknown = []
    for doc in DOC_FILES:
        for code in code_texts(read(doc)):
            for target in MAKE_TARGET.findall(code):
                if not fnmatch.filter(targets, target):
                    unknown.append(f"{rel(doc)}: make {target}")
    assert not unknown, "make targets the Makefile does not have:\n  " + "\n  ".join(unknown)


def test_python_modules_in_code_exist() -> None:
    unknown = []
    for doc in DOC_FILES:
        for code in code_texts(read(doc)):
            for module in PYTHON_MODULE.findall(code):
                if importlib.util.find_spec(module.rstrip(".")) is None:
                    unknown.append(f"{rel(doc)}: python -m {module}")
    assert not unknown, "modules the docs run that do not exist:\n  " + "\n  ".join(unknown)


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("The gateway (`gateway/`, port 8080)", "the-gateway-gateway-port-8080"),
        ("Workflows (`.github/workflows/`)", "workflows-githubworkflows"),
        (
            "Legacy service (`legacy_service/`, the ion-api stand-in)",
            "legacy-service-legacy_service-the-ion-api-stand-in",
        ),
        ("The live rollout demo (`make demo`)", "the-live-rollout-demo-make-demo"),
    ],
)
def test_slug_follows_github(heading: str, expected: str) -> None:
    """The anchor check is only as good as this function; these ids are GitHub's own."""
    assert slug(heading) == expected
