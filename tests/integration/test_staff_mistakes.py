"""The mistakes staff make with a round (issue 23), through the real CLI on the demo region; the mail sink is read
after each step to prove what was, and was not, sent."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from pathlib import Path

import holidays
import httpx
import pytest

from core.dates import BERLIN
from mail.templates import MailRenderer
from tests.support import demo
from tests.support.portal import PortalProcess, main_text
from tests.support.smtp import free_port

TODAY = dt.datetime.now(BERLIN).date()
ROOT = Path(__file__).resolve().parents[2]


def weekday_after(days: int) -> dt.date:
    """The first working day (NW) at least ``days`` from today."""
    day = TODAY + dt.timedelta(days=days)
    nw = holidays.country_holidays("DE", subdiv="NW")
    while day.weekday() >= 5 or day in nw:
        day += dt.timedelta(days=1)
    return day


def next_weekday_holiday(after: int) -> dt.date:
    """A public holiday in NW on a weekday, at least ``after`` days from today."""
    for year in (TODAY.year, TODAY.year + 1):
        for day in sorted(holidays.country_holidays("DE", subdiv="NW", years=year)):
            if day >= TODAY + dt.timedelta(days=after) and day.weekday() < 5:
                return day
    raise AssertionError("no holiday found")


def d(day: dt.date) -> str:
    return f"{day:%d.%m.%Y}"


def sink_mails(tmp_path: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted((tmp_path / "var" / "mail").glob("*.eml"))]


@pytest.fixture
def demo_db(run_fko) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0


@pytest.mark.parametrize("year", ["26", "2099"])
def test_a_typo_in_the_year_opens_nothing(run_fko, demo_db: None, tmp_path: Path, year: str) -> None:  # type: ignore[no-untyped-def]
    result = run_fko("cycle", "open", "--year", year, "--deadline", d(weekday_after(30)))
    assert result.exit_code == 2
    assert f"{year} ist kein plausibles Jahr" in result.stderr and "--force" in result.stderr
    assert sink_mails(tmp_path) == []
    assert run_fko("cycle", "status").exit_code == 2  # no round exists


def test_one_round_at_a_time_and_its_deadline_moves_only_on_purpose(run_fko, demo_db: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = weekday_after(30)
    opened = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(deadline))
    assert opened.exit_code == 0, opened.stderr
    invitations = len(sink_mails(tmp_path))
    assert invitations == demo.INSTITUTIONS

    other = run_fko("cycle", "open", "--year", str(TODAY.year + 1), "--deadline", d(deadline))
    assert other.exit_code == 2
    assert f"Die Abfrage {TODAY.year} läuft noch (Frist" in other.stderr
    again = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(weekday_after(40)))
    assert again.exit_code == 2
    assert f"fko cycle deadline --year {TODAY.year} {d(weekday_after(40))}" in again.stderr
    assert len(sink_mails(tmp_path)) == invitations
    planned = run_fko("remind", "--dry-run", "--today", d(deadline))
    codes = re.findall(r"^\S*│ (\S+)\s+│", planned.stdout, re.MULTILINE)
    assert len(codes) == len(set(codes)) == demo.INSTITUTIONS  # every institution once, not per round

    later = weekday_after(45)
    moved = run_fko("cycle", "deadline", "--year", str(TODAY.year), d(later))
    assert moved.exit_code == 0, moved.stderr
    assert "verschoben" in moved.stdout and f"Nachricht an {demo.INSTITUTIONS} Institutionen" in moved.stdout
    notices = [m for m in sink_mails(tmp_path) if str(m["Subject"]).startswith("Neue Frist")]
    assert len(notices) == demo.INSTITUTIONS
    body = notices[0].get_body(("plain",)).get_content()
    assert "statt" in body and f"{later.day}. " in body and "/r/" in body
    status = json.loads(run_fko("cycle", "status", "--json").stdout)
    assert status["deadline"] == later.isoformat()
    quiet = run_fko("cycle", "deadline", "--year", str(TODAY.year), d(weekday_after(50)), "--no-notice")
    assert quiet.exit_code == 0 and "Keine Nachricht" in quiet.stdout
    assert len(sink_mails(tmp_path)) == invitations + demo.INSTITUTIONS


def test_a_deadline_on_a_holiday_or_too_soon_needs_confirmation(run_fko, demo_db: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    holiday = next_weekday_holiday(14)
    refused = run_fko("cycle", "open", "--year", str(holiday.year), "--deadline", d(holiday))
    assert refused.exit_code == 2
    assert f"der {d(holiday)} ist ein Feiertag" in refused.stderr and "--yes" in refused.stderr
    soon = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(TODAY + dt.timedelta(days=3)))
    assert soon.exit_code == 2 and "in 3 Tagen" in soon.stderr
    assert sink_mails(tmp_path) == [] and run_fko("cycle", "status").exit_code == 2
    confirmed = run_fko("cycle", "open", "--year", str(holiday.year), "--deadline", d(holiday), "--yes")
    assert confirmed.exit_code == 0, confirmed.stderr


def test_publishing_waits_for_the_round_and_a_published_round_is_over(run_fko, demo_db: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(weekday_after(30))).exit_code == 0
    waiting = run_fko("publish", "--yes")
    assert waiting.exit_code == 2
    assert "nimmt noch bis" in waiting.stderr and "IHK" in waiting.stderr and "--early" in waiting.stderr
    assert "Nichts wurde veröffentlicht" in waiting.stderr
    early = run_fko("publish", "--yes", "--early", "--approved-by", "Lenkungskreis")
    assert early.exit_code == 0 and f"Version {TODAY.year} veröffentlicht" in early.stdout
    sent = len(sink_mails(tmp_path))
    reminded = run_fko("remind", "--today", d(weekday_after(30)))
    assert reminded.exit_code == 3 and "Keine laufende Abfrage" in reminded.stderr
    assert len(sink_mails(tmp_path)) == sent
    moved = run_fko("cycle", "deadline", "--year", str(TODAY.year), d(weekday_after(40)))
    assert moved.exit_code == 2 and "veröffentlicht" in moved.stderr
    reopened = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(weekday_after(30)))
    assert reopened.exit_code == 2 and "ist beendet" in reopened.stderr  # nobody is invited into an adopted round
    relinked = run_fko("cycle", "new-link", "-i", "IHK", "--year", str(TODAY.year))
    assert relinked.exit_code == 2 and "ist beendet" in relinked.stderr
    assert len(sink_mails(tmp_path)) == sent
    nxt = run_fko("cycle", "open", "--year", str(TODAY.year + 1), "--deadline", d(weekday_after(30)))
    assert nxt.exit_code == 0, nxt.stderr  # the published round no longer blocks the next one


def test_remind_without_a_round_exits_3(run_fko, demo_db: None) -> None:  # type: ignore[no-untyped-def]
    result = run_fko("remind")
    assert result.exit_code == 3 and "Keine laufende Abfrage" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_new_link_is_always_shown_to_staff_and_the_old_one_says_so(run_fko, demo_db: None, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                       fko_env: dict[str, str]) -> None:
    assert run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(weekday_after(30))).exit_code == 0
    sent = len(sink_mails(tmp_path))
    invitation = next(m for m in sink_mails(tmp_path) if "IHK Aachen" in str(m["Subject"]))
    old = re.search(r"http://127\.0\.0\.1:8000(/r/[A-Za-z0-9_-]{32})", invitation.get_body(("plain",)).get_content())
    result = run_fko("cycle", "new-link", "-i", "IHK", "--year", str(TODAY.year), "--no-send")
    assert result.exit_code == 0
    new = re.search(r"http://127\.0\.0\.1:8000(/r/[A-Za-z0-9_-]{32})", result.stdout)
    assert old and new and old.group(1) != new.group(1)
    assert "bitte den neuen Link selbst weitergeben" in result.stdout
    assert len(sink_mails(tmp_path)) == sent

    page = PortalProcess(fko_env, free_port(), tmp_path / "portal.log").start()
    try:
        replaced = httpx.get(page.url + old.group(1))
        assert replaced.status_code == 410 and "durch einen neueren ersetzt" in replaced.text
        assert "IHK" not in main_text(replaced.text) and new.group(1) not in replaced.text
        assert httpx.get(page.url + new.group(1)).status_code == 200
        unknown = httpx.get(page.url + "/r/" + "A" * 32)
        assert unknown.status_code == 404 and "ersetzt" not in unknown.text  # a guess learns nothing
    finally:
        page.stop()


@pytest.mark.parametrize(("days", "says"), [(0, "ist heute, "), (3, "war am "), (-2, "ist am ")])
def test_a_reminder_never_calls_a_past_day_today(days: int, says: str) -> None:
    deadline = dt.date(2026, 12, 25)
    context = {"region_name": "Region Aachen", "agency_name": "Regionalagentur", "agency_email": "a@example.org",
               "agency_phone": "", "agency_address": "", "funding_line": "", "year": 2026,
               "deadline_text": "Freitag, 25. Dezember 2026", "deadline_short": "25.12.2026",
               "days_to_deadline": -days, "institution_name": "IHK Aachen", "institution_code": "IHK",
               "recipient_name": "Anna Schmitz", "link": "https://fko.example.org/r/x"}
    rendered = MailRenderer(ROOT / "survey_templates").render("reminder_deputy", context)
    assert says + "Freitag, 25. Dezember 2026" in rendered.text.replace("\n", " ")
    assert deadline.weekday() == 4
    if days:
        assert "heute" not in rendered.text.lower() and "heute" not in rendered.subject.lower()


def test_unsent_invitations_of_a_published_round_are_never_sent(run_fko, demo_db: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    opened = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(weekday_after(30)), "--no-send")
    assert opened.exit_code == 0
    assert run_fko("publish", "--yes", "--early").exit_code == 0
    assert run_fko("mail", "send").exit_code == 0
    assert sink_mails(tmp_path) == []
    states = {m["state"] for m in json.loads(run_fko("mail", "outbox", "--json").stdout)}
    assert states == {"cancelled"}
    assert "verworfen (Abfrage beendet)" in run_fko("mail", "outbox").stdout


def test_a_draft_of_texts_only_is_not_published(run_fko, demo_db: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("concept", "texts", "export", "--out", str(tmp_path / "t.docx")).exit_code == 0
    assert run_fko("concept", "texts", "import", str(tmp_path / "t.docx")).exit_code == 0  # a draft with texts
    result = run_fko("publish", "--yes")
    assert result.exit_code == 2 and "gehört zu keiner Abfrage" in result.stderr


def test_a_deadline_notice_does_not_send_invitations_held_back(run_fko, demo_db: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    opened = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(weekday_after(30)), "--no-send")
    assert opened.exit_code == 0 and sink_mails(tmp_path) == []
    moved = run_fko("cycle", "deadline", "--year", str(TODAY.year), d(weekday_after(40)))
    assert moved.exit_code == 0, moved.stderr
    subjects = {str(m["Subject"]).split(":")[0] for m in sink_mails(tmp_path)}
    assert len(sink_mails(tmp_path)) == demo.INSTITUTIONS and all(s.startswith("Neue Frist") for s in subjects)
    waiting = [m for m in json.loads(run_fko("mail", "outbox", "--json").stdout) if m["state"] == "pending"]
    assert len(waiting) == demo.INSTITUTIONS and {m["kind"] for m in waiting} == {"invitation"}


def test_a_receipt_does_not_send_invitations_held_back(run_fko, demo_db: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", d(weekday_after(30)),
                   "--no-send").exit_code == 0
    sheet = tmp_path / "ihk.xlsx"
    built = run_fko("sheet", "build", "--institution", "IHK", "--year", str(TODAY.year), "--out", str(sheet))
    assert built.exit_code == 0
    taken = run_fko("ingest", str(sheet), "--notify")
    assert taken.exit_code == 0, taken.stderr
    assert [str(m["Subject"]).split(":")[0] for m in sink_mails(tmp_path)] == ["Eingangsbestätigung"]
