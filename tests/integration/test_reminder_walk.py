"""A whole cycle walked day by day: which reminders arrive at a real SMTP server, and when (DESIGN §7).

Deadline Thursday 15 Oct 2026. IHK answers early, HWK after the first reminder, VUV after the deadline,
DGB never; AA-BRL's primary address is refused by the server. The daily run is missed on 15 and 16
October (downtime). Runs happen every other day, weekends included.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict

from sqlmodel import select

from core.dates import BERLIN
from storage.database import session_scope
from storage.models import Contact, Request
from usecases.cycle import open_cycle
from usecases.outbox import deliver_pending
from usecases.reminders import run_reminders
from usecases.returns import confirm_no_changes, sheet_for_request
from usecases.status import cycle_status

DEADLINE = dt.date(2026, 10, 15)
KINDS = {"Erinnerung:": "reminder", "Heute fällig:": "reminder_deputy", "Frist abgelaufen:": "reminder_deputy",
         "Fällig am ": "reminder_deputy", "Bitte um Unterstützung:": "escalation",
         "Abfrage 2026 zum": "invitation", "Eingangsbestätigung:": "receipt", "Bestätigt:": "no_changes"}
BRL_PRIMARY = "tobias.bauer@arbeitsagentur-bruehl.example.org"


def kind_of(subject: str) -> str:
    return next(kind for prefix, kind in KINDS.items() if subject.startswith(prefix))


def morning(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8, 0), BERLIN).astimezone(dt.UTC)


def request_id(ctx, code: str) -> int:  # type: ignore[no-untyped-def]
    from storage.institutions import get_institution
    from storage.regions import get_region

    with session_scope(ctx.engine) as session:
        institution = get_institution(session=session, region_id=get_region(session=session).id or 0, code=code)
        return session.exec(select(Request).where(Request.institution_id == institution.id)).one().id or 0


def test_a_whole_cycle_day_by_day(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    smtp_server.recorder.faults.reject = {BRL_PRIMARY}
    start = dt.date(2026, 9, 1)
    open_cycle(demo_ctx, year=2026, deadline=DEADLINE, today=start, now=morning(start))
    answers = {dt.date(2026, 9, 3): "IHK", dt.date(2026, 10, 9): "HWK", dt.date(2026, 10, 19): "VUV"}
    missed = {dt.date(2026, 10, 15), dt.date(2026, 10, 16)}
    arrivals: dict[dt.date, list[tuple[str, str, list[str]]]] = defaultdict(list)  # day → (kind, code, to)
    codes_by_name: dict[str, str] = {}
    with session_scope(demo_ctx.engine) as session:
        from storage.models import Institution

        codes_by_name = {i.name: i.code for i in session.exec(select(Institution)).all()}

    day = start
    while day <= dt.date(2026, 11, 6):
        if day in answers:
            rid = request_id(demo_ctx, answers[day])
            sheet_for_request(demo_ctx, request_id=rid, now=morning(day))
            confirm_no_changes(demo_ctx, request_id=rid, now=morning(day) + dt.timedelta(hours=2))
        if day not in missed:
            run_reminders(demo_ctx, today=day, now=morning(day))
        before = len(smtp_server.recorder.received)
        asyncio.run(deliver_pending(demo_ctx))
        for received in smtp_server.recorder.received[before:]:
            message = received.message()
            subject = str(message["Subject"])
            code = next(code for name, code in sorted(codes_by_name.items(), key=lambda x: -len(x[0]))
                        if name in subject)
            arrivals[day].append((kind_of(subject), code, received.recipients))
        day += dt.timedelta(days=1)

    def on(day: dt.date, kind: str) -> set[str]:
        return {code for k, code, _ in arrivals[day] if k == kind}

    everyone = set(codes_by_name.values())
    all_arrivals = [item for items in arrivals.values() for item in items]
    assert on(start, "invitation") == everyone
    # Thursday 8 Oct: first reminder to all who had not answered (IHK answered on 3 Sep).
    assert on(dt.date(2026, 10, 8), "reminder") == everyone - {"IHK"}
    # Deadline day and the day after were missed: the deadline step arrives once, on Saturday 17 Oct.
    assert on(dt.date(2026, 10, 17), "reminder_deputy") == everyone - {"IHK", "HWK"}
    # Thursday 22 Oct: escalation to the heads, the agency in copy (VUV answered on 19 Oct).
    assert on(dt.date(2026, 10, 22), "escalation") == everyone - {"IHK", "HWK", "VUV"}
    escalation_to = next(to for k, code, to in arrivals[dt.date(2026, 10, 22)] if k == "escalation" and code == "DGB")
    assert "fachkraefte@regionalagentur-aachen.example.org" in escalation_to
    # Each reminder kind arrives once per institution, on exactly one day, and nothing else ever.
    per_kind: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    for when, items in arrivals.items():
        for kind, code, _ in items:
            per_kind[(kind, code)].append(when)
    assert all(len(days) == 1 for days in per_kind.values()), {k: v for k, v in per_kind.items() if len(v) > 1}
    reminder_days = {d for (kind, _), days in per_kind.items() if kind in ("reminder", "reminder_deputy",
                                                                             "escalation") for d in days}
    assert reminder_days == {dt.date(2026, 10, 8), dt.date(2026, 10, 17), dt.date(2026, 10, 22)}
    assert [k for k, code, _ in all_arrivals if code == "IHK"] == ["invitation", "no_changes"]
    assert sorted(k for k, code, _ in all_arrivals if code == "HWK") == [
        "invitation", "no_changes", "reminder"]
    # AA-BRL's primary was refused at the invitation: the reminders went to the deputy instead.
    brl = [(k, to) for k, code, to in all_arrivals if code == "AA-BRL"]
    assert all(BRL_PRIMARY not in to for k, to in brl if k != "invitation")
    assert ("reminder", ["sabine.hamacher@arbeitsagentur-bruehl.example.org"]) in brl
    with session_scope(demo_ctx.engine) as session:
        refused = [c.email for c in session.exec(select(Contact)).all() if c.refused_at]
    assert refused == [BRL_PRIMARY]

    # Thursday 29 Oct: phone tasks for staff, no mail; DGB never answered.
    status = cycle_status(demo_ctx, year=2026)
    dgb = next(r for r in status.rows if r.code == "DGB")
    assert (dgb.answer, dgb.reminders, dgb.escalated, dgb.phone_task) == (None, 3, True, True)
    vuv = next(r for r in status.rows if r.code == "VUV")
    assert (vuv.answer, vuv.reminders, vuv.escalated, vuv.phone_task) == ("no_changes", 2, False, False)
    assert status.totals["answered"] == 3 and status.totals["phone_tasks"] == len(everyone) - 3
    assert arrivals[dt.date(2026, 10, 29)] == []
