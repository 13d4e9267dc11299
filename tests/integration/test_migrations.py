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


def test_a_database_in_the_middle_of_a_round_upgrades_with_every_row(database_url: str) -> None:
    # The previous release (schema 0005) with a published version, an open round, requests and an answer: the
    # upgrade rebuilds the cycle table on SQLite, which rows of other tables point at.
    engine = make_engine(database_url)
    migrate(engine, revision="0005")
    statements = [
        "INSERT INTO region (id, code, name, agency_name, agency_email, agency_phone, agency_address, sample_data, "
        "created_at) VALUES (1, 'aachen', 'Region Aachen', 'Regionalagentur', 'ra@example.org', '', '', false, "
        "'2025-09-01 08:00:00+00:00')",
        "INSERT INTO institution (id, region_id, code, name, active, last_activity_number, created_at, updated_at) "
        "VALUES (1, 1, 'IHK', 'IHK Aachen', true, 0, '2025-09-01 08:00:00+00:00', '2025-09-01 08:00:00+00:00')",
        "INSERT INTO concept_version (id, region_id, label, status, note, created_at, published_at, sections, "
        "documents) VALUES (1, 1, '2025', 'published', '', '2025-03-01 08:00:00+00:00', "
        "'2025-03-31 10:00:00+00:00', '{}', '{}'), (2, 1, '2026', 'published', '', '2026-09-01 08:00:00+00:00', "
        "'2026-11-20 10:00:00+00:00', '{}', '{}')",
        "INSERT INTO cycle (id, region_id, year, opened_at, deadline, base_version_id, draft_version_id, state) "
        "VALUES (1, 1, 2026, '2026-09-01 08:00:00+00:00', '2026-10-15', 1, 2, 'open')",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
        columns = {c["name"] for c in inspect(connection).get_columns("request")}
        values = {"id": 1, "cycle_id": 1, "institution_id": 1, "state": "answered", "reminders_sent": 0,
                  "token_nonce": "n", "token_hash": "h", "created_at": "2026-09-01 08:00:00+00:00"}
        values = {k: v for k, v in values.items() if k in columns}
        insert = f"INSERT INTO request ({', '.join(values)}) VALUES ({', '.join(':' + k for k in values)})"  # noqa: S608  (our own column names)
        connection.execute(text(insert), values)
    migrate(engine)
    require_current_schema(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, year, base_version_id, state FROM cycle")).all() == [
            (1, 2026, 1, "published")]  # its version was published: the round ended with it
        assert connection.execute(text("SELECT id, cycle_id FROM request")).all() == [(1, 1)]
        assert connection.execute(text("SELECT holiday_state, funding_line FROM region")).one()[0] == "NW"
    engine.dispose()


def test_the_newest_migration_read_from_the_files_is_alembics_head() -> None:
    """Every command checks the schema against this without loading Alembic (a fast start)."""
    from alembic.script import ScriptDirectory

    from storage.database import _alembic_config, schema_head

    assert schema_head() == ScriptDirectory.from_config(_alembic_config()).get_current_head()
