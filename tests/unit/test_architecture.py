"""The dependency rule of DESIGN §3, checked on the import statements and calls of every module of the house."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("core", "storage", "mail", "portal", "usecases", "flows", "cli")
ENTRY_POINTS = ("portal", "flows", "cli")
# What each room may import of ours (DESIGN §3): core nothing; adapters core; use cases the adapters;
# entry points the use cases and core. Nothing imports an entry point but itself.
MAY_IMPORT = {
    "core": {"core"},
    "storage": {"core", "storage"},
    "mail": {"core", "mail"},
    "usecases": {"core", "storage", "mail", "usecases"},
    "portal": {"core", "usecases", "portal"},
    "flows": {"core", "usecases", "flows"},
    "cli": {"core", "usecases", "cli"},
}
# Where an entry point starts another one (`fko portal` serves the page, `fko serve` and `fko demo` run the
# flows and the page): allowed only inside a function, and only here.
COMPOSITION = {"cli/portal_cmd.py": {"portal", "flows"}, "cli/serve_cmd.py": {"flows"},
               "cli/demo_run.py": {"portal", "flows"}}
FORBIDDEN_IN_CORE = ("prefect", "sqlmodel", "sqlalchemy", "alembic", "aiosmtplib", "aiosmtpd", "fastapi",
                     "starlette", "httpx", "requests", "urllib.request", "socket", "smtplib", "psycopg",
                     "uvicorn", "subprocess", "shutil", "tempfile", "glob")
FORBIDDEN_OUTSIDE_ENTRY_POINTS = ("prefect", "typer", "fastapi", "starlette", "uvicorn")
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
               ("time", "time"), ("time", "monotonic"), ("time", "perf_counter")}
FILE_METHODS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "glob", "rglob",
                "exists", "is_file", "is_dir", "stat", "listdir", "scandir", "unlink", "mkdir"}
FILE_FUNCTIONS = {"open", "FileSystemLoader", "FileStore"}


def imports_of(source: str, *, top_level_only: bool = False) -> list[str]:
    tree = ast.parse(source)
    names: list[str] = []
    for node in (tree.body if top_level_only else ast.walk(tree)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def clock_calls(source: str) -> list[str]:
    """``dt.datetime.now()``, ``datetime.now()``, ``date.today()``, ``time.time()``: any spelling."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (owner_name, node.func.attr) in CLOCK_CALLS:
                found.append(f"{owner_name}.{node.func.attr}")
    return found


def file_reads(source: str) -> list[str]:
    """Calls that touch the file system: ``open(...)``, ``path.read_text()``, a Jinja2 FileSystemLoader…"""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in FILE_METHODS:
                found.append(node.func.attr)
            elif isinstance(node.func, ast.Name) and node.func.id in FILE_FUNCTIONS:
                found.append(node.func.id)
    return found


def room_of(name: str) -> str | None:
    top = name.split(".")[0]
    return top if top in ROOMS else None


def modules(room: str) -> list[Path]:
    return sorted(p for p in (ROOT / room).rglob("*.py") if "migrations" not in p.parts or p.name == "env.py")


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _hits(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_house_has_the_rooms_of_the_design_card() -> None:
    for room in (*ROOMS, "survey_templates", "tests", "bench", "fuzz"):
        assert (ROOT / room).is_dir(), room
    for path in ("prefect.yaml", "pyproject.toml", "README.md", "Makefile", ".ci/run"):
        assert (ROOT / path).is_file(), path
    assert not (ROOT / "fko").exists(), "no package named fko/ (DESIGN §3)"
    assert not (ROOT / "settings.py").exists()
    assert list((ROOT / "survey_templates").rglob("*.py")) == [], "survey_templates holds data only"


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_no_adapter_prefect_or_network(path: Path) -> None:
    source = _source(path)
    bad = [n for n in imports_of(source) if _hits(n, FORBIDDEN_IN_CORE) or (room_of(n) not in (None, "core"))]
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}: core must stay pure (DESIGN §3)"


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_reads_no_clock_and_no_file(path: Path) -> None:
    source = _source(path)
    assert clock_calls(source) == [], f"{path.name} reads the clock: pass today/now as a parameter"
    assert file_reads(source) == [], f"{path.name} touches files: pass the loaded text or bytes as a parameter"


@pytest.mark.parametrize("room", [r for r in ROOMS if r != "core"])
def test_rooms_import_only_what_the_rule_allows(room: str) -> None:
    bad = {}
    for path in modules(room):
        names = imports_of(_source(path))
        at_top = imports_of(_source(path), top_level_only=True)
        allowed = COMPOSITION.get(str(path.relative_to(ROOT)), set())
        ours = [n for n in names if room_of(n) and room_of(n) not in MAY_IMPORT[room]
                and (room_of(n) not in allowed or n in at_top)]
        foreign = [n for n in names if room not in ENTRY_POINTS and _hits(n, FORBIDDEN_OUTSIDE_ENTRY_POINTS)]
        if ours or foreign:
            bad[str(path.relative_to(ROOT))] = ours + foreign
    assert bad == {}, f"imports against DESIGN §3: {bad}"


def test_cli_calls_use_cases_only() -> None:
    offenders = {str(p.relative_to(ROOT)): [n for n in imports_of(_source(p)) if _hits(n, ("sqlmodel", "sqlalchemy"))]
                 for p in modules("cli")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_module_imports_another_modules_private_name() -> None:
    offenders = []
    for room in ROOMS:
        for path in modules(room):
            for node in ast.walk(ast.parse(_source(path))):
                if isinstance(node, ast.ImportFrom) and node.module and room_of(node.module):
                    offenders += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                                  if a.name.startswith("_")]
    assert offenders == []


# The checkers themselves must fail on a planted violation.

def test_composition_imports_count_only_inside_functions() -> None:
    source = "import portal.app\ndef run() -> None:\n    from flows.demo import run_demo\n"
    assert imports_of(source, top_level_only=True) == ["portal.app"]
    assert imports_of(source) == ["portal.app", "flows.demo"]


def test_rule_check_catches_a_forbidden_import() -> None:
    source = "from storage.models import Region\nimport prefect.flows\nfrom core.diff import apply_diff\n"
    assert [n for n in imports_of(source) if _hits(n, FORBIDDEN_IN_CORE) or room_of(n) not in (None, "core")] == [
        "storage.models", "prefect.flows"]


@pytest.mark.parametrize("snippet", ["import datetime as dt\nx = dt.datetime.now()\n",
                                     "from datetime import date\nx = date.today()\n",
                                     "import time\nx = time.time()\n",
                                     "import datetime\nx = datetime.datetime.now(datetime.UTC)\n"])
def test_clock_check_catches_a_planted_clock(snippet: str) -> None:
    assert clock_calls(snippet) != []


@pytest.mark.parametrize("snippet", ["x = open('a.txt').read()\n",
                                     "from pathlib import Path\nx = Path('a').read_text()\n",
                                     "from jinja2 import FileSystemLoader\nx = FileSystemLoader('t')\n",
                                     "import os\nx = os.listdir('.')\n", "def f(p):\n    return p.exists()\n"])
def test_file_check_catches_a_planted_read(snippet: str) -> None:
    assert file_reads(snippet) != []


def test_clock_and_file_checks_pass_pure_code() -> None:
    pure = "import datetime as dt\ndef f(today: dt.date) -> dt.date:\n    return today + dt.timedelta(days=1)\n"
    assert clock_calls(pure) == [] and file_reads(pure) == []
