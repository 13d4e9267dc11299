"""Benchmark: the ministry's roll-up over 16 regions, against a plain SQL count/group-by of the same activities.

    .venv/bin/python -m bench.rollup [--sizes 90,900] [--runs 5] [--pdf]

For each size (activities in each region's version; 16 regions with 10 institutions each, two published
versions per region with a tenth of the activities ended and a tenth new between them, and the year's round with
10 requests): the roll-up's figures as fko makes them (load the latest published version and the one before per
region, the round's answers, map every field of action to a cluster, count), the Excel workbook, the HTML report,
and the whole `fko rollup --no-pdf` (figures, workbook, report, written); with --pdf also the printed PDF. The
baseline is one bare sqlite3 query counting the latest published version's activities per region and field of
action (GROUP BY) on the same database file. Medians of --runs runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REGIONS, INSTITUTIONS, YEAR = 16, 10, 2026
BARE_QUERY = """
SELECT v.region_id, a.field_of_action, count(*)
FROM activity a JOIN concept_version v ON v.id = a.version_id
WHERE v.status = 'published' AND a.status NOT IN ('abgeschlossen', 'entfällt') AND v.id = (
    SELECT v2.id FROM concept_version v2 WHERE v2.region_id = v.region_id AND v2.status = 'published'
    ORDER BY v2.published_at DESC, v2.id DESC LIMIT 1)
GROUP BY v.region_id, a.field_of_action
"""


def seed(ctx, per_region: int) -> None:  # type: ignore[no-untyped-def]
    """16 regions beside nothing else: institutions, versions YEAR-1 and YEAR, the round of YEAR."""
    from sqlmodel import select

    from core.activity import Activity, activity_key
    from core.institution import ContactRecord, InstitutionRecord
    from core.region import RegionProfile
    from storage.concepts import add_activities, create_version, publish_version
    from storage.database import migrate, session_scope
    from storage.institutions import save_institutions
    from storage.models import Cycle, Institution, Request
    from storage.regions import create_region

    migrate(ctx.engine)
    fields = ctx.catalogs().fields_of_action
    codes = [f"I{n:02d}" for n in range(INSTITUTIONS)]
    with session_scope(ctx.engine) as session:
        for number in range(REGIONS):
            region = create_region(session=session, profile=RegionProfile(
                code=f"region-{number:02d}", name=f"Region {number:02d}", agency_name="Agentur",
                agency_email=f"agentur{number}@example.org"))
            region_id = region.id or 0
            save_institutions(session=session, region_id=region_id, records=[
                InstitutionRecord(code, f"Institution {code}", contacts=[ContactRecord("A", f"{code}@example.org",
                                                                                       "primary")])
                for code in codes])

            def activity(n: int, status: str = "bestehend") -> Activity:
                code = codes[n % INSTITUTIONS]
                return Activity(key=activity_key(code, n // INSTITUTIONS + 1), institution_code=code,
                                title=f"Aktivität {n}", field_of_action=fields[n % len(fields)], status=status)

            tenth = max(1, per_region // 10)
            before = create_version(session=session, region_id=region_id, label=str(YEAR - 1))
            add_activities(session=session, version=before, activities=[activity(n) for n in range(per_region)])
            publish_version(session=session, version=before, approved_by="bench",
                            at=dt.datetime(YEAR - 1, 3, 31, tzinfo=dt.UTC))
            now = create_version(session=session, region_id=region_id, label=str(YEAR), parent_id=before.id)
            kept = [activity(n, "abgeschlossen" if n < tenth else "bestehend") for n in range(per_region - tenth)]
            add_activities(session=session, version=now, activities=kept + [
                activity(n, "geplant") for n in range(per_region, per_region + tenth)])
            publish_version(session=session, version=now, approved_by="bench", at=dt.datetime(YEAR, 11, 20,
                                                                                               tzinfo=dt.UTC))
            cycle = Cycle(region_id=region_id, year=YEAR, deadline=dt.date(YEAR, 10, 15), base_version_id=before.id,
                          draft_version_id=now.id, state="published")
            session.add(cycle)
            session.flush()
            for n, institution in enumerate(session.exec(select(Institution)
                                                         .where(Institution.region_id == region_id)).all()):
                session.add(Request(cycle_id=cycle.id or 0, institution_id=institution.id or 0, state="answered",
                                    answered_at=dt.datetime(YEAR, 9, 20, tzinfo=dt.UTC) if n % 3 else None))


def median(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(per_region: int, runs: int, pdf: bool) -> dict[str, float | None]:
    from core.rollup_xlsx import render_rollup_workbook
    from usecases.context import AppContext
    from usecases.rollup import render_report, rollup_of_year, write_rollup
    from usecases.settings import Settings

    with tempfile.TemporaryDirectory(prefix="fko-bench-rollup-") as folder:
        root = Path(folder)
        ctx = AppContext.from_settings(Settings(data_dir=root / "var", base_url="https://fko.example.org"))
        try:
            seed(ctx, per_region)
            today = dt.date(YEAR, 11, 30)
            figures = rollup_of_year(ctx, year=YEAR, today=today)
            running = REGIONS * (per_region - max(1, per_region // 10))  # a tenth of each version has ended
            assert figures.total_activities == running, figures.total_activities

            def bare() -> None:
                with sqlite3.connect(root / "var" / "fko.db") as connection:
                    rows = connection.execute(BARE_QUERY).fetchall()
                assert sum(count for _, _, count in rows) == running

            result: dict[str, float | None] = {
                "bare": median(bare, runs),
                "figures": median(lambda: rollup_of_year(ctx, year=YEAR, today=today), runs),
                "workbook": median(lambda: render_rollup_workbook(figures), runs),
                "report": median(lambda: render_report(figures, ctx.settings.templates_dir), runs),
                "files": median(lambda: write_rollup(ctx, year=YEAR, out_dir=root / "out", pdf=False, today=today),
                                runs),
                "pdf": None}
            if pdf:
                result["pdf"] = median(lambda: write_rollup(ctx, year=YEAR, out_dir=root / "out", today=today),
                                       max(1, runs // 2)) - result["files"]  # type: ignore[operator]
            return result
        finally:
            ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="90,900", help="activities per region, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pdf", action="store_true", help="also print the PDF report (Chromium)")
    args = parser.parse_args()
    print("| regions × activities | bare SQL group-by | fko figures | ratio | workbook | HTML report | "
          "`fko rollup --no-pdf` | ratio | PDF print |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"measuring {REGIONS} × {size}", file=sys.stderr, flush=True)
        r = measure(size, args.runs, args.pdf)
        bare, figures, files = r["bare"] or 0.0, r["figures"] or 0.0, r["files"] or 0.0
        pdf = f"{r['pdf']:.2f} s" if r["pdf"] is not None else "–"
        print(f"| {REGIONS} × {size:,} = {REGIONS * size:,} | {bare * 1000:.1f} ms | {figures * 1000:.0f} ms | "
              f"{figures / bare:.1f}× | {(r['workbook'] or 0) * 1000:.0f} ms | {(r['report'] or 0) * 1000:.0f} ms | "
              f"{files * 1000:.0f} ms | {files / bare:.0f}× | {pdf} |")


if __name__ == "__main__":
    main()
