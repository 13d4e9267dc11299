"""Fuzzing the reader and the upload endpoint: whatever comes in, a German answer, never an exception.

hypothesis drives the same inputs as the atheris harness (fuzz/reader.py, `make fuzz`); the harness
itself is run here for a fixed number of inputs so that it cannot rot.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzzing import GOOD, check_file, check_mutated
from tests.support.portal import PortalServer, csrf_of, served_round
from tests.support.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_sheet_check_on_fuzzed_sheets_never_raises(data: bytes) -> None:
    check_mutated(data)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.binary(min_size=1, max_size=16)), min_size=1, max_size=8))
def test_reader_on_spliced_files_never_raises(splices: list[tuple[int, bytes]]) -> None:
    data = bytearray(GOOD)
    for position, chunk in splices:
        data[position:position + len(chunk)] = chunk
    check_file(bytes(data))


def test_the_atheris_harness_runs(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"  # libFuzzer adds what it finds to the first corpus folder
    corpus.mkdir()
    for seed in ("hostile/merged-id-cells.xlsx", "returned/lo_edited.ods"):
        (corpus / Path(seed).name).write_bytes(b"\0\0" + (ROOT / "tests" / "fixtures" / seed).read_bytes())
    done = subprocess.run([sys.executable, "fuzz/reader.py", "-runs=3000", "-seed=1", str(corpus)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 3000 runs" in done.stderr


# --- the upload endpoint --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PortalServer, str]]:
    smtp = SmtpServer().start()
    try:
        with served_round(tmp_path_factory.mktemp("fuzz") / "var", smtp.port, messages=smtp.recorder.messages,
                          send_mail=False) as opened:
            yield opened.server, opened.links["IHK"]
    finally:
        smtp.stop()


FIELD_NAMES = st.sampled_from(["csrf", "datei", "Datei", "", "csrf[]", "x" * 300])
TEXT = st.text(max_size=80)
# What HTTP can carry: printable ASCII, without the leading or trailing blanks a header value never keeps
# (httpx refuses to send " " at all, which is no test of the page).
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(str.strip)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(FIELD_NAMES, st.one_of(TEXT, st.binary(max_size=2000)),
                                st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT)), max_size=4),
       with_csrf=st.booleans(), content_type=st.one_of(st.none(), HEADER_TEXT,
                                                         st.just("multipart/form-data; boundary=x")))
def test_upload_endpoint_answers_every_form_in_german(page, parts, with_csrf: bool,  # type: ignore[no-untyped-def]
                                                       content_type: str | None) -> None:
    _server, link = page
    with httpx.Client(timeout=120) as http:
        data: dict[str, str] = {}
        if with_csrf:
            data["csrf"] = csrf_of(http.get(link).text)
        files = [(name, (filename, body if isinstance(body, bytes) else body.encode(), ctype))
                 for name, body, filename, ctype in parts if isinstance(body, bytes) or filename is not None]
        fields = {name: body for name, body, filename, _ in parts if isinstance(body, str) and filename is None}
        request = http.build_request("POST", f"{link}/hochladen", data={**fields, **data}, files=files or None)
        if content_type is not None and not files:
            request.headers["content-type"] = content_type
        response = http.send(request)
    assert response.status_code in (303, 400, 403, 413), response.text[:500]
    if response.status_code != 303:
        assert "<main" in response.text and "Traceback" not in response.text
