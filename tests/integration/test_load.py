"""Load on one machine: 50 uploads at once while 640 newly imported institutions are invited, with
SQLite and with PostgreSQL. Real processes (`fko portal`, `fko cycle open`), the real SMTP server.
Zero errors, every return recorded once, every invitation and receipt delivered once."""

from __future__ import annotations

import collections
import concurrent.futures
import hashlib
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func
from sqlmodel import select

from storage.database import make_engine, session_scope
from storage.models import OutboundMessage, Submission
from tests.support.factories import edit_sheet, institutions_csv
from tests.support.portal import PortalProcess, csrf_of, links_from_mail, main_text
from tests.support.smtp import SmtpServer, free_port

NEW_INSTITUTIONS = 640
UPLOADS = 50


def fko(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cli", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def count(database_url: str, model, *where) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            return int(session.exec(select(func.count()).select_from(model).where(*where)).one())
    finally:
        engine.dispose()


def test_fifty_uploads_while_640_institutions_are_invited(database_url: str, fko_env: dict[str, str],
                                                            tmp_path: Path, smtp_server: SmtpServer) -> None:
    port = free_port()
    env = {**fko_env, "FKO_DATABASE_URL": database_url, "FKO_BASE_URL": f"http://127.0.0.1:{port}",
           "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port)}
    fko(env, tmp_path, "init", "--demo")
    fko(env, tmp_path, "cycle", "open", "--year", "2026", "--deadline", "15.10.2099")
    links = links_from_mail(smtp_server.recorder.messages(), env["FKO_BASE_URL"])
    rows = [[f"L{n:03d}", f"Kommune {n}", "Kommune", "", "ja", f"Person {n}", f"person{n}@kommune{n}.example.org",
             "Hauptansprechperson"] for n in range(1, NEW_INSTITUTIONS + 1)]
    (tmp_path / "neu.csv").write_bytes(institutions_csv(rows))
    fko(env, tmp_path, "institutions", "import", str(tmp_path / "neu.csv"))

    codes = sorted(links)
    portal = PortalProcess(env, port, tmp_path / "portal.log").start()
    try:
        sheets = {code: httpx.get(f"{links[code]}/tabelle", timeout=60).content for code in codes}
        uploads = [(codes[i % len(codes)], edit_sheet(sheets[codes[i % len(codes)]], {
            "B40": f"Lastprobe {i}", "D40": "Duale Ausbildung stärken", "E40": "geplant"})) for i in range(UPLOADS)]

        inviting = subprocess.Popen([sys.executable, "-m", "cli", "cycle", "open", "--year", "2026"], env=env,
                                    cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Start the uploads once the invitation run is under way (it has queued its first invitations).
        deadline = time.monotonic() + 120
        while count(database_url, OutboundMessage, OutboundMessage.kind == "invitation") < len(codes) + 5:
            assert inviting.poll() is None and time.monotonic() < deadline, "the invitation run did not start"
            time.sleep(0.1)

        def upload(item: tuple[str, bytes]) -> tuple[int, str]:
            code, data = item
            with httpx.Client(timeout=300, follow_redirects=True) as http:
                csrf = csrf_of(http.get(links[code]).text)
                response = http.post(f"{links[code]}/hochladen", data={"csrf": csrf},
                                     files={"datei": (f"Abfrage-{code}.xlsx", data)})
            return response.status_code, main_text(response.text)

        with concurrent.futures.ThreadPoolExecutor(UPLOADS) as pool:
            answers = list(pool.map(upload, uploads))
        overlapped = inviting.poll() is None
        stdout, stderr = inviting.communicate(timeout=600)
    finally:
        portal.stop()

    assert inviting.returncode == 0, stderr
    assert f"{NEW_INSTITUTIONS} Einladungen vorbereitet" in stdout
    assert overlapped, "the invitation run finished before the uploads: no load was measured"
    assert [status for status, _ in answers] == [200] * UPLOADS
    assert all("wurde angenommen" in text for _, text in answers)
    assert "Traceback" not in portal.log() and " ERROR " not in portal.log()

    # Every return recorded once, with its own file.
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            submissions = list(session.exec(select(Submission)).all())
    finally:
        engine.dispose()
    assert len(submissions) == UPLOADS and {s.outcome for s in submissions} == {"accepted"}
    assert {s.raw_sha256 for s in submissions} == {hashlib.sha256(d).hexdigest() for _, d in uploads}

    # Anything the two senders left (a claim held while the other ran) goes out now; nothing twice.
    fko(env, tmp_path, "mail", "send")
    kinds = collections.Counter(str(m["Subject"]).split()[0] for m in smtp_server.recorder.messages())
    ids = collections.Counter(str(m["Message-ID"]) for m in smtp_server.recorder.messages())
    assert set(ids.values()) == {1}
    assert len(ids) == len(codes) + NEW_INSTITUTIONS + UPLOADS, kinds
    assert count(database_url, OutboundMessage, OutboundMessage.state != "sent") == 0
