"""The dependency rule of DESIGN §3, checked on the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]
ADAPTERS = ("storage", "mail", "portal", "flows", "usecases", "cli")
FORBIDDEN_IN_CORE = ("prefect", "sqlmodel", "sqlalchemy", "alembic", "aiosmtplib", "aiosmtpd", "fastapi",
                     "starlette", "httpx", "requests", "urllib.request", "socket", "smtplib", "psycopg",
                     "uvicorn", *ADAPTERS)
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
               ("time", "time"), ("time", "monotonic")}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def modules(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).rglob("*.py"))


def _hits(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_no_adapter_prefect_or_network(path: Path) -> None:
    bad = [name for name in imports_of(path) if _hits(name, FORBIDDEN_IN_CORE)]
    assert bad == [], f"{path.relative_to(PACKAGE.parent)} imports {bad}: core must stay pure (DESIGN §3)"


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_reads_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        f"{node.func.value.id}.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name) and (node.func.value.id, node.func.attr) in CLOCK_CALLS
    ]
    assert calls == [], f"{path.name} reads the clock ({calls}): pass today/now as a parameter"


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("storage", ("mail", "portal", "flows", "usecases", "prefect")),
        ("mail", ("storage", "portal", "flows", "usecases", "prefect")),
        ("portal", ("flows", "prefect")),
        ("usecases", ("flows", "portal", "prefect")),
    ],
)
def test_adapters_do_not_import_flows_or_each_other(package: str, forbidden: tuple[str, ...]) -> None:
    bad = {
        str(path.relative_to(PACKAGE.parent)): [n for n in imports_of(path) if _hits(n, forbidden)]
        for path in modules(package)
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_nothing_outside_flows_imports_flows() -> None:
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for room in ("core", "storage", "mail", "portal", "usecases")
        for path in (PACKAGE / room).rglob("*.py")
        if any(_hits(n, ("flows", "cli")) for n in imports_of(path))
    ]
    assert offenders == []


def test_rule_check_catches_a_violation(tmp_path: Path) -> None:
    # The checker itself must see through `from ... import` and dotted names.
    module = tmp_path / "bad.py"
    module.write_text("from storage.models import Region\nimport prefect.flows\n", encoding="utf-8")
    assert [n for n in imports_of(module) if _hits(n, FORBIDDEN_IN_CORE)] == ["storage.models", "prefect.flows"]
