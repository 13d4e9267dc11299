"""Security review, one test per finding area: personal tokens, headers on every answer, escaping in
Word, secrets in what staff see. (CSRF and foreign forms: test_portal.py and the hostile corpus;
HTML and Excel escaping: tests/unit/test_documents.py and test_workbook_build.py.)"""

from __future__ import annotations

import dataclasses
import io
import re
import socket
import zipfile
from pathlib import Path

import httpx
import pytest
from docx import Document

from core.token import looks_like_token
from tests.support import demo
from tests.support.smtp import free_port
from usecases.settings import BUNDLED_TEMPLATES

EXPECTED_HEADERS = {
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def _declared_too_large(base: str, link: str) -> httpx.Response:
    """A POST announcing 50 MB: answered before the body is read (sent raw; httpx insists on sending it)."""
    url = httpx.URL(link)
    with socket.create_connection((url.host, url.port or 80), timeout=30) as sock:
        sock.sendall(f"POST {url.path}/hochladen HTTP/1.1\r\nHost: {url.netloc.decode()}\r\n"
                     f"Content-Length: {50 * 1024 * 1024}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    return httpx.Response(int(lines[0].split()[1]), headers=headers, content=body)


def test_security_headers_on_every_kind_of_answer(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    with httpx.Client(timeout=60) as http:
        answers = {
            "landing": http.get(link),
            "download": http.get(f"{link}/tabelle"),
            "stylesheet": http.get(f"{portal.url}/static/portal.css"),
            "unknown link": http.get(f"{portal.url}/r/{'A' * 32}"),
            "unknown page": http.get(f"{portal.url}/admin"),
            "wrong method": http.delete(link),
            "too large": _declared_too_large(portal.url, link),
        }
    for name, response in answers.items():
        for header, value in EXPECTED_HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], name
    personal = [answers[n] for n in ("landing", "download", "unknown link", "too large")]
    assert all(r.headers["cache-control"] == "no-store" for r in personal)  # never in a shared cache
    assert [answers[n].status_code for n in answers] == [200, 200, 200, 404, 404, 405, 413]


def test_links_are_unguessable_and_the_database_holds_none_of_them(portal) -> None:  # type: ignore[no-untyped-def]
    tokens = [link.rsplit("/", 1)[1] for link in portal.links.values()]
    assert len(set(tokens)) == len(tokens) == demo.INSTITUTIONS
    assert all(looks_like_token(t) for t in tokens)  # 32 URL-safe characters: 192 bits from HMAC-SHA256
    database = Path(portal.ctx.settings.effective_database_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))  # with the WAL
    assert len(raw) > 100_000
    assert not [t for t in tokens if t.encode() in raw]  # a stolen database copy opens no link
    with httpx.Client(timeout=60) as http:
        near = tokens[0][:-1] + ("A" if tokens[0][-1] != "A" else "B")
        assert http.get(f"{portal.url}/r/{near}").status_code == 404


def test_word_document_shows_institution_text_literally() -> None:
    from tests.unit.test_documents import view
    from usecases.rendering import render_docx

    hostile = ("<w:fldSimple w:instr=\"DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe\"/> {{ 7*7 }} "
               "{% if 1 %}x{% endif %} & \"Anführung\" ]]>")
    concept = view()
    first = concept.groups[0].institutions[0].activities[0]
    concept.groups[0].institutions[0].activities[0] = dataclasses.replace(first, title=hostile, description=hostile)
    data = render_docx(concept, BUNDLED_TEMPLATES)
    texts = [p.text for p in Document(io.BytesIO(data)).paragraphs] + [
        c.text for t in Document(io.BytesIO(data)).tables for r in t.rows for c in r.cells]
    assert any(hostile in text for text in texts)  # shown as typed: no field, no template code run
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "DDEAUTO" not in re.sub(r"<w:t[^>]*>[^<]*</w:t>", "", xml)  # only inside text runs
    assert "49" not in "".join(t for t in texts if "{{" in t)


@pytest.mark.parametrize("case", ["relay", "database", "bad-url"])
def test_secrets_never_reach_staff_output(case: str, fko_env: dict[str, str], run_fko) -> None:  # type: ignore[no-untyped-def]
    secret = "Sup3rGeheim-Passwort"  # noqa: S105 (the test looks for it in the output)
    env = {**fko_env, "FKO_SECRET_KEY": f"key-{secret}"}
    assert run_fko("init", "--demo", env=env).exit_code == 0
    if case == "relay":
        env |= {"FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(free_port()), "FKO_SMTP_USER": "fko",
                "FKO_SMTP_PASSWORD": secret}
        assert run_fko("cycle", "open", "--year", "2026", "--deadline", "15.10.2099", env=env).exit_code == 1
        result = run_fko("mail", "send", env=env)
        assert result.exit_code == 1 and "vorerst nicht versandt" in result.stderr
    elif case == "database":
        env["FKO_DATABASE_URL"] = f"postgresql://fko:{secret}@127.0.0.1:{free_port()}/fko"
        result = run_fko("institutions", "list", env=env)
        assert result.exit_code == 3 and "Die Datenbank ist nicht erreichbar" in result.stderr
    else:
        env["FKO_DATABASE_URL"] = f"fko:{secret}@127.0.0.1/fko"
        result = run_fko("institutions", "list", env=env)
        assert result.exit_code == 2 and "fko:***@127.0.0.1" in result.stderr
    assert secret not in result.stdout + result.stderr and "Traceback" not in result.stderr
    outbox = run_fko("mail", "outbox", "--json", env={**env, "FKO_DATABASE_URL": ""} if case != "relay" else env)
    assert secret not in outbox.stdout + outbox.stderr
