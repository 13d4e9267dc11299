"""The pre-started readers that parse uploads (usecases.reader_pool): every file gets the answer a fresh
process gave it, a crash or a limit hit is still the German problem and the next file is read, readers
are recycled, and none outlives the page or a CLI command. Real processes throughout."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.filetype import FileRefused, Limits
from core.grid import Grid, GridError
from tests.support.factories import build_sheet_bytes, edit_sheet
from tests.support.portal import PortalProcess, csrf_of, links_from_mail, main_text
from tests.support.smtp import SmtpServer, free_port
from usecases.reader_pool import ReaderPool
from usecases.sandbox import CRASHED, TOO_BIG, SandboxLimits, read_grid_isolated
from usecases.settings import BUNDLED_TEMPLATES

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
SANDBOX = SandboxLimits(memory_bytes=768 * 1024 * 1024, cpu_seconds=20, wall_seconds=40)


def outcome(data: bytes, reader: object, sandbox: SandboxLimits = SANDBOX) -> Grid | str:
    """The grid, or the German sentence the institution reads."""
    try:
        return read_grid_isolated(data, templates_dir=BUNDLED_TEMPLATES, limits=Limits(), sandbox=sandbox,
                                  reader=reader)  # type: ignore[arg-type]
    except (FileRefused, GridError) as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture
def pool() -> Iterator[ReaderPool]:
    readers = ReaderPool(warm=1, most=2, files_per_reader=50)
    yield readers
    readers.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/environ").read_bytes() != b""  # a zombie has no environment left


def test_every_hostile_file_gets_the_answer_a_fresh_process_gives(pool: ReaderPool) -> None:
    files = sorted(p for p in HOSTILE.glob("*.*") if p.suffix not in (".py", ".toml"))
    assert len(files) > 40
    for path in files:
        data = path.read_bytes()
        assert outcome(data, pool) == outcome(data, "one_process_per_file"), path.name


def test_a_crash_is_the_german_problem_and_the_next_file_is_read(pool: ReaderPool) -> None:
    good = build_sheet_bytes()
    expected = outcome(good, pool)
    assert isinstance(expected, Grid)
    (crashed_reader,) = pool.pids()
    # A cell at the grid's far corner: python-calamine aborts its process on the memory limit.
    assert outcome((HOSTILE / "far-corner.xlsx").read_bytes(), pool) == f"GridError: {CRASHED}"
    assert not alive(crashed_reader)  # retired after the failure, with its child
    assert crashed_reader not in pool.pids() and pool.retired == 1
    assert outcome(good, pool) == expected


def test_a_file_over_the_wall_time_is_stopped_and_the_next_file_is_read(pool: ReaderPool) -> None:
    good = build_sheet_bytes()
    outcome(good, pool)
    (slow_reader,) = pool.pids()
    hurried = SandboxLimits(memory_bytes=SANDBOX.memory_bytes, cpu_seconds=20, wall_seconds=0.05)
    assert outcome((HOSTILE / "million-rows.xlsx").read_bytes(), pool, hurried) == f"GridError: {TOO_BIG}"
    assert not alive(slow_reader)
    assert isinstance(outcome(good, pool), Grid)


def test_readers_are_recycled_after_a_number_of_files() -> None:
    pool = ReaderPool(warm=1, most=1, files_per_reader=3)
    try:
        good = build_sheet_bytes()
        seen: list[int] = []
        for _ in range(7):
            assert isinstance(outcome(good, pool), Grid)
            seen.extend(p for p in pool.pids() if p not in seen)
        assert len(seen) == 3  # files 1-3, 4-6, 7 (and a fresh one started to wait for the next)
        assert not any(alive(p) for p in seen[:2])
    finally:
        pool.close()
    assert not alive(seen[-1])


def test_uploads_at_once_share_the_readers(pool: ReaderPool) -> None:
    sheets = [build_sheet_bytes(code=code) for code in ("IHK", "HWK", "VUV", "DGB")] * 3
    expected = [outcome(s, "one_process_per_file") for s in sheets]
    with concurrent.futures.ThreadPoolExecutor(len(sheets)) as threads:
        got = list(threads.map(lambda s: outcome(s, pool), sheets))
    assert got == expected
    assert pool.started <= 2  # never more than ``most``, however many files came at once


def test_a_forked_child_reads_with_readers_of_its_own() -> None:
    good = build_sheet_bytes()
    assert isinstance(outcome(good, "pool"), Grid)  # this process's shared readers are running
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: reads a file, then leaves without stopping anything of the parent's
        ok = isinstance(outcome(good, "pool"), Grid)
        os.write(answer_write, b"ok" if ok else b"failed")
        os._exit(0)
    os.close(answer_write)
    os.waitpid(pid, 0)
    assert os.read(answer_read, 10) == b"ok"
    os.close(answer_read)
    assert isinstance(outcome(good, "pool"), Grid)  # the parent's readers were not touched


# --- no reader left behind ------------------------------------------------------------------------------


def marked_readers(mark: str) -> list[int]:
    """Live reader processes (and their children) started under the environment mark ``mark``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"FKO_TEST_MARK={mark}".encode() in environ and b"usecases.grid_worker" in command:
            found.append(int(entry.name))
    return found


def gone_soon(mark: str, seconds: float = 15) -> list[int]:
    """Wait until no marked reader is left (each sees its stdin close); those still there after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := marked_readers(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_no_reader_outlives_a_cli_command(run_fko, fko_env: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mark = uuid.uuid4().hex
    env = {**fko_env, "FKO_TEST_MARK": mark}
    assert run_fko("init", "--demo", env=env).exit_code == 0
    sheet = tmp_path / "Abfrage.xlsx"
    assert run_fko("sheet", "build", "--institution", "IHK", "--out", str(sheet), env=env).exit_code == 0
    checked = run_fko("sheet", "check", str(sheet), "--json", env=env)
    assert checked.exit_code == 0, checked.stderr
    assert marked_readers(mark) == []  # the command stopped its readers before it ended


@pytest.fixture
def page(fko_env: dict[str, str], tmp_path: Path, smtp_server: SmtpServer) -> Iterator[tuple[PortalProcess, str, str]]:
    """`fko portal` as staff run it, its readers marked; the IHK's link."""
    import subprocess
    import sys

    mark = uuid.uuid4().hex
    port = free_port()
    env = {**fko_env, "FKO_TEST_MARK": mark, "FKO_BASE_URL": f"http://127.0.0.1:{port}",
           "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port)}
    for args in (["init", "--demo"], ["cycle", "open", "--year", "2026", "--deadline", "15.10.2099"]):
        done = subprocess.run([sys.executable, "-m", "cli", *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    link = links_from_mail(smtp_server.recorder.messages(), env["FKO_BASE_URL"])["IHK"]
    portal = PortalProcess(env, port, tmp_path / "portal.log").start()
    yield portal, link, mark
    portal.stop()


def upload(link: str, data: bytes, timeout: float = 60) -> str:
    with httpx.Client(timeout=timeout, follow_redirects=True) as http:
        csrf = csrf_of(http.get(link).text)
        response = http.post(f"{link}/hochladen", data={"csrf": csrf}, files={"datei": ("Abfrage.xlsx", data)})
    return main_text(response.text)


def test_the_page_keeps_serving_after_a_crash_and_stops_its_readers(page) -> None:  # type: ignore[no-untyped-def]
    portal, link, mark = page
    assert marked_readers(mark)  # started with the page, before the first upload
    crashed = upload(link, (HOSTILE / "far-corner.xlsx").read_bytes())
    assert "nicht angenommen werden" in crashed and "nicht sicher gelesen" in crashed
    sheet = httpx.get(f"{link}/tabelle", timeout=30).content
    edited = edit_sheet(sheet, {"B9": "Azubi-Speed-Dating", "D9": "Duale Ausbildung stärken", "E9": "geplant"})
    assert "wurde angenommen" in upload(link, edited)
    portal.stop()  # SIGTERM, as systemd stops the page
    assert gone_soon(mark) == []
    assert "Traceback" not in portal.log()


def test_no_reader_outlives_a_killed_page_even_mid_parse(page) -> None:  # type: ignore[no-untyped-def]
    portal, link, mark = page
    idle = set(marked_readers(mark))
    slow = (HOSTILE / "million-rows.xlsx").read_bytes()
    uploading = threading.Thread(target=lambda: _ignore_errors(link, slow), daemon=True)
    uploading.start()
    deadline = time.monotonic() + 30
    while not set(marked_readers(mark)) - idle and time.monotonic() < deadline:
        time.sleep(0.01)  # until a child is parsing the file
    portal.kill()  # SIGKILL: no shutdown, no atexit
    assert gone_soon(mark) == []
    uploading.join(timeout=60)


def _ignore_errors(link: str, data: bytes) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the page died under the request
        upload(link, data, timeout=30)
