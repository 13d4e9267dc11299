"""Inputs for the fuzzers (hypothesis in the tests, atheris in fuzz/): a good sheet changed by a stream of
fuzzer-chosen bytes, and the check every returned sheet goes through. Any exception other than the
documented refusals is a bug."""

from __future__ import annotations

import datetime as dt
import struct

from core.filetype import FileRefused, Limits, check_container, check_size, detect_format
from core.grid import Grid, GridError, Value
from core.sheet_check import Expected, SheetResult, check_sheet
from core.workbook_read import read_grid
from tests.support.factories import SHEET_SECRET, build_sheet_bytes, demo_activities, templates
from usecases.settings import BUNDLED_TEMPLATES

SPEC, CATALOGS = templates()
BASE = demo_activities()
GOOD = build_sheet_bytes()
EXPECTED = Expected("aachen", 2026, SHEET_SECRET, "IHK")


class Stream:
    """Reads decisions from the fuzzer's bytes; zeros once they run out."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk.ljust(n, b"\0")

    def int(self, below: int) -> int:
        return int.from_bytes(self.take(2), "little") % max(below, 1)

    @property
    def exhausted(self) -> bool:
        return self.at >= len(self.data)

    def value(self) -> Value:
        kind = self.int(10)
        if kind == 0:
            return None
        if kind == 1:
            return struct.unpack("<d", self.take(8))[0]  # any double: NaN, infinities, 1e308
        if kind == 2:
            return int.from_bytes(self.take(8), "little", signed=True)
        if kind == 3:
            return bool(self.int(2))
        if kind == 4:
            return dt.date.fromordinal(1 + int.from_bytes(self.take(3), "little") % 3_652_058)
        if kind == 5:
            return dt.datetime.fromordinal(1 + int.from_bytes(self.take(3), "little") % 3_652_058)
        if kind == 6:
            return dt.time(self.int(24), self.int(60))
        if kind == 7:
            return dt.timedelta(seconds=int.from_bytes(self.take(4), "little", signed=True))
        if kind == 8:  # a value of a catalog or a header, maybe off by a little
            words = [*(c.header for c in SPEC.columns), *CATALOGS.statuses, *CATALOGS.fields_of_action,
                     "IHK-0001", "HWK-0001"]
            return words[self.int(len(words))] + ("" if self.int(3) else " ")
        return self.take(self.int(60)).decode("utf-8", errors="replace")


def good_grid() -> Grid:
    return read_grid(GOOD, spec=SPEC, limits=Limits())


def mutated_grid(data: bytes) -> Grid:
    grid = good_grid()
    stream = Stream(data)
    for _ in range(40):
        if stream.exhausted:
            break
        operation = stream.int(9)
        rows = grid.rows
        if operation == 0:
            row = stream.int(len(rows) + 3)
            while len(rows) <= row:
                rows.append([])
            column = stream.int(24)
            rows[row].extend([None] * (column + 1 - len(rows[row])))
            rows[row][column] = stream.value()
        elif operation == 1 and rows:
            del rows[stream.int(len(rows))]
        elif operation == 2 and rows:
            rows.insert(stream.int(len(rows)), list(rows[stream.int(len(rows))]))
        elif operation == 3:
            keys = [*grid.meta, "institution", "cycle_year", "signature"]
            grid.meta[keys[stream.int(len(keys))]] = str(stream.value())
        elif operation == 4 and grid.meta:
            del grid.meta[list(grid.meta)[stream.int(len(grid.meta))]]
        elif operation == 5:
            a, b = stream.int(60), stream.int(20)
            grid.merged.append((a, b, a + stream.int(4), b + stream.int(3)))
        elif operation == 6:
            grid.total_rows = stream.int(2_000_000)
            grid.total_columns = stream.int(300)
        elif operation == 7 and rows and rows[0]:
            header = rows[0]
            i, j = stream.int(len(header)), stream.int(len(header))
            header[i], header[j] = header[j], header[i]
        elif operation == 8:
            grid.activity_sheet = [None, "Tabelle1", SPEC.sheet_name][stream.int(3)]
    return grid


def check_mutated(data: bytes) -> SheetResult:
    """check_sheet on a grid changed by ``data``: every problem a German sentence, never an exception."""
    result = check_sheet(mutated_grid(data), spec=SPEC, catalogs=CATALOGS, expected=EXPECTED, base=BASE)
    assert all(isinstance(p.message, str) and p.message for p in result.problems)
    assert result.ok or result.problems
    return result


def check_file(data: bytes, *, parse: bool = True) -> SheetResult | None:
    """The checks before parsing, in this process; then (``parse``) the isolated parse and the sheet check."""
    from usecases.sandbox import read_grid_isolated

    try:
        check_size(data, Limits())
        check_container(data, detect_format(data), Limits())
        if not parse:
            return None
        grid = read_grid_isolated(data, templates_dir=BUNDLED_TEMPLATES, limits=Limits())
    except (FileRefused, GridError) as exc:
        assert str(exc).startswith("Die Datei")  # a German sentence for the institution
        return None
    return check_sheet(grid, spec=SPEC, catalogs=CATALOGS, expected=EXPECTED, base=BASE)
