"""A consistent copy of the database while it is in use, and loading one into an empty database.

Every backup holds the database as a SQLite file (``database.sqlite``): for SQLite it is made by SQLite's online
backup API (one step, so it is one moment's state while the page keeps writing); for PostgreSQL the rows are
copied into it inside one REPEATABLE READ transaction whose snapshot is also handed to ``pg_dump``
(``--snapshot``), so the SQLite copy and the PostgreSQL dump show the same moment. The SQLite copy restores into
either database; the dump restores a PostgreSQL backup into PostgreSQL with ``pg_restore``.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, MetaData, Table, func, insert, inspect, select, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel, create_engine

import storage.models  # noqa: F401  (every table in SQLModel.metadata)
from storage.database import MIGRATIONS, make_engine, migrate, normalise_url, sqlite_file
from storage.errors import StorageError

BATCH = 1000


class DumpError(StorageError):
    """The database could not be copied or loaded; the message is one German line for staff."""


@dataclass
class DumpResult:
    sqlite_copy: Path                 # the database as a SQLite file (always)
    pg_dump: Path | None = None       # pg_dump's custom format (PostgreSQL only)
    kind: str = "sqlite"              # sqlite | postgresql
    server_version: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def tables() -> list[Table]:
    """The tables of the models, parents before children (the order rows are copied in)."""
    return list(SQLModel.metadata.sorted_tables)


def known_revision(revision: str) -> bool:
    """Whether this code knows the migration ``revision`` (a newer program's database it does not)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except CommandError:
        return False


def revision_of_file(path: Path) -> str | None:
    """The schema revision recorded in a SQLite file (None: not an fko-cycle database)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def counts_of_file(path: Path) -> dict[str, int]:
    """Rows per table of a SQLite copy."""
    return _counts(create_engine(f"sqlite:///{path}", poolclass=NullPool))


def counts_of_url(url: str) -> dict[str, int]:
    """Rows per table of a database."""
    return _counts(make_engine(url))


def _counts(engine: Engine) -> dict[str, int]:
    try:
        with engine.connect() as connection:
            names = set(inspect(connection).get_table_names())
            return {t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
                    for t in tables() if t.name in names}
    finally:
        engine.dispose()


def check_file(path: Path) -> str | None:
    """SQLite's own check of a copy: None when sound, else the first problem it reports."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            result = connection.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        return str(exc)
    return None if result and result[0] == "ok" else str(result[0] if result else "keine Antwort")


# --- making the copy ----------------------------------------------------------------------------------


def dump_database(engine: Engine, out_dir: Path, *, pg_bin_dir: Path | None = None) -> DumpResult:
    """Copy the database into ``out_dir`` (``database.sqlite``, for PostgreSQL also ``database.pgdump``)."""
    copy = out_dir / "database.sqlite"
    if engine.dialect.name == "sqlite":
        source = sqlite_file(engine)
        if source is None or not source.exists():
            raise DumpError("Die SQLite-Datenbank ist keine Datei; sie kann so nicht gesichert werden.")
        _sqlite_online_backup(source, copy)
        result = DumpResult(sqlite_copy=copy, kind="sqlite", server_version=sqlite3.sqlite_version)
    else:
        result = _postgres_dump(engine, out_dir, copy, pg_bin_dir)
    problem = check_file(copy)
    if problem is not None:
        raise DumpError(f"Die Kopie der Datenbank ist nicht in Ordnung ({problem}); keine Sicherung geschrieben.")
    result.counts = counts_of_file(copy)
    return result


def _sqlite_online_backup(source: Path, target: Path) -> None:
    """SQLite's backup API in one step: one consistent moment, while the page and the flows keep writing (WAL)."""
    try:
        src = sqlite3.connect(str(source), timeout=30)
        try:
            dst = sqlite3.connect(str(target))
            try:
                src.backup(dst)  # pages=-1: all at once, so no write in between can make it start over
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                dst.commit()
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise DumpError(f"Die SQLite-Datenbank {source} kann nicht gelesen werden ({exc}).") from exc


def pg_tool(name: str, bin_dir: Path | None) -> Path:
    """pg_dump / pg_restore: from ``bin_dir`` (FKO_PG_BIN_DIR), else the newest /usr/lib/postgresql/*/bin, else
    the PATH."""
    if bin_dir is not None:
        candidate = bin_dir / name
        if candidate.is_file():
            return candidate
        raise DumpError(f"{name} fehlt in {bin_dir} (FKO_PG_BIN_DIR).")
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if versions:
        return Path(versions[-1])
    found = shutil.which(name)
    if found:
        return Path(found)
    raise DumpError(f"{name} ist nicht installiert (Debian: postgresql-client); für PostgreSQL wird es gebraucht. "
                    "Oder FKO_PG_BIN_DIR auf den Ordner mit pg_dump und pg_restore setzen.")


def libpq_env(url: URL) -> dict[str, str]:
    """The connection as libpq environment variables: the password never appears on a command line."""
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "PGCONNECT_TIMEOUT": "30"}
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[key] = str(value)
    for key, value in url.query.items():
        if key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "host", "port"):
            env[f"PG{key.upper()}"] = str(value if isinstance(value, str) else value[0])
    return env


def _run_tool(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=6 * 3600,  # noqa: S603 (no shell)
                              check=False)
    except OSError as exc:
        raise DumpError(f"{what}: {args[0]} lässt sich nicht starten ({exc.strerror}).") from exc
    if done.returncode != 0:
        first = next((line for line in done.stderr.splitlines() if line.strip()), f"Exit-Code {done.returncode}")
        raise DumpError(f"{what} ist fehlgeschlagen: {first[:300]}")


def _postgres_dump(engine: Engine, out_dir: Path, copy: Path, bin_dir: Path | None) -> DumpResult:
    dump = out_dir / "database.pgdump"
    tool = pg_tool("pg_dump", bin_dir)
    target = make_engine(f"sqlite:///{copy}")
    try:
        migrate(target)
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                server = str(connection.exec_driver_sql("SHOW server_version").scalar_one())
                snapshot = str(connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
                # pg_dump takes over this transaction's snapshot while it is open: both copies are one moment.
                _run_tool([str(tool), "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                           f"--file={dump}"], libpq_env(engine.url), "pg_dump")
                with target.begin() as into:
                    copy_rows(connection, into)
    except SQLAlchemyError as exc:
        raise DumpError(f"Die Datenbank konnte nicht kopiert werden ({type(exc).__name__}).") from exc
    finally:
        target.dispose()
    return DumpResult(sqlite_copy=copy, pg_dump=dump, kind="postgresql", server_version=server)


def copy_rows(source: Connection, target: Connection, progress: Callable[[int, int], None] | None = None) -> None:
    """Every row of every table from ``source`` to ``target`` (same schema revision), parents first."""
    names = set(inspect(source).get_table_names())
    todo = [t for t in tables() if t.name in names]
    for done, table in enumerate(todo, start=1):
        order = list(table.primary_key.columns)
        result = source.execution_options(stream_results=True, yield_per=BATCH).execute(
            select(table).order_by(*order))
        for chunk in result.mappings().partitions(BATCH):
            target.execute(insert(table), [dict(row) for row in chunk])
        if progress:
            progress(done, len(todo))


# --- loading a copy -----------------------------------------------------------------------------------


def bring_file_to_head(path: Path) -> None:
    """Upgrade a SQLite copy to this code's schema (a backup made by an older release)."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()


def target_contents(url: str) -> list[str]:
    """What an intended restore target already holds: table names (PostgreSQL) or the SQLite file's name."""
    engine = make_engine(url)
    try:
        path = sqlite_file(engine)
        if path is not None:
            return [str(path)] if path.exists() and path.stat().st_size > 0 else []
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def load_into_postgres(url: str, *, sqlite_copy: Path, pg_dump: Path | None, pg_bin_dir: Path | None,
                       progress: Callable[[int, int], None] | None = None) -> None:
    """Fill an empty PostgreSQL database: from ``pg_dump`` with pg_restore in one transaction, else from the
    SQLite copy (schema and rows in one transaction). Either way nothing is left behind when it fails."""
    engine = make_engine(url)
    try:
        if pg_dump is not None:
            tool = pg_tool("pg_restore", pg_bin_dir)
            parsed = normalise_url(url)
            _run_tool([str(tool), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                       f"--dbname={parsed.database}", str(pg_dump)], libpq_env(parsed), "pg_restore")
            return
        source = create_engine(f"sqlite:///{sqlite_copy}", poolclass=NullPool)
        try:
            with engine.begin() as into, source.connect() as rows:
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = into
                command.upgrade(config, "head")
                copy_rows(rows, into, progress)
                _reset_sequences(into)
        finally:
            source.dispose()
    except SQLAlchemyError as exc:
        raise DumpError(f"Die Datenbank konnte nicht befüllt werden ({type(exc).__name__}: "
                        f"{str(getattr(exc, 'orig', exc)).splitlines()[0][:200]}).") from exc
    finally:
        engine.dispose()


def _reset_sequences(connection: Connection) -> None:
    """After rows were inserted with their ids, the id sequences continue after the highest id."""
    for table in tables():
        if "id" not in table.c or not table.c["id"].primary_key:
            continue
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "  # noqa: S608  (our own table names)
            f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 1), "
            f"(SELECT MAX(id) IS NOT NULL FROM \"{table.name}\"))"))


def drop_everything(url: str) -> None:
    """Undo a restore into PostgreSQL that could not be finished (the target was empty before)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            metadata.drop_all(connection)
    finally:
        engine.dispose()


def url_kind(url: str) -> str:
    return "sqlite" if make_url(url).drivername.startswith("sqlite") else "postgresql"
