"""Repository functions against a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.activity import Activity as ActivityRecord
from core.institution import ContactRecord, InstitutionRecord
from core.region import RegionProfile
from storage.concepts import (
    add_activities,
    create_version,
    latest_published,
    list_activities,
    publish_version,
)
from storage.database import make_engine, migrate, session_scope
from storage.errors import Conflict
from storage.events import list_events, record_event
from storage.institutions import get_institution, list_institutions, save_institutions
from storage.models import Contact, Institution, Submission
from storage.regions import create_region, get_region
from storage.template_folder import load_catalogs, load_demo
from usecases.settings import BUNDLED_TEMPLATES

PROFILE = RegionProfile("testregion", "Testregion", "Regionalagentur Test", "agentur@example.org")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def region_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        region = create_region(session=session, profile=PROFILE)
        assert region.id is not None
        return region.id


def _ihk(*contacts: ContactRecord) -> InstitutionRecord:
    return InstitutionRecord("IHK", "IHK Aachen", "Kammer", None, True, list(contacts))


def test_save_institutions_creates_then_updates_by_code(engine: Engine, region_id: int) -> None:
    anna = ContactRecord("Anna Schmitz", "anna@ihk.example.org", "primary")
    with session_scope(engine) as session:
        first = save_institutions(session=session, region_id=region_id, records=[_ihk(anna)])
    assert first.created == ["IHK"]

    renamed = InstitutionRecord("IHK", "IHK Aachen (neu)", "Kammer", None, True,
                                [ContactRecord("Ben Berg", "ben@ihk.example.org", "primary")])
    with session_scope(engine) as session:
        second = save_institutions(session=session, region_id=region_id, records=[renamed])
    assert second.updated == ["IHK"]
    assert second.contacts_deactivated == 1

    with session_scope(engine) as session:
        views = list_institutions(session=session, region_id=region_id)
    assert [v.institution.name for v in views] == ["IHK Aachen (neu)"]
    # Anna stays on record (history, mail log) but receives no more mail.
    assert {(c.email, c.active) for c in views[0].contacts} == {
        ("anna@ihk.example.org", False), ("ben@ihk.example.org", True)}


def test_save_institutions_same_list_twice_changes_nothing(engine: Engine, region_id: int) -> None:
    record = _ihk(ContactRecord("Anna Schmitz", "anna@ihk.example.org", "primary"))
    with session_scope(engine) as session:
        save_institutions(session=session, region_id=region_id, records=[record])
    with session_scope(engine) as session:
        again = save_institutions(session=session, region_id=region_id, records=[record])
    assert (again.created, again.updated, again.unchanged) == ([], [], ["IHK"])


def test_reimport_updates_salutation_and_phone_and_a_file_without_them_keeps_them(engine: Engine,
                                                                                   region_id: int) -> None:
    def saved() -> tuple[str, str]:
        with session_scope(engine) as session:
            (contact,) = list_institutions(session=session, region_id=region_id)[0].contacts
            return contact.salutation, contact.phone

    def save(contact: ContactRecord) -> list[str]:
        with session_scope(engine) as session:
            return save_institutions(session=session, region_id=region_id, records=[_ihk(contact)]).updated

    save(ContactRecord("Anna Schmitz", "anna@ihk.example.org", "primary", salutation="Frau", phone="0241 1"))
    assert saved() == ("Frau", "0241 1")
    assert save(ContactRecord("Anna Schmitz", "anna@ihk.example.org", "primary", salutation="Frau Dr.",
                              phone="0241 2")) == ["IHK"]
    assert saved() == ("Frau Dr.", "0241 2")
    assert save(ContactRecord("Anna Schmitz", "anna@ihk.example.org", "primary")) == []  # no such columns
    assert saved() == ("Frau Dr.", "0241 2")
    assert save(ContactRecord("Anna Schmitz", "anna@ihk.example.org", "primary", salutation="", phone="")) == ["IHK"]
    assert saved() == ("", "")


def test_institution_code_is_unique_per_region(engine: Engine, region_id: int) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Institution(region_id=region_id, code="IHK", name="A"))
        session.add(Institution(region_id=region_id, code="IHK", name="B"))
        session.flush()
    with session_scope(engine) as session:
        assert session.exec(select(Institution)).all() == []


def test_failed_transaction_leaves_nothing_behind(engine: Engine, region_id: int) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        save_institutions(session=session, region_id=region_id, records=[_ihk()])
        raise RuntimeError("crash after the write, before the commit")
    with session_scope(engine) as session:
        assert list_institutions(session=session, region_id=region_id) == []


def test_activities_round_trip_and_published_version_is_immutable(engine: Engine, region_id: int) -> None:
    text = "=SUMME(A1:A3) bleibt Text; Umlaute äöüß und\nZeilenumbruch"
    activity = ActivityRecord(key="IHK-0007", institution_code="IHK", title="Ausbildungsbotschafter",
                              field_of_action="Duale Ausbildung stärken", status="bestehend",
                              description=text, start="2019", end="2027-12-31")
    with session_scope(engine) as session:
        save_institutions(session=session, region_id=region_id, records=[_ihk()])
        version = create_version(session=session, region_id=region_id, label="2025")
        add_activities(session=session, version=version, activities=[activity])
        publish_version(session=session, version=version, approved_by="Frau Beispiel",
                        at=dt.datetime(2025, 3, 31, 12, tzinfo=dt.UTC))
    with session_scope(engine) as session:
        published = latest_published(session=session, region_id=region_id)
        assert published is not None and published.label == "2025"
        assert published.published_at == dt.datetime(2025, 3, 31, 12, tzinfo=dt.UTC)
        assert list_activities(session=session, version_id=published.id or 0) == [activity]
        # New keys never reuse a number that was handed out.
        assert get_institution(session=session, region_id=region_id, code="ihk").last_activity_number == 7
        with pytest.raises(Conflict):
            add_activities(session=session, version=published, activities=[activity])
        with pytest.raises(Conflict):
            publish_version(session=session, version=published, approved_by="x", at=dt.datetime.now(dt.UTC))


def test_times_come_back_in_utc(engine: Engine, region_id: int) -> None:
    berlin = dt.timezone(dt.timedelta(hours=2))
    with session_scope(engine) as session:
        entry = record_event(session=session, region_id=region_id, actor="staff", action="test")
        entry.at = dt.datetime(2026, 9, 1, 9, 30, tzinfo=berlin)
    with session_scope(engine) as session:
        (stored,) = list_events(session=session, region_id=region_id, action="test")
    assert stored.at == dt.datetime(2026, 9, 1, 7, 30, tzinfo=dt.UTC)
    assert stored.at.tzinfo is not None


def test_json_columns_keep_german_problem_texts(engine: Engine, region_id: int) -> None:
    problems = [{"cell": "D12", "column": "Handlungsfeld", "message": "„Ausbildung“ ist kein zulässiger Wert."}]
    with session_scope(engine) as session:
        save_institutions(session=session, region_id=region_id, records=[_ihk()])
        version = create_version(session=session, region_id=region_id, label="2025")
        from storage.models import Cycle, Request

        cycle = Cycle(region_id=region_id, year=2026, deadline=dt.date(2026, 10, 15), base_version_id=version.id or 0)
        session.add(cycle)
        session.flush()
        institution = get_institution(session=session, region_id=region_id, code="IHK")
        request = Request(cycle_id=cycle.id or 0, institution_id=institution.id or 0)
        session.add(request)
        session.flush()
        session.add(Submission(request_id=request.id or 0, source="cli", outcome="refused", problems=problems))
    with session_scope(engine) as session:
        (submission,) = session.exec(select(Submission)).all()
    assert submission.problems == problems


def test_demo_region_loads_into_database(engine: Engine, tmp_path: Path) -> None:
    catalogs = load_catalogs(BUNDLED_TEMPLATES)
    demo = load_demo(BUNDLED_TEMPLATES, catalogs)
    with session_scope(engine) as session:
        region = create_region(session=session, profile=PROFILE, sample_data=True)
        save_institutions(session=session, region_id=region.id or 0, records=demo.institutions)
        version = create_version(session=session, region_id=region.id or 0, label="2025")
        add_activities(session=session, version=version, activities=demo.activities)
    with session_scope(engine) as session:
        assert get_region(session=session).sample_data is True
        assert list_activities(session=session, version_id=version.id or 0) == demo.activities
        assert len(session.exec(select(Contact)).all()) == sum(len(i.contacts) for i in demo.institutions)
