"""The hostile-input corpus (tests/fixtures/hostile/cases.toml) against the real page over HTTP.

Every bad workbook is uploaded with a personal link and must produce its German problem on the page,
with the raw file kept; every bad request is sent byte for byte over a socket and must get its
German answer. Nothing may end in a 500 or a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import select

from storage.database import session_scope
from storage.models import Submission
from tests.support.factories import SHEET_SECRET
from tests.support.portal import PortalServer, csrf_of, main_text, served_round
from tests.support.smtp import SmtpServer
from usecases.context import AppContext

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
WORKBOOKS: list[dict[str, Any]] = CASES["workbook"]
REQUESTS: list[dict[str, Any]] = CASES["request"]


class CorpusPortal:
    def __init__(self, ctx: AppContext, server: PortalServer, link: str) -> None:
        self.ctx, self.server, self.link = ctx, server, link

    def latest_submission(self) -> Submission | None:
        with session_scope(self.ctx.engine) as session:
            return session.exec(select(Submission).order_by(Submission.id.desc())).first()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def corpus_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusPortal]:
    """The demo region with cycle 2026 open, the page signing sheets with the corpus's secret."""
    smtp = SmtpServer().start()
    try:
        with served_round(tmp_path_factory.mktemp("corpus") / "var", smtp.port, messages=smtp.recorder.messages,
                          send_mail=False, secret_key=SHEET_SECRET.decode()) as opened:
            yield CorpusPortal(opened.ctx, opened.server, opened.links["IHK"])
    finally:
        smtp.stop()


def test_the_corpus_is_complete() -> None:
    listed = {c["file"] for c in WORKBOOKS} | {c["file"] for c in REQUESTS}
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
               if p.is_file() and p.suffix not in (".py", ".toml") and "__pycache__" not in p.parts}
    assert on_disk == listed  # every file has its expected outcome, every case its file
    assert len(WORKBOOKS) + len(REQUESTS) >= 40


@pytest.mark.parametrize("case", WORKBOOKS, ids=[c["file"] for c in WORKBOOKS])
def test_hostile_workbook(corpus_portal: CorpusPortal, case: dict[str, Any]) -> None:
    data = (CORPUS / case["file"]).read_bytes()
    before = corpus_portal.latest_submission()
    with httpx.Client(timeout=120, follow_redirects=True) as http:
        csrf = csrf_of(http.get(corpus_portal.link).text)
        response = http.post(f"{corpus_portal.link}/hochladen", data={"csrf": csrf},
                             files={"datei": (case["file"], data, "application/octet-stream")})
    text = main_text(response.text)
    if case["outcome"] == "too_large":
        assert response.status_code == 413
        assert corpus_portal.latest_submission() == before  # refused while streaming: nothing stored
    else:
        assert response.status_code == 200, text
        # a wrong file "konnte nicht angenommen werden", a sheet with mistakes "konnte noch nicht …"
        verdict = "wurde angenommen" if case["outcome"] == "accepted" else "nicht angenommen werden"
        assert verdict in text
        submission = corpus_portal.latest_submission()
        assert submission is not None and submission.outcome == case["outcome"]
        assert corpus_portal.ctx.files.get(submission.raw_sha256 or "", kind="upload") == data  # kept as sent
    for expected in case["expect"]:
        assert expected in text
    for forbidden in case.get("absent", []):
        assert forbidden not in response.text


def _raw_request(template: str, values: dict[str, bytes]) -> bytes:
    head, _, body = template.replace("\r\n", "\n").replace("\n", "\r\n").partition("\r\n\r\n")
    body_bytes = body.encode()
    for name, value in values.items():
        body_bytes = body_bytes.replace(b"{{" + name.encode() + b"}}", value)
    head_bytes = head.encode()
    for name, value in {**values, "LENGTH": str(len(body_bytes)).encode()}.items():
        head_bytes = head_bytes.replace(b"{{" + name.encode() + b"}}", value)
    return head_bytes + b"\r\n\r\n" + body_bytes


def _send(port: int, raw: bytes) -> tuple[int, dict[str, str], str]:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)  # the server may answer (413) and close before the whole body is sent
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return status, headers, body.decode("utf-8", errors="replace")


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


@pytest.mark.parametrize("case", REQUESTS, ids=[c["file"] for c in REQUESTS])
def test_hostile_request(corpus_portal: CorpusPortal, case: dict[str, Any]) -> None:
    link = corpus_portal.link
    with httpx.Client(timeout=60) as http:
        csrf = csrf_of(http.get(link).text)
        sheet = http.get(f"{link}/tabelle").content
    url = urlsplit(link)
    values = {"PATH": url.path.encode(), "HOST": url.netloc.encode(), "CSRF": csrf.encode(),
              "NOW": str(int(time.time())).encode(), "SHEET": sheet}
    template = (CORPUS / case["file"]).read_text(encoding="utf-8")
    status, headers, body = _send(corpus_portal.server.port, _raw_request(template, values))
    assert status == case["status"], body[:2000]
    if status == 303:
        location = headers["location"]
        assert re.fullmatch(r"/r/[A-Za-z0-9_-]+/rueckmeldung/\d+", location)
        body = httpx.get(f"{corpus_portal.server.url}{location}", timeout=60).text
    assert "Traceback" not in body
    text = main_text(body)
    for expected in case["expect"]:
        assert expected in text
    for forbidden in case.get("absent", []):
        assert forbidden not in body
    if status == 303:  # the name shown and stored is the last path part only, never used as a path
        submission = corpus_portal.latest_submission()
        assert submission is not None and "/" not in submission.filename and "\\" not in submission.filename
        assert hashlib.sha256(sheet).hexdigest() == submission.raw_sha256
