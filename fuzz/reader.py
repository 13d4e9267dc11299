"""Coverage-guided fuzzing (atheris/libFuzzer) of what reads a returned sheet.

    make fuzz FUZZ_SECONDS=600           # or: .venv/bin/python fuzz/reader.py -max_total_time=600

Each input is either a file (first byte 0: size, type and container checks in this process, then the
isolated parse in a child process as for real uploads, then the sheet check) or, otherwise, a stream of
changes to a good sheet's cells, meta data and merged ranges that goes straight into the sheet check.
Anything but a German refusal is a finding: libFuzzer stops and writes the input to var/fuzz/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["fko"]):
    from tests.support.fuzzing import check_file, check_mutated


def one_input(data: bytes) -> None:
    if data[:1] == b"\0":
        check_file(data[1:], parse=data[1:2] == b"\0")
    else:
        check_mutated(data)


def seed_corpus(folder: Path) -> Path:
    """The hostile and returned test workbooks as starting points (as files: prefix 0 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    fixtures = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
    for source in [*fixtures.glob("hostile/*.*"), *fixtures.glob("returned/*.*")]:
        if source.suffix not in (".py", ".toml") and source.stat().st_size < 512 * 1024:
            (folder / f"seed-{source.name}").write_bytes(b"\0\0" + source.read_bytes())
    return folder


def main() -> None:
    Path("var/fuzz").mkdir(parents=True, exist_ok=True)
    options = [a for a in sys.argv[1:] if a.startswith("-")]
    folders = [a for a in sys.argv[1:] if not a.startswith("-")] or [str(seed_corpus(Path("var/fuzz/corpus")))]
    args = [sys.argv[0], "-artifact_prefix=var/fuzz/", "-rss_limit_mb=4096", *options, *folders]
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
