"""The migrations create the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.database import make_engine, migrate, require_current_schema, schema_revision

TABLES = {"region", "institution", "contact", "concept_version", "activity", "cycle", "request",
          "submission", "outbound_message", "event_log"}


def test_migrate_from_empty_creates_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    require_current_schema(engine)  # does not raise
    engine.dispose()


def test_migrations_match_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == [], f"models and migrations disagree; write a migration: {differences}"


def test_an_existing_database_from_the_first_release_upgrades_and_keeps_its_data(database_url: str) -> None:
    # A database set up by the first release (schema 0001, when the code still lived in fko/), with its region.
    engine = make_engine(database_url)
    migrate(engine, revision="0001")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO region (code, name, agency_name, agency_email, agency_phone, agency_address, sample_data, "
            "created_at) VALUES ('aachen', 'Region Aachen', 'Regionalagentur', 'ra@example.org', '', '', false, "
            "'2025-09-01 08:00:00+00:00')"))
    migrate(engine)
    require_current_schema(engine)  # does not raise: on the newest schema now
    with engine.connect() as connection:
        assert connection.execute(text("SELECT code, name FROM region")).all() == [("aachen", "Region Aachen")]
    engine.dispose()


def test_migrate_twice_is_harmless(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    first = schema_revision(engine)
    migrate(engine)
    assert first is not None
    assert schema_revision(engine) == first
    engine.dispose()
