"""Import rules of the gateway, checked on the sources with `ast` (lazy imports included).

- No module of `gateway/` but its entry point `__main__` imports `rollout`: the gateway knows
  nothing of stores or controllers (gateway/extension.py).
- runtime.py and proxy.py do not import each other; errors.py imports no client library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gateway

GATEWAY_DIR = Path(gateway.__file__).parent
ALLOWED = {"__main__.py"}  # the entry point wires the rollout extension in


def imported_modules(source: str) -> set[str]:
    """Every module an `import` or `from ... import` anywhere in `source` names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def imports_rollout(source: str) -> bool:
    return any(
        name == "rollout" or name.startswith("rollout.") for name in imported_modules(source)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import rollout", True),
        ("from rollout.store import open_store", True),
        ("def f():\n    import rollout.machine\n", True),
        ("if TYPE_CHECKING:\n    from rollout import settings\n", True),
        ("from gateway.routing import choose\nimport rollouts\n", False),
        ("from . import rollout\n", False),  # relative: gateway.rollout, not the package
    ],
)
def test_the_check_sees_every_kind_of_import(source, expected):
    assert imports_rollout(source) is expected


def test_no_gateway_module_but_main_imports_rollout():
    sources = sorted(GATEWAY_DIR.rglob("*.py"))
    assert len(sources) > 10  # the package was found
    offenders = [
        name
        for path in sources
        if (name := path.relative_to(GATEWAY_DIR).as_posix()) not in ALLOWED
        and imports_rollout(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_main_does_import_rollout():
    """Keeps ALLOWED honest: if the entry point stops wiring the rollout in, drop the exception."""
    assert imports_rollout((GATEWAY_DIR / "__main__.py").read_text(encoding="utf-8"))


def module_imports(name: str) -> set[str]:
    return imported_modules((GATEWAY_DIR / f"{name}.py").read_text(encoding="utf-8"))


def test_runtime_and_proxy_do_not_import_each_other():
    """The outcome of a request travels as one `gateway.outcome.Outcome`, not back and forth."""
    assert "gateway.proxy" not in module_imports("runtime")
    assert "gateway.runtime" in module_imports("proxy")  # the direction that stays


def test_the_error_taxonomy_knows_no_client_library():
    """aiohttp's exceptions become GatewayErrors in gateway.upstream, nowhere else."""
    assert not {m for m in module_imports("errors") if m.split(".")[0] in {"aiohttp", "asyncio"}}
    assert "aiohttp" in module_imports("upstream")
