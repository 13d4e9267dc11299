"""Engine, sessions and schema migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from core.text import masked
from storage.errors import DatabaseError, DatabaseUnreachable, SchemaOutdated, unavailable_reason

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> URL:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and pick the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"FKO_DATABASE_URL ist keine Datenbank-Adresse: {masked(url)!r}") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not (parsed.drivername.startswith("sqlite") or parsed.drivername.startswith("postgresql")):
        raise DatabaseError(f"Datenbank {parsed.drivername!r} wird nicht unterstützt: bitte SQLite oder PostgreSQL.")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``. Nothing is created yet: a SQLite file and its folder come with `migrate`."""
    parsed = normalise_url(url)
    if parsed.drivername.startswith("sqlite"):
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config() -> Config:
    from alembic.config import Config  # Alembic only where the schema changes (a fast start for every command)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _sqlite_migration_engine(engine: Engine) -> Engine:
    """For SQLite, an engine whose transactions include DDL and whose foreign keys are off while tables are
    rebuilt (SQLite's ALTER works by copying a table and dropping the old one, which rows of other tables point
    at). Python's sqlite3 would otherwise commit each DDL statement on its own, so a failed upgrade could leave
    half a migration behind."""
    migration = create_engine(engine.url, connect_args={"timeout": 30}, poolclass=NullPool)

    @event.listens_for(migration, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves: DDL joins the transaction
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")  # only outside a transaction; checked before commit below
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(migration, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return migration


def migrate(engine: Engine, *, revision: str = "head") -> None:
    """Bring the schema to the newest migration (creates it in an empty database), or to ``revision``. All of
    it or nothing: one transaction, also on SQLite, whose foreign keys are checked before it commits."""
    config = _alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    make_room(engine)
    target = _sqlite_migration_engine(engine) if sqlite else engine
    try:
        with target.begin() as connection:
            config.attributes["connection"] = connection
            from alembic import command

            command.upgrade(config, revision)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise DatabaseError(f"Die Umstellung der Datenbank hätte Verweise zerstört ({broken[:3]}); "
                                        "nichts wurde geändert.")
    except OperationalError as exc:
        raise DatabaseUnreachable(unavailable_reason(exc)) from exc
    finally:
        if sqlite:
            target.dispose()


def schema_revision(engine: Engine) -> str | None:
    """The migration the database is at (Alembic's ``alembic_version`` table), None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
        return str(rows[0][0]) if len(rows) == 1 else None


REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"', re.MULTILINE)
DOWN_REVISION = re.compile(r'^down_revision\s*=\s*(?:"([^"]+)"|None)', re.MULTILINE)


@functools.lru_cache(maxsize=1)
def schema_head() -> str | None:
    """The newest migration this code knows: the revision no other migration names as its parent (read from
    the migration files, without loading Alembic; tests/integration/test_migrations compares it to Alembic's)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = REVISION.search(text)
        if found:
            revisions.add(found.group(1))
            parent = DOWN_REVISION.search(text)
            if parent and parent.group(1):
                parents.add(parent.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise DatabaseError(f"Die Migrationen haben nicht genau einen neuesten Stand: {sorted(heads)}")
    return heads.pop()


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database (None for PostgreSQL or an in-memory database)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def make_room(engine: Engine) -> None:
    """Create the folder of a SQLite file (only `fko init` does: other commands never create a database)."""
    path = sqlite_file(engine)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def require_current_schema(engine: Engine) -> None:
    """Refuse to work on a database that is missing or older than this code (a missing SQLite file is not
    created by asking)."""
    head = schema_head()
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        raise SchemaOutdated(None, head)
    try:
        current = schema_revision(engine)
    except OperationalError as exc:
        raise DatabaseUnreachable(unavailable_reason(exc)) from exc
    if current != head:
        raise SchemaOutdated(current, head)


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()
