"""`fko backup` while the page takes 20 uploads at once, and `fko restore` into a fresh folder (SQLite) and into
PostgreSQL: every return, mail and version of the moment of the backup is there, and the links still work.
A damaged archive, one of a newer release and a target that is not empty are refused with a German reason."""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from storage.database import make_engine, session_scope
from storage.filestore import FileStore
from storage.models import ConceptVersion, EventLog, OutboundMessage, Request, Submission
from tests.support.factories import edit_sheet
from tests.support.german import english_words
from tests.support.portal import PortalProcess, csrf_of, links_from_mail, main_text
from tests.support.postgres import PostgresCluster
from tests.support.smtp import SmtpServer, free_port

BEFORE = ["IHK"]          # answered before the backup
UNTOUCHED = "VUV"         # never answers in the source: answers on the restored installations
UPLOADS_EACH = 3          # each of the 20 institutions uploads three versions in a row while the backup runs


def returns(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        count = connection.execute("SELECT count(*) FROM submission").fetchone()[0]
    connection.close()
    return int(count)


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FKO_")}
    env.update({"XDG_CONFIG_HOME": str(tmp / "config"), "XDG_DATA_HOME": str(tmp / "data"), "COLUMNS": "200",
                "FKO_ALLOW_LOCAL_LINKS": "true"})
    return env


def fko(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cli", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    if "--json" not in args:
        assert not english_words(done.stdout + done.stderr), done.stdout + done.stderr
    return done


def post_upload(link: str, data: bytes) -> str:
    with httpx.Client(timeout=120, follow_redirects=True) as http:
        csrf = csrf_of(http.get(link).text)
        return main_text(http.post(f"{link}/hochladen", data={"csrf": csrf},
                                   files={"datei": ("Abfrage.xlsx", data)}).text)


def changed_sheet(link: str, title: str) -> bytes:
    sheet = httpx.get(f"{link}/tabelle", timeout=60).content
    return edit_sheet(sheet, {"B9": title, "D9": "Duale Ausbildung stärken", "E9": "geplant"})


def moved(link: str, base_url: str) -> str:
    """The same personal link on the page of another installation (its path is what counts)."""
    return base_url + link[link.index("/r/"):]


@dataclass
class State:
    """What a user would check after a restore: returns, requests, mail, versions, and the stored files."""

    submissions: dict[int, tuple[int, str, str | None, str]]
    requests: dict[int, tuple[str, bool]]
    messages: dict[str, tuple[str, str | None]]
    versions: dict[str, tuple[str, int]]
    max_event: int

    @classmethod
    def read(cls, url: str) -> State:
        from storage.models import Activity

        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                activities = session.exec(select(Activity)).all()
                return cls(
                    submissions={s.id or 0: (s.request_id, s.outcome, s.raw_sha256, s.filename)
                                 for s in session.exec(select(Submission)).all()},
                    requests={r.id or 0: (r.state, r.answered_at is not None)
                              for r in session.exec(select(Request)).all()},
                    messages={m.idempotency_key: (m.state, m.body_sha256)
                              for m in session.exec(select(OutboundMessage)).all()},
                    versions={v.label: (v.status, sum(1 for a in activities if a.version_id == v.id))
                              for v in session.exec(select(ConceptVersion)).all()},
                    max_event=max((e.id or 0 for e in session.exec(select(EventLog)).all()), default=0))
        finally:
            engine.dispose()


@dataclass
class Scenario:
    tmp: Path
    env: dict[str, str]
    archive: Path
    links: dict[str, str]
    source: State
    answers: dict[str, str]   # institution → what its upload page said


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("backup")
    smtp = SmtpServer().start()
    port = free_port()
    env = {**base_env(tmp), "FKO_DATA_DIR": str(tmp / "var"), "FKO_BASE_URL": f"http://127.0.0.1:{port}",
           "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp.port)}
    for args in (["init", "--demo"], ["cycle", "open", "--year", "2026", "--deadline", "15.10.2099"]):
        done = fko(env, *args, cwd=tmp)
        assert done.returncode == 0, done.stderr
    links = links_from_mail(smtp.recorder.messages(), env["FKO_BASE_URL"])
    portal = PortalProcess(env, port, tmp / "portal.log").start()
    answers: dict[str, str] = {}
    try:
        sheets = {code: changed_sheet(link, f"Neu bei {code}") for code, link in links.items() if code != UNTOUCHED}
        for code in BEFORE:
            answers[code] = post_upload(links[code], sheets[code])
        assert fko(env, "mail", "send", cwd=tmp).returncode == 0
        during = [code for code in sheets if code not in BEFORE]
        assert len(during) == 20
        start = threading.Barrier(len(during) + 1)

        def upload(code: str) -> None:
            start.wait()
            for attempt in range(UPLOADS_EACH):  # each a new version of the sheet, replacing the one before
                answers[code] = post_upload(links[code], edit_sheet(sheets[code], {"C9": f"Fassung {attempt}"}))

        workers = [threading.Thread(target=upload, args=(code,)) for code in during]
        for worker in workers:
            worker.start()
        start.wait()
        # The backup starts once the page is busy with the batch, so its copy falls among the uploads.
        while returns(tmp / "var" / "fko.db") <= len(BEFORE):
            threading.Event().wait(0.05)
        backup = fko(env, "backup", "--out", str(tmp / "sicherung.tar.gz"), cwd=tmp)
        for worker in workers:
            worker.join(timeout=600)
        assert backup.returncode == 0, backup.stderr
        assert "Sicherung geschrieben" in backup.stdout
    finally:
        portal.stop()
        smtp.stop()
    yield Scenario(tmp, env, tmp / "sicherung.tar.gz", links, State.read(f"sqlite:///{tmp / 'var' / 'fko.db'}"),
                   answers)


def check_restored(scenario: Scenario, url: str, files: Path) -> State:
    """The restored installation holds the source at one moment: no return torn apart, each with its file and its
    receipt, every return from before the backup, mail states no later than the source's."""
    restored = State.read(url)
    source = scenario.source
    assert all("wurde angenommen" in text for text in scenario.answers.values()), scenario.answers
    # One moment: exactly the source's returns up to the newest one restored, and those from before the backup.
    newest = max(restored.submissions)
    assert restored.submissions == {i: s for i, s in source.submissions.items() if i <= newest}
    assert len(restored.submissions) >= len(BEFORE)
    store = FileStore(files)
    for request_id, outcome, sha, _name in restored.submissions.values():
        assert outcome == "accepted"
        assert sha is not None and store.get(sha, kind="upload")  # the raw file, its checksum verified
        assert restored.requests[request_id] == ("answered", True)
    answered = {r for r, _o, _s, _n in restored.submissions.values()}
    assert {r for r, (state, _) in restored.requests.items() if state == "answered"} == answered
    receipts = {key.rsplit(":", 1)[1] for key in restored.messages if ":receipt:" in key}
    assert receipts == {str(i) for i in restored.submissions}
    for key, (state, body) in restored.messages.items():
        assert key in source.messages
        assert state == source.messages[key][0] or state in ("pending", "sending")
        assert body is not None and store.get(body, kind="mail")
    assert {label: status for label, (status, _) in restored.versions.items()} == \
        {label: status for label, (status, _) in source.versions.items()}
    assert restored.versions["2025"] == source.versions["2025"] == ("published", 78)
    return restored


def check_links(scenario: Scenario, env: dict[str, str], restored: State, cwd: Path) -> None:
    """On the restored installation's page every link opens; who answered sees it; the untouched institution
    answers now and is recorded as a new return."""
    port = free_port()
    env = {k: v for k, v in env.items() if not k.startswith("FKO_SMTP_")} | {"FKO_BASE_URL": f"http://127.0.0.1:{port}"}
    portal = PortalProcess(env, port, cwd / f"portal-{port}.log").start()
    try:
        answered_codes = 0
        for code, link in scenario.links.items():
            page = httpx.get(moved(link, portal.url), timeout=60)
            assert page.status_code == 200, (code, page.status_code)
            if "eingegangen und wurde angenommen" in main_text(page.text):
                answered_codes += 1
        assert answered_codes == len({request for request, *_ in restored.submissions.values()})
        link = moved(scenario.links[UNTOUCHED], portal.url)
        assert "wurde angenommen" in post_upload(link, changed_sheet(link, "Nach der Wiederherstellung"))
    finally:
        portal.stop()


def test_backup_during_uploads_restores_into_a_fresh_folder(scenario: Scenario) -> None:
    target = scenario.tmp / "restored"
    env = {**scenario.env, "FKO_DATA_DIR": str(target)}
    done = fko(env, "restore", str(scenario.archive), "--yes", cwd=scenario.tmp)
    assert done.returncode == 0, done.stderr
    assert "Wiederhergestellt" in done.stdout
    assert (target / "secret.key").read_bytes() == (scenario.tmp / "var" / "secret.key").read_bytes()
    assert oct((target / "secret.key").stat().st_mode & 0o777) == "0o600"
    restored = check_restored(scenario, f"sqlite:///{target / 'fko.db'}", target / "files")
    check_links(scenario, env, restored, scenario.tmp)


@pytest.mark.postgres
def test_sqlite_backup_restores_into_postgresql(scenario: Scenario, postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.create_database()
    target = scenario.tmp / "restored-pg"
    env = {**scenario.env, "FKO_DATA_DIR": str(target), "FKO_DATABASE_URL": url}
    done = fko(env, "restore", str(scenario.archive), "--yes", cwd=scenario.tmp)
    assert done.returncode == 0, done.stderr
    restored = check_restored(scenario, url, target / "files")
    check_links(scenario, env, restored, scenario.tmp)  # new rows after the copied ones: the ids continue


# --- PostgreSQL as the source: pg_dump --------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_backup_restores_into_postgresql_and_sqlite(tmp_path: Path, postgres_cluster: PostgresCluster
                                                               ) -> None:
    url = postgres_cluster.create_database()
    env = {**base_env(tmp_path), "FKO_DATA_DIR": str(tmp_path / "var"), "FKO_DATABASE_URL": url}
    for args in (["init", "--demo"], ["cycle", "open", "--year", "2026", "--deadline", "15.10.2099", "--yes"],
                 ["sheet", "build", "--institution", "HWK", "--out", str(tmp_path / "hwk.xlsx")]):
        done = fko(env, *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    sheet = tmp_path / "hwk.xlsx"
    sheet.write_bytes(edit_sheet(sheet.read_bytes(), {"B9": "Neu", "D9": "Duale Ausbildung stärken",
                                                      "E9": "geplant"}))
    assert fko(env, "ingest", str(sheet), "--notify", cwd=tmp_path).returncode == 0
    assert fko(env, "mail", "send", cwd=tmp_path).returncode == 0
    done = fko(env, "backup", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (archive,) = tmp_path.glob("fko-sicherung-*.tar.gz")
    with tarfile.open(archive) as tar:
        assert "fko-sicherung/database.pgdump" in tar.getnames()
    source = State.read(url)
    assert len(source.submissions) == 1 and len(source.messages) > 1

    into_pg = postgres_cluster.create_database()
    env_pg = {**env, "FKO_DATA_DIR": str(tmp_path / "pg"), "FKO_DATABASE_URL": into_pg}
    done = fko(env_pg, "restore", str(archive), "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pg_restore" in done.stdout
    env_sqlite = {k: v for k, v in env.items() if k != "FKO_DATABASE_URL"} | {"FKO_DATA_DIR": str(tmp_path / "lite")}
    done = fko(env_sqlite, "restore", str(archive), "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for restored_url, files in ((into_pg, tmp_path / "pg" / "files"),
                                (f"sqlite:///{tmp_path / 'lite' / 'fko.db'}", tmp_path / "lite" / "files")):
        restored = State.read(restored_url)
        assert (restored.submissions, restored.requests, restored.messages, restored.versions) == (
            source.submissions, source.requests, source.messages, source.versions)
        store = FileStore(files)
        assert all(store.get(sha, kind="upload") for _r, _o, sha, _n in restored.submissions.values() if sha)
    # Both restored installations take the next return (ids go on after the restored rows).
    for restored_env in (env_pg, env_sqlite):
        sheet = tmp_path / "ihk.xlsx"
        assert fko(restored_env, "sheet", "build", "--institution", "IHK", "--out", str(sheet), "--force",
                   cwd=tmp_path).returncode == 0
        done = fko(restored_env, "ingest", str(sheet), cwd=tmp_path)
        assert done.returncode == 0, done.stderr


# --- refusals -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo region with one return taken in, backed up."""
    tmp = tmp_path_factory.mktemp("small")
    env = {**base_env(tmp), "FKO_DATA_DIR": str(tmp / "var")}
    for args in (["init", "--demo"], ["cycle", "open", "--year", "2026", "--deadline", "15.10.2099", "--yes"],
                 ["sheet", "build", "--institution", "HWK", "--out", str(tmp / "hwk.xlsx")]):
        assert fko(env, *args, cwd=tmp).returncode == 0
    assert fko(env, "ingest", str(tmp / "hwk.xlsx"), cwd=tmp).returncode == 0
    done = fko(env, "backup", "--out", str(tmp / "sicherung.tar.gz"), cwd=tmp)
    assert done.returncode == 0, done.stderr
    return tmp / "sicherung.tar.gz", env


def members(archive: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(archive) as tar:
        return [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def repack(entries: list[tuple[tarfile.TarInfo, bytes]], out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        for info, data in entries:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def restore_refused(archive: Path, env: dict[str, str], target: Path) -> str:
    """Restore into ``target``: refused with exit code 1 and one German reason, and nothing written there."""
    env = {**env, "FKO_DATA_DIR": str(target)}
    done = fko(env, "restore", str(archive), "--yes", cwd=target.parent)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists() or not any(target.iterdir())
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".fko-wiederherstellung-")]
    check = fko(env, "restore", str(archive), "--check", cwd=target.parent)
    assert check.returncode == 1
    return done.stderr


def test_restore_refuses_a_damaged_archive(small_archive: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    archive, env = small_archive
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "kaputt.tar.gz").write_bytes(bytes(data))
    assert "beschädigt" in restore_refused(tmp_path / "kaputt.tar.gz", env, tmp_path / "a")
    (tmp_path / "halb.tar.gz").write_bytes(archive.read_bytes()[: len(data) * 2 // 3])
    assert "beschädigt oder unvollständig" in restore_refused(tmp_path / "halb.tar.gz", env, tmp_path / "b")
    # A stored upload changed inside an otherwise well-formed archive: its checksum in the manifest tells.
    entries = members(archive)
    changed = [(info, data + b"x" if "/data/files/upload/" in info.name else data) for info, data in entries]
    assert changed != entries
    reason = restore_refused(repack(changed, tmp_path / "veraendert.tar.gz"), env, tmp_path / "c")
    assert "stimmt nicht mit seiner Prüfsumme überein" in reason
    not_ours = tmp_path / "fremd.tar.gz"
    not_ours.write_bytes(gzip.compress(b"hallo"))
    assert "Nichts wurde wiederhergestellt" in restore_refused(not_ours, env, tmp_path / "d")


def test_restore_refuses_a_backup_of_a_newer_release(small_archive: tuple[Path, dict[str, str]],
                                                    tmp_path: Path) -> None:
    archive, env = small_archive
    entries = []
    for info, data in members(archive):
        if info.name.endswith("/header.json"):
            header = json.loads(data) | {"schema_revision": "0099", "fko_cycle": "9.0.0"}
            data = json.dumps(header).encode()
        entries.append((info, data))
    reason = restore_refused(repack(entries, tmp_path / "neuer.tar.gz"), env, tmp_path / "ziel")
    assert "neueren Version von fko-cycle (9.0.0" in reason and "zuerst fko-cycle aktualisieren" in reason


def test_restore_refuses_a_target_that_is_not_empty(small_archive: tuple[Path, dict[str, str]],
                                                   tmp_path: Path) -> None:
    archive, env = small_archive
    target = tmp_path / "ziel"
    env = {**env, "FKO_DATA_DIR": str(target)}
    assert fko(env, "restore", str(archive), "--yes", cwd=tmp_path).returncode == 0
    before = sorted(p.name for p in target.iterdir())
    again = fko(env, "restore", str(archive), "--yes", cwd=tmp_path)
    assert again.returncode == 1
    assert "ist nicht leer" in again.stderr and "Nichts wurde geändert" in again.stderr
    assert sorted(p.name for p in target.iterdir()) == before
    # A database named elsewhere that holds data is refused too, even with an empty data folder.
    other = {**env, "FKO_DATA_DIR": str(tmp_path / "leer"), "FKO_DATABASE_URL": f"sqlite:///{target / 'fko.db'}"}
    again = fko(other, "restore", str(archive), "--yes", cwd=tmp_path)
    assert again.returncode == 1 and "gibt es schon" in again.stderr


def test_restore_brings_a_backup_of_an_older_release_up_to_date(small_archive: tuple[Path, dict[str, str]],
                                                                tmp_path: Path) -> None:
    from storage.dump import revision_of_file

    archive, env = small_archive
    entries = members(archive)
    work = tmp_path / "alt"
    work.mkdir()
    database = work / "database.sqlite"
    database.write_bytes(next(data for info, data in entries if info.name.endswith("/database.sqlite")))
    with sqlite3.connect(database) as connection:  # what the release with schema 0009 wrote
        connection.executescript("ALTER TABLE submission DROP COLUMN raw_removed_at; "
                                 "ALTER TABLE outbound_message DROP COLUMN body_removed_at; DROP TABLE erasure; "
                                 "ALTER TABLE region DROP COLUMN templates_dir; "
                                 "ALTER TABLE region DROP COLUMN base_url; ALTER TABLE staff_account DROP COLUMN role; "
                                 "UPDATE alembic_version SET version_num = '0009';")
    connection.close()
    assert revision_of_file(database) == "0009"
    old = database.read_bytes()
    rebuilt = []
    for info, data in entries:
        if info.name.endswith("/database.sqlite"):
            data = old
        elif info.name.endswith("/header.json"):
            data = json.dumps(json.loads(data) | {"schema_revision": "0009"}).encode()
        rebuilt.append((info, data))
    listed = {info.name.split("/", 1)[1]: {"sha256": sha256(data).hexdigest(), "size": len(data)}
              for info, data in rebuilt if not info.name.endswith("/manifest.json")}
    rebuilt = [(info, json.dumps(json.loads(data) | {"members": listed}).encode()
                if info.name.endswith("/manifest.json") else data) for info, data in rebuilt]
    target = tmp_path / "ziel"
    env = {**env, "FKO_DATA_DIR": str(target)}
    done = fko(env, "restore", str(repack(rebuilt, tmp_path / "alt.tar.gz")), "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Datenbankstand 0009" in done.stdout
    status = fko(env, "cycle", "status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr  # the restored database is on this release's schema


def test_backup_refuses_to_overwrite_and_names_a_missing_folder(small_archive: tuple[Path, dict[str, str]],
                                                                tmp_path: Path) -> None:
    archive, env = small_archive
    done = fko(env, "backup", "--out", str(archive), cwd=tmp_path)
    assert done.returncode == 2 and "gibt es schon" in done.stderr
    done = fko(env, "backup", "--out", str(tmp_path / "fehlt" / "x.tar.gz"), cwd=tmp_path)
    assert done.returncode == 2 and "gibt es nicht" in done.stderr
