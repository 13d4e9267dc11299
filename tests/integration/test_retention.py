"""`fko cleanup`: the raw uploads, mail bodies, sink files and drop-folder copies of a round go once the next round
is published and the retention period is over; the accepted file behind each published answer always stays."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from storage.database import session_scope
from storage.models import Cycle, OutboundMessage, Request, Submission
from tests.support.factories import edit_sheet
from usecases.context import AppContext

NEW_ROW = {"B9": "Neu", "D9": "Duale Ausbildung stärken", "E9": "geplant"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def request_of(ctx: AppContext, code: str, year: int) -> int:
    from storage.models import Institution

    with session_scope(ctx.engine) as session:
        return session.exec(select(Request.id).join(Institution, Institution.id == Request.institution_id)
                            .join(Cycle, Cycle.id == Request.cycle_id)
                            .where(Institution.code == code, Cycle.year == year)).one() or 0


def upload(ctx: AppContext, code: str, year: int, edits: dict[str, object]) -> tuple[str, str]:
    from usecases.returns import accept_return, sheet_for_request

    request = request_of(ctx, code, year)
    sheet, name = sheet_for_request(ctx, request_id=request, now=now())
    result = accept_return(ctx, request_id=request, data=edit_sheet(sheet, edits), filename=name, source="portal",
                           now=now())
    return result.outcome, str(result.submission_id)


def publish(ctx: AppContext, year: int) -> None:
    from usecases.versions import current_drafts, publish_draft

    current_drafts(ctx, now=now())
    publish_draft(ctx, approved_by="Lenkungskreis", now=now(), label=str(year))


@dataclass
class Installation:
    ctx: AppContext
    data_dir: Path
    kept: dict[str, str]          # what must stay: name → submission id
    gone: dict[str, str]          # what may go in round 2026
    round_2027_opened: dt.datetime


@pytest.fixture
def installation(fko_env: dict[str, str]) -> Installation:
    from usecases.cycle import open_cycle
    from usecases.inbox import ingest_drop_folder
    from usecases.outbox import deliver_pending
    from usecases.returns import confirm_no_changes, sheet_for_request
    from usecases.settings import Settings
    from usecases.setup import init_database

    data_dir = Path(fko_env["FKO_DATA_DIR"])
    ctx = AppContext.from_settings(Settings(data_dir=data_dir, allow_local_links=True))
    init_database(ctx, demo=True)
    open_cycle(ctx, year=2026, deadline=dt.date(2027, 1, 15), today=now().date(), now=now())
    asyncio.run(deliver_pending(ctx))  # invitations into the local .eml sink
    refused = upload(ctx, "IHK", 2026, {"E9": "vielleicht"})
    first = upload(ctx, "IHK", 2026, NEW_ROW)
    last = upload(ctx, "IHK", 2026, {**NEW_ROW, "B9": "Neu, zweite Fassung"})
    assert (refused[0], first[0], last[0]) == ("refused", "accepted", "accepted")
    confirm_no_changes(ctx, request_id=request_of(ctx, "HWK", 2026), now=now())
    sheet, name = sheet_for_request(ctx, request_id=request_of(ctx, "DGB", 2026), now=now())
    (data_dir / "inbox").mkdir(parents=True, exist_ok=True)
    (data_dir / "inbox" / name).write_bytes(edit_sheet(sheet, NEW_ROW))
    assert ingest_drop_folder(ctx, year=2026, now=now()).accepted
    asyncio.run(deliver_pending(ctx))
    publish(ctx, 2026)
    with session_scope(ctx.engine) as session:
        dgb = session.exec(select(Submission).where(Submission.source == "inbox")).one()
    opened = now()
    open_cycle(ctx, year=2027, deadline=dt.date(2027, 10, 15), today=opened.date(), now=opened)
    asyncio.run(deliver_pending(ctx))
    next_year = upload(ctx, "IHK", 2027, {**NEW_ROW, "B9": "Neu 2027"})
    asyncio.run(deliver_pending(ctx))
    publish(ctx, 2027)
    yield Installation(ctx, data_dir, kept={"IHK 2026": last[1], "DGB 2026": str(dgb.id), "IHK 2027": next_year[1]},
                       gone={"IHK abgelehnt": refused[1], "IHK erste Fassung": first[1]}, round_2027_opened=opened)
    ctx.close()


def files_of(ctx: AppContext) -> tuple[dict[str, bool], dict[int, bool]]:
    """Whether each return's raw file and each message's body is still stored."""
    with session_scope(ctx.engine) as session:
        uploads = {str(s.id): ctx.files.exists(s.raw_sha256 or "", kind="upload")
                   for s in session.exec(select(Submission).where(Submission.raw_sha256 != None)).all()}  # noqa: E711
        bodies = {m.cycle_id or 0: ctx.files.exists(m.body_sha256 or "", kind="mail")
                  for m in session.exec(select(OutboundMessage)).all()}
    return uploads, bodies


def test_cleanup_keeps_everything_until_the_next_round_is_published_and_its_period_is_over(
        installation: Installation, run_fko, fko_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    ctx = installation.ctx
    before = files_of(ctx)
    sink_before = sorted(p.name for p in (installation.data_dir / "mail").glob("*.eml"))
    waiting = run_fko("cleanup", "--dry-run")
    assert waiting.exit_code == 0, waiting.stderr
    year_later = (now() + dt.timedelta(days=365)).strftime("%Y")
    assert "Abfrage 2026: wird aufbewahrt bis" in waiting.stdout and year_later in waiting.stdout, waiting.stdout
    assert "Abfrage 2027: wird aufbewahrt, bis die folgende Abfrage veröffentlicht ist" in waiting.stdout
    done = run_fko("cleanup")
    assert done.exit_code == 0 and files_of(ctx) == before

    # With no period after the next round's publication, round 2026's files may go now.
    env = {**fko_env, "FKO_KEEP_UPLOADS_DAYS": "0", "FKO_KEEP_MAIL_DAYS": "0", "FKO_KEEP_SINK_DAYS": "0"}
    preview = run_fko("cleanup", "--dry-run", env=env)
    assert preview.exit_code == 0, preview.stderr
    line = next(line for line in preview.stdout.splitlines() if line.startswith("Abfrage 2026"))
    assert "würde entfernen 2 hochgeladene Dateien" in line and "1 Datei im Eingangsordner" in line
    assert "behalten als Beleg der veröffentlichten Version: 2 angenommene Dateien" in line
    assert files_of(ctx) == before and "Probelauf: nichts wurde geändert" in preview.stdout

    removed = run_fko("cleanup", env=env)
    assert removed.exit_code == 0, removed.stderr
    uploads, bodies = files_of(ctx)
    assert all(uploads[key] for key in installation.kept.values())        # the evidence and round 2027 stay
    assert not any(uploads[key] for key in installation.gone.values())
    with session_scope(ctx.engine) as session:
        cycles = {c.year: c.id for c in session.exec(select(Cycle)).all()}
        marked = {str(s.id) for s in session.exec(select(Submission).where(Submission.raw_removed_at != None))}  # noqa: E711
        messages = session.exec(select(OutboundMessage)).all()
    assert marked == set(installation.gone.values())
    assert bodies[cycles[2026]] is False and bodies[cycles[2027]] is True
    assert all(m.body_removed_at is not None for m in messages if m.cycle_id == cycles[2026])
    # The .eml copies written during round 2026 went, those of round 2027 stayed; so did the inbox copy.
    sink_after = sorted(p.name for p in (installation.data_dir / "mail").glob("*.eml"))
    assert sink_after and set(sink_after) < set(sink_before)
    assert all(name >= installation.round_2027_opened.strftime("%Y%m%dT%H%M%S") for name in sink_after)
    assert not list((installation.data_dir / "inbox" / "done").iterdir())

    again = run_fko("cleanup", env=env)
    assert "Abfrage 2026: nichts mehr zu entfernen" in again.stdout and "Nichts zu entfernen." in again.stdout
    log = run_fko("log", env=env)
    assert "fko-cycle (automatisch): Aufbewahrungsfristen angewandt, entfernt: 2 hochgeladene Dateien" in log.stdout


def test_the_cleanup_flow_applies_the_same_rules(installation: Installation, fko_env: dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.cleanup import apply_retention

    for key, value in {**fko_env, "FKO_KEEP_UPLOADS_DAYS": "0"}.items():
        monkeypatch.setenv(key, value)
    preview = apply_retention.fn(None, True)
    assert preview["uploads"] == 2 and files_of(installation.ctx)[0][installation.gone["IHK abgelehnt"]]
    assert apply_retention.fn(None, False)["uploads"] == 2
    assert apply_retention.fn(None, False)["uploads"] == 0
