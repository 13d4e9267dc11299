"""No traceback, anywhere, for any argument (issue 23): every command with the wrong inputs staff type, on a demo
database with a round open. Each answer is exit 1 or 2 and one German line ("Fehler: …"), or for a refused file
the German list of its problems; never a traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core.dates import BERLIN

TODAY = dt.datetime.now(BERLIN).date()
YEAR = str(TODAY.year)
NO_YEAR = "2030"


def _deadline() -> str:
    day = TODAY + dt.timedelta(days=40)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return f"{day:%d.%m.%Y}"


# {file}: an existing file, {dir}: an existing folder, {missing}: a path that does not exist.
CASES = [
    ("init", "--region-file", "{missing}"),
    ("init", "--region-file", "{dir}"),
    ("init", "--region-file", "/proc/fko/region.toml"),
    ("institutions", "import", "{missing}"),
    ("institutions", "import", "{dir}"),
    ("institutions", "import", "{file}"),
    ("sheet", "build", "--institution", "XYZ", "--out", "{new}"),
    ("sheet", "build", "--institution", "IHK", "--out", "/proc/fko/x.xlsx"),
    ("sheet", "build", "--institution", "IHK", "--out", "{file}/x.xlsx"),
    ("sheet", "check", "{missing}"),
    ("sheet", "check", "{dir}"),
    ("cycle", "new-link", "-i", "XYZ", "--year", YEAR),
    ("cycle", "new-link", "-i", "IHK", "--year", NO_YEAR),
    ("cycle", "deadline", "--year", NO_YEAR, "{deadline}"),
    ("cycle", "status", "--year", NO_YEAR),
    ("ingest", "{missing}"),
    ("ingest", "{dir}"),
    ("ingest", "{file}", "--year", NO_YEAR),
    ("remind", "--today", "31.02.2026"),
    ("render", "--version", "9999", "--out", "{new}", "--no-pdf"),
    ("render", "--year", NO_YEAR, "--out", "{new}", "--no-pdf"),
    ("render", "--out", "{file}", "--no-pdf"),
    ("render", "--out", "/proc/fko", "--no-pdf"),
    ("diff", "--from", "9999"),
    ("diff", "--to", "9999"),
    ("publish", "--year", NO_YEAR, "--yes"),
    ("concept", "import", "{missing}"),
    ("concept", "import", "{dir}"),
    ("concept", "texts", "export", "--out", "/proc/fko/Texte.docx"),
    ("concept", "texts", "export", "--out", "{dir}"),
    ("concept", "texts", "export", "--version", "9999", "--out", "{new}.docx"),
    ("concept", "texts", "import", "{missing}"),
    ("concept", "texts", "import", "{dir}"),
    ("mail", "test", "--to", "kein-postfach"),
]


@pytest.fixture(scope="module")
def round_open(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo database with a running round, shared by every case (none of them changes anything)."""
    import os
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("wrong-inputs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FKO_")} | {"FKO_DATA_DIR": str(folder / "var")}
    for args in (["init", "--demo"], ["cycle", "open", "--year", YEAR, "--deadline", _deadline(), "--no-send"]):
        done = subprocess.run([sys.executable, "-m", "cli", *args], env=env, cwd=folder, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    (folder / "a-file.txt").write_text("kein Tabellenblatt\n", encoding="utf-8")
    (folder / "a-folder").mkdir()
    return folder


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c) for c in CASES])
def test_a_wrong_input_gets_one_german_line(run_fko, fko_env: dict[str, str], round_open: Path,  # type: ignore[no-untyped-def]
                                            case: tuple[str, ...]) -> None:
    values = {"file": str(round_open / "a-file.txt"), "dir": str(round_open / "a-folder"),
              "missing": str(round_open / "gibt-es-nicht.xlsx"), "new": str(round_open / "neu"),
              "deadline": _deadline()}
    args = [part.format(**values) for part in case]
    env = {**fko_env, "FKO_DATA_DIR": str(round_open / "var")}
    result = run_fko(*args, env=env, cwd=round_open)
    shown = f"fko {' '.join(args)}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    for english in ("No such file", "Is a directory", "Not a directory", "Permission denied", "Error:"):
        assert english not in result.stderr, shown
    assert result.exit_code in (1, 2), shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, shown
    if result.exit_code == 2 or lines[0].startswith("Fehler: "):  # a usage error: one line (and maybe a hint)
        assert len(lines) <= 2 and lines[0].startswith("Fehler: "), shown
    else:  # a refused file: what was refused, then each problem located
        assert "nicht" in lines[0] and len(lines) >= 2, shown
