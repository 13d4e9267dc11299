"""Run every benchmark in bench/ and write their tables into bench/RESULTS.md (`make bench`).

Each benchmark measures against its own baseline in the same run and prints a Markdown table; this
collects them, with the machine and the date, in one file the README links.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    ("CLI start: fko vs. import typer, rich", ["-m", "bench.cli"]),
    ("Workbook: build and read+validate vs. unzip+iterparse", ["-m", "bench.workbook"]),
    ("Mail: 500 invitations, fko vs. the best bare aiosmtplib sender, relay with 5 ms per command",
     ["-m", "bench.mail"]),
    ("Mail intake: 500 replies from a Dovecot mailbox, fko vs. a bare download", ["-m", "bench.mail", "--imap"]),
    ("Page: the upload answer, one process per file vs. pre-started readers", ["-m", "bench.portal"]),
    ("Deadline day: uploads at once vs. cores ÷ CPU time of one upload, SQLite and PostgreSQL",
     ["-m", "bench.deadline"]),
    ("Storage: activity inserts vs. bare sqlite3", ["-m", "bench.storage"]),
    ("Documents: rendering by size, fko's PDF vs. a bare Chromium print", ["-m", "bench.concept", "--sizes",
                                                                          os.environ.get("FKO_BENCH_CONCEPT_SIZES",
                                                                                         "3x30,640x30")]),
    ("Opening a round: personal sheets + invitations, openpyxl vs. the round's skeleton vs. zipfile",
     ["-m", "bench.opening", "--sizes", os.environ.get("FKO_BENCH_OPENING_SIZES", "640,6400")]),
    ("Roll-up: 16 regions, fko's figures and files vs. a plain SQL group-by", ["-m", "bench.rollup"]),
    ("16 regions: opened and reminded by one Prefect worker vs. two", ["-m", "bench.cycle", "--regions", "16x40"]),
    ("Whole round: Prefect flows vs. direct, by size", ["-m", "bench.cycle", "--sizes",
                                                        os.environ.get("FKO_BENCH_SIZES", "40,640")]),
]


def main() -> None:
    parts = [f"# Benchmark results\n\nWritten by `make bench` on {dt.date.today():%Y-%m-%d}, "
             f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. Each table "
             "compares against a baseline measured in the same run; absolute times depend on the machine.\n"]
    for title, args in BENCHMARKS:
        print(f"running: {title}", file=sys.stderr, flush=True)
        completed = subprocess.run([sys.executable, *args], cwd=HERE.parent, capture_output=True, text=True,  # noqa: S603 (our interpreter, fixed argv)
                                   check=False)
        body = completed.stdout.strip() if completed.returncode == 0 else (
            f"failed (exit {completed.returncode}):\n\n```\n{completed.stderr[-2000:]}\n```")
        parts.append(f"## {title}\n\n{body}\n")
    target = HERE / "RESULTS.md"
    target.write_text("\n".join(parts), encoding="utf-8")
    print(f"written: {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
