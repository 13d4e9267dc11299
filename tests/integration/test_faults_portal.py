"""The institutions' page under faults, as a real `fko portal` process: a full disk, the process killed
mid-upload, SQLite locked, PostgreSQL gone for a while. Each time: a German page for the institution,
one clear line for staff, nothing half-recorded, and the same upload works once the fault is gone."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from storage.database import make_engine, session_scope
from storage.models import OutboundMessage, Request, Submission
from tests.conftest import IN_CI
from tests.support.factories import edit_sheet
from tests.support.portal import PortalProcess, csrf_of, links_from_mail, main_text
from tests.support.smtp import SmtpServer, free_port


@dataclass
class Live:
    env: dict[str, str]
    portal: PortalProcess
    links: dict[str, str]
    database_url: str
    files_dir: Path

    def records(self) -> tuple[list[Submission], list[Request], list[OutboundMessage]]:
        engine = make_engine(self.database_url)
        try:
            with session_scope(engine) as session:
                return (list(session.exec(select(Submission).order_by(Submission.id)).all()),
                        list(session.exec(select(Request)).all()),
                        list(session.exec(select(OutboundMessage).where(OutboundMessage.kind != "invitation")).all()))
        finally:
            engine.dispose()


def start_live(fko_env: dict[str, str], tmp_path: Path, smtp: SmtpServer, *, data_dir: Path | None = None,
               database_url: str | None = None) -> Live:
    port = free_port()
    data_dir = data_dir or tmp_path / "var"
    database_url = database_url or f"sqlite:///{tmp_path / 'fko.db'}"
    env = {**fko_env, "FKO_DATA_DIR": str(data_dir), "FKO_DATABASE_URL": database_url,
           "FKO_BASE_URL": f"http://127.0.0.1:{port}", "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp.port)}
    for args in (["init", "--demo"], ["cycle", "open", "--year", "2026", "--deadline", "15.10.2099"]):
        done = subprocess.run([sys.executable, "-m", "cli", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    links = links_from_mail(smtp.recorder.messages(), env["FKO_BASE_URL"])
    smtp.recorder.received.clear()
    portal = PortalProcess(env, port, tmp_path / "portal.log").start()
    return Live(env, portal, links, database_url, data_dir / "files")


@pytest.fixture
def live(fko_env: dict[str, str], tmp_path: Path, smtp_server: SmtpServer) -> Iterator[Live]:
    handle = start_live(fko_env, tmp_path, smtp_server)
    yield handle
    handle.portal.stop()


def edited_sheet(link: str) -> bytes:
    sheet = httpx.get(f"{link}/tabelle", timeout=30).content
    return edit_sheet(sheet, {"B9": "Azubi-Speed-Dating", "D9": "Duale Ausbildung stärken", "E9": "geplant"})


def post_upload(link: str, data: bytes, timeout: float = 60) -> httpx.Response:
    with httpx.Client(timeout=timeout, follow_redirects=True) as http:
        csrf = csrf_of(http.get(link).text)
        return http.post(f"{link}/hochladen", data={"csrf": csrf}, files={"datei": ("Abfrage.xlsx", data)})


def assert_consistent(live: Live) -> None:
    """No half-recorded return: every submission points at a complete stored file, an answered request
    has its accepted submission, and each submission has exactly one mail queued."""
    submissions, requests, mails = live.records()
    for submission in submissions:
        if submission.raw_sha256:
            stored = Path(submission.raw_path or "")
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == submission.raw_sha256
    accepted_requests = {s.request_id for s in submissions if s.outcome == "accepted"}
    assert {r.id for r in requests if r.state == "answered"} == accepted_requests
    assert sorted(m.idempotency_key.rsplit(":", 1)[1] for m in mails) == sorted(str(s.id) for s in submissions)


# --- a full disk -------------------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs for the data folder (uploads, mail bodies); the database lives elsewhere."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        if IN_CI:
            pytest.fail(f"CI runs as root and must be able to mount a tmpfs: {done.stderr}")
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave_bytes: int) -> Path:
    filler = disk / "filler"
    stat = os.statvfs(disk)
    filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave_bytes))
    return filler


def test_disk_full_when_storing_an_upload(fko_env, tmp_path: Path, smtp_server, tiny_disk: Path) -> None:  # type: ignore[no-untyped-def]
    live = start_live(fko_env, tmp_path, smtp_server, data_dir=tiny_disk / "var")
    try:
        link = live.links["IHK"]
        data = edited_sheet(link)
        filler = fill(tiny_disk, leave_bytes=4096)
        response = post_upload(link, data)
        assert response.status_code == 503
        assert "konnte gerade nicht gespeichert werden; es wurde nichts verbucht" in main_text(response.text)
        assert f"return of IHK ({len(data)} bytes, Abfrage.xlsx, sha256 {hashlib.sha256(data).hexdigest()}) NOT " \
               "recorded" in live.portal.log()
        assert "No space left on device" in live.portal.log() and "Traceback" not in live.portal.log()
        assert live.records()[0] == []  # nothing recorded
        assert not list(live.files_dir.rglob(".tmp-*"))  # no half-written file left behind

        filler.unlink()  # staff make room; the institution tries again
        again = post_upload(link, data)
        assert "wurde angenommen" in main_text(again.text)
        (submission,) = live.records()[0]
        assert submission.outcome == "accepted"
        assert_consistent(live)
    finally:
        live.portal.stop()


# --- killed mid-upload ---------------------------------------------------------------------------------


def test_portal_killed_mid_upload_leaves_no_half_recorded_return(live: Live, smtp_server: SmtpServer,
                                                                  tmp_path: Path) -> None:
    link = live.links["HWK"]
    data = edited_sheet(link)
    started = time.monotonic()
    assert "wurde angenommen" in main_text(post_upload(link, data).text)
    took = time.monotonic() - started
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9):
        before = len(live.records()[0])
        worker = threading.Thread(target=lambda: _ignore_transport_errors(link, data))
        worker.start()
        time.sleep(took * fraction)
        live.portal.kill()
        worker.join(timeout=60)
        assert len(live.records()[0]) - before in (0, 1)  # the return is recorded whole or not at all
        assert_consistent(live)
        live.portal.start()
    final = post_upload(link, data)
    assert "wurde angenommen" in main_text(final.text)
    assert_consistent(live)
    submissions = live.records()[0]
    assert all(s.outcome == "accepted" for s in submissions)
    # Receipts: a killed page leaves its queued mail to the next sender; each goes out exactly once.
    live.portal.stop()
    done = subprocess.run([sys.executable, "-m", "cli", "mail", "send"], env=live.env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ids = [str(m["Message-ID"]) for m in smtp_server.recorder.messages()]
    assert len(set(ids)) == len(submissions)  # every receipt went out
    # A page killed in the instant after the relay accepted a receipt and before that was committed leaves it
    # to be sent again, under the same Message-ID (mail programs show it once; usecases/outbox.py): at most one
    # such copy per kill.
    assert len(ids) - len(set(ids)) <= 5


def _ignore_transport_errors(link: str, data: bytes) -> None:
    with contextlib.suppress(httpx.TransportError):  # the server died under the request
        post_upload(link, data, timeout=30)


# --- the database locked or away ----------------------------------------------------------------------


def test_sqlite_locked_for_a_while_the_upload_waits_and_is_recorded_once(live: Live) -> None:
    link = live.links["VUV"]
    data = edited_sheet(link)
    database = live.database_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(database, timeout=1, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # a backup tool or a stuck process holds the file

    def release_later() -> None:
        time.sleep(3)
        holder.execute("COMMIT")

    releaser = threading.Thread(target=release_later)
    started = time.monotonic()
    releaser.start()
    response = post_upload(link, data)
    releaser.join()
    holder.close()
    assert time.monotonic() - started >= 3  # it really had to wait
    assert "wurde angenommen" in main_text(response.text)
    assert [s.outcome for s in live.records()[0]] == ["accepted"]
    assert_consistent(live)


@pytest.mark.postgres
def test_postgres_unreachable_for_a_while(fko_env, tmp_path: Path, smtp_server, own_postgres, run_fko) -> None:  # type: ignore[no-untyped-def]
    live = start_live(fko_env, tmp_path, smtp_server, database_url=own_postgres.create_database())
    try:
        link = live.links["IHK"]
        data = edited_sheet(link)
        csrf_page = httpx.get(link, timeout=30).text
        own_postgres.pause()

        landing = httpx.get(link, timeout=30)
        assert landing.status_code == 503 and "Vorübergehend nicht möglich" in landing.text
        with httpx.Client(timeout=60) as http:
            response = http.post(f"{link}/hochladen", data={"csrf": csrf_of(csrf_page)},
                                 files={"datei": ("Abfrage.xlsx", data)})
        assert response.status_code == 503
        assert "es wurde nichts verbucht" in main_text(response.text)
        log = live.portal.log()
        assert "database or disk unavailable" in log and "OperationalError" in log and "Traceback" not in log
        # Without the database the link cannot be verified: nothing from it is stored (the institution
        # keeps its file and is asked to try again), so a stranger cannot fill the disk meanwhile.
        assert not (live.files_dir / "upload").exists()

        staff = run_fko("mail", "send", env=live.env)
        assert staff.exit_code == 3 and "Traceback" not in staff.stderr
        assert "Die Datenbank ist nicht erreichbar oder gesperrt" in staff.stderr

        own_postgres.resume()
        again = post_upload(link, data)
        assert "wurde angenommen" in main_text(again.text)
        assert [s.outcome for s in live.records()[0]] == ["accepted"]
        assert_consistent(live)
    finally:
        live.portal.stop()
