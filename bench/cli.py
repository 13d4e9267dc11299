"""Benchmark: how fast `fko` answers, against `python -c "import typer, rich"` (the floor of any typer CLI).

    .venv/bin/python -m bench.cli [--runs 9]

Each command runs as staff run it (a fresh process); the median of the runs is compared with the floor,
measured in the same run, interleaved. `fko cycle status --json` reads the demo region with a round open.
The rows marked "imports" are where the status's time goes: the same interpreter importing, one layer more each
row, what the status command needs (fko's command modules, its settings, the template folder, SQLAlchemy, the
table models, everything the status imports).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FKO = [sys.executable, "-m", "cli"]


# What `fko cycle status` imports, one layer more each step (cumulative).
LADDER = [("fko's command modules (what `fko --help` loads)", "cli"),
          ("+ settings (pydantic, pydantic-settings)", "cli, usecases.settings"),
          ("+ template folder (policy, catalogs)", "cli, usecases.settings, storage.template_folder"),
          ("+ SQLAlchemy", "cli, usecases.settings, storage.template_folder, sqlalchemy.orm"),
          ("+ SQLModel and the table models", "cli, usecases.settings, storage.template_folder, storage.models"),
          ("+ everything the status imports", "cli, usecases.context, usecases.status")]


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FKO_")}
        env["FKO_DATA_DIR"] = str(Path(tmp) / "var")
        subprocess.run([*FKO, "init", "--demo"], env=env, check=True, capture_output=True)  # noqa: S603
        subprocess.run([*FKO, "cycle", "open", "--year", "2027", "--deadline", "15.10.2027", "--no-send"],  # noqa: S603
                       env=env, check=True, capture_output=True)
        commands = {"python -c \"import typer, rich\" (floor)": [sys.executable, "-c", "import typer, rich"],
                    "fko --help": [*FKO, "--help"],
                    "fko cycle --help": [*FKO, "cycle", "--help"],
                    "fko cycle status --json (demo, round open)": [*FKO, "cycle", "status", "--json"],
                    **{f"imports: {label}": [sys.executable, "-c", f"import {modules}"]
                       for label, modules in LADDER}}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(timed(command, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians["python -c \"import typer, rich\" (floor)"]
    print(f"median of {args.runs} runs each, fresh processes, interleaved\n")
    print("| command | median s | ratio to the floor | goal |")
    print("|---|---:|---:|---|")
    goals = {"fko --help": "≤ 2.5×", "fko cycle status --json (demo, round open)": "≤ 5×"}
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.2f} | {seconds / floor:.1f}× | {goals.get(name, '')} |")


if __name__ == "__main__":
    main()
