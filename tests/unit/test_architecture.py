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


def _imports(source: str) -> list[tuple[str, bool]]:
    """Every ``import``/``from … import`` of the source: (module, whether it stands inside a function)."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, in_function))
        inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(source), False)
    return found


def imports_of(source: str) -> list[str]:
    return [name for name, _ in _imports(source)]


def clock_calls(source: str) -> list[str]:
    """``dt.datetime.now()``, ``datetime.now()``, ``D.now()`` after ``from datetime import datetime as D``,
    ``date.today()``, ``time.time()`` and ``time()`` after ``from time import time``: any spelling."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}   # local name → what it is: "datetime", "date", "time" (module) …
    bare: dict[str, str] = {}      # local name of a clock function imported on its own → its owner
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            for alias in node.names:
                if (node.module, alias.name) in CLOCK_CALLS:
                    bare[alias.asname or alias.name] = node.module
                aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in bare:
            found.append(f"{bare[node.func.id]}.{node.func.id}")
        elif isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (aliases.get(str(name), name), node.func.attr) in CLOCK_CALLS:
                found.append(f"{name}.{node.func.attr}")
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


def core_violations(source: str) -> list[str]:
    """What a core module may not do: import an adapter, Prefect or the network, read the clock or a file."""
    bad = [f"imports {n}" for n in imports_of(source)
           if _hits(n, FORBIDDEN_IN_CORE) or room_of(n) not in (None, "core")]
    bad += [f"reads the clock: {c}" for c in clock_calls(source)]
    bad += [f"touches files: {f}" for f in file_reads(source)]
    return bad


def room_violations(source: str, room: str, relpath: str) -> list[str]:
    """Imports against DESIGN §3 for a module of ``room`` (``relpath``: its path, for the composition list)."""
    allowed = COMPOSITION.get(relpath, set())
    foreign = ((*FORBIDDEN_OUTSIDE_ENTRY_POINTS,) if room not in ENTRY_POINTS else ()) + (
        ("sqlmodel", "sqlalchemy") if room == "cli" else ())  # commands call use cases only
    bad = []
    for name, in_function in _imports(source):
        target = room_of(name)
        ours_not_allowed = target is not None and target not in MAY_IMPORT[room]
        if (ours_not_allowed and not (target in allowed and in_function)) or _hits(name, foreign):
            bad.append(name)
    return bad


def private_imports(source: str) -> list[str]:
    """``from core.x import _helper``: a module reaching into another's private names."""
    return [f"{node.module}.{a.name}" for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ImportFrom) and node.module and room_of(node.module)
            for a in node.names if a.name.startswith("_")]


def modules(room: str) -> list[Path]:
    """Every module of the room, migrations included."""
    return sorted((ROOT / room).rglob("*.py"))


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
def test_core_stays_pure(path: Path) -> None:
    assert core_violations(_source(path)) == [], f"{path.relative_to(ROOT)}: core must stay pure (DESIGN §3)"


@pytest.mark.parametrize("room", [r for r in ROOMS if r != "core"])
def test_rooms_import_only_what_the_rule_allows(room: str) -> None:
    bad = {str(p.relative_to(ROOT)): room_violations(_source(p), room, str(p.relative_to(ROOT))) for p in modules(room)}
    assert {k: v for k, v in bad.items() if v} == {}, "imports against DESIGN §3"


def test_no_module_imports_another_modules_private_name() -> None:
    offenders = {str(p.relative_to(ROOT)): private_imports(_source(p)) for room in ROOMS for p in modules(room)}
    assert {k: v for k, v in offenders.items() if v} == {}


# The checkers themselves must fail on a planted violation.

@pytest.mark.parametrize("snippet", ["import datetime as dt\nx = dt.datetime.now()\n",
                                     "from datetime import date\nx = date.today()\n",
                                     "import time\nx = time.time()\n",
                                     "from time import time\nx = time()\n",
                                     "from datetime import datetime as D\nx = D.now()\n",
                                     "import datetime\nx = datetime.datetime.now(datetime.UTC)\n",
                                     "x = open('a.txt').read()\n",
                                     "from pathlib import Path\nx = Path('a').read_text()\n",
                                     "from jinja2 import FileSystemLoader\nx = FileSystemLoader('t')\n",
                                     "import os\nx = os.listdir('.')\n", "def f(p):\n    return p.exists()\n",
                                     "from storage.models import Region\n", "import prefect.flows\n",
                                     "def f():\n    import sqlmodel\n"])
def test_core_check_catches_a_planted_violation(snippet: str) -> None:
    assert core_violations(snippet) != []


def test_core_check_passes_pure_code() -> None:
    pure = ("import datetime as dt\nfrom core.diff import apply_diff\n"
            "def f(today: dt.date) -> dt.date:\n    return today + dt.timedelta(days=1)\n")
    assert core_violations(pure) == []


@pytest.mark.parametrize(("room", "relpath", "snippet"), [
    ("storage", "storage/x.py", "from usecases.context import AppContext\n"),
    ("storage", "storage/migrations/versions/0009_x.py", "import usecases.settings\n"),
    ("mail", "mail/x.py", "from storage.models import Region\n"),
    ("usecases", "usecases/x.py", "from portal.app import create_app\n"),
    ("usecases", "usecases/x.py", "from prefect import flow\n"),
    ("portal", "portal/x.py", "from storage.database import session_scope\n"),
    ("flows", "flows/x.py", "from cli.output import say\n"),
    ("cli", "cli/x.py", "from sqlmodel import select\n"),
    ("cli", "cli/x.py", "def f():\n    from flows.serve import serve_all\n"),          # not on the list
    ("cli", "cli/portal_cmd.py", "import portal.app\n"),                                # listed, but top level
    ("cli", "cli/portal_cmd.py", "try:\n    import portal.app\nexcept ImportError:\n    pass\n"),
])
def test_room_check_catches_a_planted_violation(room: str, relpath: str, snippet: str) -> None:
    assert room_violations(snippet, room, relpath) != []


def test_room_check_allows_listed_composition_inside_a_function() -> None:
    snippet = "from usecases.context import app_context\ndef run() -> None:\n    from portal.app import create_app\n"
    assert room_violations(snippet, "cli", "cli/portal_cmd.py") == []


def test_private_import_check_catches_a_planted_one() -> None:
    assert private_imports("from cli.sheet_cmd import _parse_date\n") == ["cli.sheet_cmd._parse_date"]
    assert private_imports("from cli.options import parse_date\n") == []
