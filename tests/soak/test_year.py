"""A year in minutes, with faults: a whole round on a simulated calendar through the real processes (`fko portal`,
the daily run `fko remind` and `fko mail fetch` as the systemd timers start them, a real SMTP server, Dovecot,
PostgreSQL), faults drawn from a seed: the relay down for a day, 421 mid-batch, the page killed mid-upload, the
database restarted, the disk nearly full, the clock jumping over a weekend.

At the end: every institution's last answer is recorded once, every due reminder went out exactly once, no mail
went out twice, and the published version is what the model of the answers says. `make soak` plays the long
variant (40 institutions, every working day); `make test` a short one (the 22 demo institutions, the days that
matter). A failure names the seed: FKO_SOAK_SEED=<seed> replays it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
import psycopg
import pytest

from core.ladder import parse_policy, step_date
from core.workdays import public_holidays
from tests.conftest import IN_CI
from tests.soak.plan import DEADLINE, LAST, OPENED, Action, Plan, Step, expected_reminders, make_plan
from tests.support.factories import edit_sheet
from tests.support.imap import PASSWORD, USER, Dovecot, reply, sheet_of
from tests.support.portal import PortalProcess, csrf_of, links_from_mail, main_text
from tests.support.postgres import PostgresCluster
from tests.support.smtp import SmtpServer, free_port
from tests.support.zygote import run_cli

ROOT = Path(__file__).resolve().parents[2]
MAIL_STEPS = ("reminder", "reminder_deputy", "escalation")


@dataclass(frozen=True)
class Variant:
    name: str
    extra_institutions: int    # beside the 22 of the demo region
    every_day: bool            # the daily run on every working day, or only on the days that matter


SHORT = Variant("kurz", 0, every_day=False)
YEAR = Variant("jahr", 18, every_day=True)


def seed() -> int:
    return int(os.environ.get("FKO_SOAK_SEED") or random.SystemRandom().randrange(1, 10**6))


# --- the world: servers and processes -------------------------------------------------------------------


@dataclass
class World:
    tmp: Path
    env: dict[str, str]
    smtp: SmtpServer
    dovecot: Dovecot
    cluster: PostgresCluster
    database: str
    disk: Path | None                      # the data folder's tmpfs (None: no root, no disk fault)
    portal: PortalProcess | None = None
    links: dict[str, str] = field(default_factory=dict)
    invitations: dict[str, EmailMessage] = field(default_factory=dict)
    sent: dict[Action, bytes] = field(default_factory=dict)     # what each upload or reply carried
    runs: list[dt.date] = field(default_factory=list)           # days the daily run went through
    log: list[str] = field(default_factory=list)                 # what happened, for a failure's message
    kills: list[float] = field(default_factory=list)             # when the page was killed (time.monotonic)
    zygote: str | None = None                                    # tests.support.zygote: fko forked from it

    def fko(self, *args: str, allowed: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        done = run_cli(self.zygote, args, env=self.env, cwd=self.tmp, timeout=600)
        self.log.append(f"fko {' '.join(args)} → {done.returncode}")
        assert done.returncode in allowed, f"fko {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def query(self, sql: str) -> list[tuple[object, ...]]:
        url = self.database.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as connection:
            return list(connection.execute(sql).fetchall())  # type: ignore[arg-type]


@contextlib.contextmanager
def tiny_disk(tmp: Path) -> Iterator[Path | None]:
    mount = tmp / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        if IN_CI:
            pytest.fail(f"CI runs as root and must be able to mount a tmpfs: {done.stderr}")
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def extra_institutions(count: int) -> bytes:
    """An institutions file with ``count`` more institutions (no concept entries yet: they start from empty)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Kürzel", "Name", "Ansprechperson", "E-Mail", "Rolle"])
    for number in range(1, count + 1):
        code = f"SOAK{number:02d}"
        writer.writerow([code, f"Soak-Einrichtung {number}", f"Person {number}", f"kontakt{number}@soak.example.org",
                         "Hauptansprechperson"])
        writer.writerow([code, f"Soak-Einrichtung {number}", f"Vertretung {number}",
                         f"vertretung{number}@soak.example.org", "Vertretung"])
    return out.getvalue().encode("utf-8")


@contextlib.contextmanager
def world(tmp: Path, variant: Variant, zygote: str | None) -> Iterator[World]:
    try:
        cluster = PostgresCluster.start()
    except Exception as exc:  # no PostgreSQL here: the soak needs it for the restart
        if IN_CI:
            pytest.fail(f"PostgreSQL must run in CI: {exc}")
        pytest.skip(f"no PostgreSQL server can start here: {exc}")
    smtp = SmtpServer().start()
    dovecot = Dovecot().start()
    try:
        with tiny_disk(tmp) as disk:
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("FKO_")}
            database = cluster.create_database()
            env.update({"XDG_CONFIG_HOME": str(tmp / "config"), "COLUMNS": "200", "FKO_ALLOW_LOCAL_LINKS": "true",
                        "FKO_DATA_DIR": str((disk or tmp) / "var"), "FKO_DATABASE_URL": database,
                        "FKO_BASE_URL": f"http://127.0.0.1:{port}", "FKO_SMTP_HOST": "127.0.0.1",
                        "FKO_SMTP_PORT": str(smtp.port), "FKO_MAIL_FROM": "noreply@regionalagentur.example.org",
                        "FKO_IMAP_HOST": "127.0.0.1", "FKO_IMAP_PORT": str(dovecot.port), "FKO_IMAP_USER": USER,
                        "FKO_IMAP_PASSWORD": PASSWORD, "FKO_IMAP_TLS": "none"})
            here = World(tmp, env, smtp, dovecot, cluster, database, disk, zygote=zygote)
            here.fko("init", "--demo")
            if variant.extra_institutions:
                (tmp / "weitere.csv").write_bytes(extra_institutions(variant.extra_institutions))
                here.fko("institutions", "import", str(tmp / "weitere.csv"))
            here.fko("cycle", "open", "--year", str(DEADLINE.year), "--deadline", f"{DEADLINE:%d.%m.%Y}", "--yes")
            messages = smtp.recorder.messages()
            here.links = links_from_mail(messages, env["FKO_BASE_URL"])
            for message in messages:
                for part in message.iter_attachments():
                    name = part.get_filename() or ""
                    if name.endswith(".xlsx"):
                        here.invitations[name.rsplit("-aachen-", 1)[1].removesuffix(".xlsx")] = message
            here.portal = PortalProcess(env, port, tmp / "portal.log").start()
            try:
                yield here
            finally:
                here.portal.stop()
    finally:
        dovecot.stop()
        smtp.stop()
        cluster.stop()


# --- institutions' actions ----------------------------------------------------------------------------


def free_row(sheet: bytes) -> int:
    from openpyxl import load_workbook

    worksheet = load_workbook(io.BytesIO(sheet))["Aktivitäten"]
    row = 2
    while worksheet[f"B{row}"].value not in (None, ""):
        row += 1
    return row


def version(here: World, action: Action, *, broken: bool = False, note: str = "") -> bytes:
    """The institution's sheet (from its invitation) with one new activity, titled by version; even versions
    also end its first activity. A broken one has a status the catalog does not know."""
    base = sheet_of(here.invitations[action.code])
    row = free_row(base)
    title = f"Soak {action.code} " + ("kaputt" if broken else f"v{action.version}{note}")
    edits: dict[str, object] = {f"B{row}": title, f"D{row}": "Duale Ausbildung stärken",
                                f"E{row}": "vielleicht" if broken else "geplant"}
    if not broken and action.version % 2 == 0 and row > 2:
        edits["E2"] = "abgeschlossen"
    return edit_sheet(base, edits)


def post_upload(link: str, data: bytes) -> httpx.Response:
    with httpx.Client(timeout=120, follow_redirects=True) as http:
        csrf = csrf_of(http.get(link).text)
        return http.post(f"{link}/hochladen", data={"csrf": csrf}, files={"datei": ("Abfrage.xlsx", data)})


def upload(here: World, action: Action, plan: Plan) -> None:
    link = here.links[action.code]
    if action.kind == "broken":
        answer = main_text(post_upload(link, version(here, action, broken=True)).text)
        assert "konnte noch nicht angenommen werden" in answer, answer
        return
    data = version(here, action)
    if action.fault == "page_killed":
        killed = version(here, action, note=" (abgebrochen)")
        started = time.monotonic()
        probe = post_upload(link, version(here, action, note=" (Probe)"))   # how long an upload takes here
        assert "wurde angenommen" in main_text(probe.text)
        took = time.monotonic() - started
        worker = threading.Thread(target=lambda: _ignore_transport_errors(link, killed))
        worker.start()
        time.sleep(took * plan.kill_fraction)
        assert here.portal is not None
        here.portal.kill()
        here.kills.append(time.monotonic())
        worker.join(timeout=120)
        here.portal.start()
        here.log.append(f"{action.day}: Seite beim Hochladen von {action.code} beendet und neu gestartet")
    if action.fault == "disk_full" and here.disk is not None:
        filler = here.disk / "filler"
        stat = os.statvfs(here.disk)
        filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - 4096))
        try:
            full = post_upload(link, data)
            assert full.status_code == 503 and "es wurde nichts verbucht" in main_text(full.text)
        finally:
            filler.unlink()
        here.log.append(f"{action.day}: Datenträger voll beim Hochladen von {action.code}; danach erneut")
    answer = main_text(post_upload(link, data).text)
    assert "wurde angenommen" in answer, (action, answer)
    here.sent[action] = data


def _ignore_transport_errors(link: str, data: bytes) -> None:
    with contextlib.suppress(httpx.TransportError):
        post_upload(link, data)


def no_changes(here: World, action: Action) -> None:
    link = here.links[action.code]
    with httpx.Client(timeout=120, follow_redirects=True) as http:
        page = http.post(f"{link}/keine-aenderungen", data={"csrf": csrf_of(http.get(link).text)})
    assert "nicht geändert haben" in main_text(page.text)


def mail_reply(here: World, action: Action) -> None:
    data = version(here, action)
    invitation = here.invitations[action.code]
    sender = str(invitation["To"]).split(",")[0].strip()
    here.dovecot.deliver(reply(invitation, sender=sender, attachments=[(f"{action.code}.xlsx", data)]))
    here.sent[action] = data


# --- the round ----------------------------------------------------------------------------------------


def play(here: World, plan: Plan, *, every_day: bool) -> None:
    for day in plan.days:
        faults = [name for name, when in plan.fault_days.items() if when == day]
        if "smtp_down" in faults:
            here.smtp.stop()
            here.log.append(f"{day}: Mailserver den ganzen Tag aus")
        for action in plan.actions_on(day):
            if action.kind in ("upload", "broken"):
                upload(here, action, plan)
            elif action.kind == "no_changes":
                no_changes(here, action)
            else:
                mail_reply(here, action)
        if any(a.kind == "mail" for a in plan.actions_on(day)) or (day in plan.run_days and every_day):
            here.fko("mail", "fetch")
        if day not in plan.run_days:  # no daily run today (the clock jumps): the relay still comes back tonight
            if "smtp_down" in faults:
                here.smtp.start()
            continue
        if "smtp_421" in faults:
            here.smtp.recorder.faults.drop_after = len(here.smtp.recorder.received) + plan.smtp_421_after
            here.log.append(f"{day}: Mailserver antwortet nach {plan.smtp_421_after} E-Mails mit 421")
        if "db_restart" in faults:
            here.cluster.pause()
            here.log.append(f"{day}: Datenbank während des Tageslaufs neu gestartet")
        # The database away: exit 3, nothing done (the next day catches up). The relay away or dropping: exit 1,
        # the steps are carried out and their mail waits in the outbox for the next run.
        allowed = (3,) if "db_restart" in faults else (0, 1) if {"smtp_down", "smtp_421"} & set(faults) else (0,)
        done = here.fko("remind", "--today", day.isoformat(), allowed=allowed)
        if done.returncode in (0, 1):
            here.runs.append(day)
        if "db_restart" in faults:
            here.cluster.resume()
        here.smtp.recorder.faults.drop_after = None
        if "smtp_down" in faults:
            here.smtp.start()
    here.fko("mail", "send")   # what a fault held back on the last day
    here.fko("publish", "--yes", "--early", "--approved-by", "Lenkungskreis")


# --- the checks ---------------------------------------------------------------------------------------


def check_answers(here: World, plan: Plan, codes: list[str]) -> None:
    """Each institution's last answer counts and is recorded once; one that never answered has none."""
    rows = here.query("SELECT i.code, s.id, s.outcome, s.raw_sha256 FROM submission s JOIN request r ON r.id = "
                      "s.request_id JOIN institution i ON i.id = r.institution_id ORDER BY s.received_at, s.id")
    for code in codes:
        mine = [(sid, outcome, sha) for c, sid, outcome, sha in rows if c == code]
        answers = [(sid, outcome, sha) for sid, outcome, sha in mine if outcome in ("accepted", "no_changes")]
        final = plan.final(code)
        if final is None:
            assert answers == [], (code, answers)
            continue
        assert answers, (code, "no answer recorded")
        latest = answers[-1]
        if final.kind == "no_changes":
            assert latest[1] == "no_changes", (code, latest)
            continue
        sha = hashlib.sha256(here.sent[final]).hexdigest()
        assert latest[1:] == ("accepted", sha), (code, final, latest)
        assert [s for _i, _o, s in mine].count(sha) == 1, (code, "recorded more than once")


def check_mail(here: World, plan: Plan, codes: list[str], steps: list[Step], dates: dict[str, dt.date]) -> None:
    """Every due reminder went out exactly once, phone tasks were set once, and no mail went out twice."""
    expected = expected_reminders(plan, codes, steps, dates, here.runs)
    outbox = here.query("SELECT i.code, m.kind, m.state, m.message_id FROM outbound_message m JOIN institution i "
                        "ON i.id = m.institution_id")
    reminders = sorted((code, kind) for code, kind, _state, _mid in outbox if kind in MAIL_STEPS)
    wanted = sorted((code, step) for code, done in expected.items() for step in done if step in MAIL_STEPS)
    assert reminders == wanted
    assert all(state == "sent" for _c, kind, state, _m in outbox if kind in MAIL_STEPS), outbox
    phone = sorted(str(code) for (code,) in here.query(
        "SELECT subject FROM event_log WHERE action = 'reminder.phone_task'"))
    assert phone == sorted(code for code, done in expected.items() if "phone" in done)
    received = [str(m["Message-ID"]) for m in here.smtp.recorder.messages()]
    # The one window no SMTP client can close (README, test_faults_portal): the page was killed after the relay
    # took a message and before the page wrote that down; the page started again sends it once more, under the
    # same Message-ID. Only a copy whose first arrival came within a second before a kill may come twice.
    arrivals: dict[str, list[float]] = {}
    for item in here.smtp.recorder.received:
        arrivals.setdefault(str(item.message()["Message-ID"]), []).append(item.at)
    twice = {mid: at for mid, at in arrivals.items() if len(at) > 1}
    in_window = {mid for mid, at in twice.items()
                 if len(at) == 2 and any(0 <= kill - at[0] <= 1.0 for kill in here.kills)}
    assert set(twice) == in_window, ("a mail went out twice", sorted(set(twice) - in_window))
    arrived = set(received)
    for code, kind, state, message_id in outbox:
        if state == "sent":
            assert message_id in arrived, (code, kind, "marked sent but never arrived")
    assert not here.query("SELECT id FROM outbound_message WHERE state IN ('pending', 'sending', 'failed')")


def sheet_rows(data: bytes) -> list[tuple[str, str]]:
    """(title, status) of every filled row of a sheet as the institution sent it."""
    from openpyxl import load_workbook

    worksheet = load_workbook(io.BytesIO(data))["Aktivitäten"]
    return [(str(row[1]), str(row[4])) for row in worksheet.iter_rows(min_row=2, values_only=True)
            if row[1] not in (None, "")]


def check_version(here: World, plan: Plan, codes: list[str], base: dict[str, list[tuple[str, str]]]) -> None:
    """The published version holds, per institution, what its last answer's sheet listed; on "no changes" or
    without an answer, its entries of the base version."""
    published = here.query("SELECT i.code, a.title, a.status FROM activity a JOIN concept_version v ON v.id = "  # noqa: S608
                           "a.version_id JOIN institution i ON i.id = a.institution_id WHERE v.label = "
                           f"'{DEADLINE.year}' AND v.status = 'published'")
    model: list[tuple[str, str, str]] = []
    for code in codes:
        final = plan.final(code)
        rows = sheet_rows(here.sent[final]) if final is not None and final.kind in ("upload", "mail") \
            else base.get(code, [])
        model += [(code, title, status) for title, status in rows]
    assert sorted((str(c), str(t), str(s)) for c, t, s in published) == sorted(model)


def run_round(tmp: Path, variant: Variant, chosen: int, zygote: str | None = None) -> None:
    policy = parse_policy((ROOT / "survey_templates" / "reminders.toml").read_text(encoding="utf-8"))
    is_holiday = public_holidays("NW")
    steps = [Step(s.name, s.offset_days, s.kind == "mail") for s in policy.steps]
    dates = {s.name: step_date(DEADLINE, s, is_holiday) for s in policy.steps}
    with world(tmp, variant, zygote) as here:
        codes = sorted(here.links)
        assert len(codes) == 22 + variant.extra_institutions
        base: dict[str, list[tuple[str, str]]] = {}
        for code, title, status in here.query(
                "SELECT i.code, a.title, a.status FROM activity a JOIN concept_version v ON v.id = a.version_id "
                "JOIN institution i ON i.id = a.institution_id WHERE v.status = 'published' ORDER BY a.position"):
            base.setdefault(str(code), []).append((str(title), str(status)))
        plan = make_plan(chosen, codes, steps, dates, is_holiday, every_day=variant.every_day)
        if here.disk is None:
            plan.actions = [a if a.fault != "disk_full" else Action(a.day, a.code, a.kind, a.version)
                            for a in plan.actions]
        try:
            play(here, plan, every_day=variant.every_day)
            check_answers(here, plan, codes)
            check_mail(here, plan, codes, steps, dates)
            check_version(here, plan, codes, base)
        except BaseException as exc:
            story = "\n".join(here.log[-40:])
            raise AssertionError(f"Soak ({variant.name}) mit Seed {chosen} fehlgeschlagen; wiederholen mit "
                                 f"FKO_SOAK_SEED={chosen}: {exc!r}\nZuletzt:\n{story}") from exc


@pytest.mark.postgres
def test_soak_short_round_with_every_fault(tmp_path: Path, fko_zygote: str | None) -> None:
    chosen = seed()
    print(f"FKO_SOAK_SEED={chosen}")  # noqa: T201  (shown with a failure, to replay it)
    run_round(tmp_path, SHORT, chosen, fko_zygote)


@pytest.mark.soak
@pytest.mark.postgres
def test_soak_a_year_for_40_institutions(tmp_path: Path, fko_zygote: str | None) -> None:
    chosen = seed()
    print(f"FKO_SOAK_SEED={chosen}")  # noqa: T201  (shown with a failure, to replay it)
    run_round(tmp_path, YEAR, chosen, fko_zygote)


def test_soak_plan_is_the_same_for_the_same_seed() -> None:
    is_holiday = public_holidays("NW")
    policy = parse_policy((ROOT / "survey_templates" / "reminders.toml").read_text(encoding="utf-8"))
    steps = [Step(s.name, s.offset_days, s.kind == "mail") for s in policy.steps]
    dates = {s.name: step_date(DEADLINE, s, is_holiday) for s in policy.steps}
    codes = [f"I{n:02d}" for n in range(40)]
    first = make_plan(7, codes, steps, dates, is_holiday, every_day=True)
    assert first == make_plan(7, codes, steps, dates, is_holiday, every_day=True)
    assert set(first.fault_days) == {"smtp_down", "smtp_421", "page_killed", "db_restart", "disk_full", "clock_jump"}
    assert OPENED in first.run_days and LAST in first.run_days
    jump = first.fault_days["clock_jump"]
    assert jump not in first.run_days and jump - dt.timedelta(days=1) not in first.run_days
