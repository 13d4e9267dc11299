"""Benchmark: storing a concept version's activities vs. the floor of a bare sqlite3 executemany.

Run: .venv/bin/python bench/storage.py [--sizes 1000,20000]
Prints, per size, rows/s for fko's add_activities (SQLAlchemy Core bulk insert on a migrated SQLite
file) and the ratio to plain sqlite3 executemany of the same rows into the same schema, same run.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from core.activity import CONTENT_FIELDS, Activity, activity_key
from core.institution import ContactRecord, InstitutionRecord
from core.region import RegionProfile
from storage.concepts import add_activities, create_version
from storage.database import make_engine, migrate, session_scope
from storage.institutions import save_institutions
from storage.regions import create_region


def make_activities(n: int, institutions: int) -> list[Activity]:
    return [
        Activity(key=activity_key(f"I{i % institutions:03d}", i // institutions + 1),
                 institution_code=f"I{i % institutions:03d}",
                 title=f"Aktivität {i}", field_of_action="Weiterbildung und Qualifizierung", status="bestehend",
                 description="Beschreibung mit Umlauten äöü " * 10, start="2024", end="2027",
                 target_groups="Beschäftigte; Unternehmen", area="gesamte Region", partners="IHK, HWK")
        for i in range(n)
    ]


def run_fko(db: Path, activities: list[Activity], institutions: int) -> float:
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    with session_scope(engine) as session:
        region = create_region(session=session, profile=RegionProfile("b", "B", "A", "a@example.org"))
        records = [
            InstitutionRecord(f"I{i:03d}", f"Institution {i}",
                              contacts=[ContactRecord("X", f"x{i}@example.org", "primary")])
            for i in range(institutions)
        ]
        save_institutions(session=session, region_id=region.id or 0, records=records)
        version = create_version(session=session, region_id=region.id or 0, label="v")
    start = time.perf_counter()
    with session_scope(engine) as session:
        add_activities(session=session, version=version, activities=activities)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def run_floor(db: Path, activities: list[Activity]) -> float:
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    columns = ["version_id", "institution_id", "key", "position", *CONTENT_FIELDS]
    rows = [(1, 1, a.key, n, *(getattr(a, f) for f in CONTENT_FIELDS)) for n, a in enumerate(activities)]
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA foreign_keys=OFF")
    connection.execute("insert into region (id, code, name, agency_name, agency_email, agency_phone, agency_address,"
                       " sample_data, created_at) values (1,'b','B','A','a','','',0,'2026-01-01')")
    connection.execute("insert into concept_version (id, region_id, label, status, note, created_at, sections,"
                       " documents) values (1,1,'v','draft','','2026-01-01','{}','{}')")
    start = time.perf_counter()
    placeholders = ", ".join("?" * len(columns))
    connection.executemany(
        f"insert into activity ({', '.join(columns)}, confirmed, extra) values ({placeholders}, 1, '{{}}')",  # noqa: S608 (column names are ours)
        rows)
    connection.commit()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| activities | fko add_activities rows/s | sqlite3 executemany rows/s | ratio (fko / floor time) |")
    print("|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        activities = make_activities(size, institutions=40)
        fko_times, floor_times = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                fko_times.append(run_fko(Path(tmp) / "a.db", activities, 40))
                floor_times.append(run_floor(Path(tmp) / "b.db", activities))
        fko_best, floor_best = min(fko_times), min(floor_times)
        print(f"| {size} | {size / fko_best:,.0f} | {size / floor_best:,.0f} | {fko_best / floor_best:.1f}× |")


if __name__ == "__main__":
    main()
