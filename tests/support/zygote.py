"""`fko` for the tests without paying its imports every time: each run is still a process of its own.

    python -m tests.support.zygote SOCKET     (started by tests/conftest.py, one per test worker)

The zygote imports the command line and what its commands import (the database layer, the sheets, the mail,
the documents) once, then waits on a Unix socket. For each run it forks a waiter, which forks the run: the run
gets the caller's arguments, environment, working folder and stdin/stdout/stderr (passed as file descriptors),
runs `python -m cli` as the console would, and exits with its exit code; the waiter reports that code.

What a run shares with the zygote is only modules already imported. Nothing that reads the environment at
import time is imported here: Prefect (settings at import), the page's logging set-up and everything under
``flows`` and ``portal`` are imported by the run itself, as in a fresh process. The tests that measure what
a command imports (test_cli_start) and those that kill or watch a process start `python -m cli` themselves.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import pkgutil
import runpy
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WARM = ("core", "storage", "mail", "usecases", "cli")
COLD = ("cli.portal_cmd", "cli.serve_cmd", "cli.demo_run", "usecases.site",  # the page or Prefect
        "usecases.office_uno", "usecases.grid_worker")  # scripts run in other interpreters


EXTRA = ("alembic.command", "alembic.config", "alembic.runtime.environment", "alembic.runtime.migration",
         "alembic.operations", "alembic.autogenerate", "psycopg", "sqlalchemy.dialects.postgresql.psycopg")


def _warm() -> None:
    for name in EXTRA:
        importlib.import_module(name)
    for package in WARM:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            name = info.name
            if ".migrations" in name or name.endswith("__main__") or name.startswith(COLD):
                continue
            source = Path(ROOT, *name.split(".")).with_suffix(".py")
            text = source.read_text(encoding="utf-8") if source.exists() else ""
            if "prefect" in text or "fastapi" in text or "uvicorn" in text:
                continue
            importlib.import_module(name)


def _recv(connection: socket.socket) -> tuple[dict[str, object], list[int]]:
    head, fds, _flags, _addr = socket.recv_fds(connection, 4, 3)
    (size,) = struct.unpack("!I", head)
    return json.loads(_exactly(connection, size)), list(fds)


def _run(request: dict[str, object], fds: list[int]) -> None:
    """In the run's process: become `python -m cli ARGS` in the caller's folder and environment."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
    time.tzset()
    sys.argv = [str(ROOT / "cli" / "__main__.py"), *[str(a) for a in list(request["args"])]]  # type: ignore[call-overload]
    code: int = 0
    try:
        runpy.run_module("cli", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            sys.stderr.write(f"{exc.code}\n")
    except BaseException:
        traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _wait(connection: socket.socket, request: dict[str, object], fds: list[int]) -> None:
    """In the waiter: fork the run, tell the caller its pid, then its exit code."""
    pid = os.fork()
    if pid == 0:
        try:
            connection.close()
            _run(request, fds)
        finally:
            os._exit(70)  # _run ends with os._exit; this only if setting the run up failed
    for fd in fds:
        os.close(fd)
    connection.sendall(struct.pack("!i", pid))
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(OSError):
        connection.sendall(struct.pack("!i", code))
    os._exit(0)


def serve(path: str) -> None:
    _warm()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the zygote never waits for its waiters
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        connection, _ = listener.accept()
        try:
            connection.settimeout(30)
            request, fds = _recv(connection)
            connection.settimeout(None)
        except Exception:  # a caller that went away or sent garbage: the zygote serves the next one
            connection.close()
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            waiter = os.fork()
        except OSError:
            connection.close()
            continue
        if waiter == 0:
            try:
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _wait(connection, request, fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        connection.close()


def run(path: str, args: list[str], *, env: dict[str, str], cwd: Path, stdin: int, stdout: int, stderr: int,
        timeout: float) -> int:
    """One `fko ARGS` through the zygote at ``path``: its exit code (negative: killed by that signal)."""
    body = json.dumps({"args": args, "env": env, "cwd": str(cwd)}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(path)
        socket.send_fds(connection, [struct.pack("!I", len(body))], [stdin, stdout, stderr])
        connection.sendall(body)
        connection.settimeout(timeout)
        (pid,) = struct.unpack("!i", _exactly(connection, 4))
        try:
            (code,) = struct.unpack("!i", _exactly(connection, 4))
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            raise
    return int(code)


def run_cli(zygote: str | None, args: Sequence[str], *, env: dict[str, str], cwd: Path,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m cli ARGS` with its output as text (as ``subprocess.run(..., text=True)`` gives it): forked
    from the zygote at ``zygote``, or started fresh when that is None."""
    if zygote is None:
        return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                              env=env, cwd=cwd, timeout=timeout)
    with open(os.devnull, "rb") as stdin, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        code = run(zygote, list(args), env=env, cwd=cwd, stdin=stdin.fileno(), stdout=out.fileno(),
                   stderr=err.fileno(), timeout=timeout)
        texts = []
        for stream in (out, err):
            stream.seek(0)
            texts.append(stream.read().decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n"))
    return subprocess.CompletedProcess([sys.executable, "-m", "cli", *args], code, texts[0], texts[1])


def _exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the other side went away")
        data += chunk
    return data


if __name__ == "__main__":
    serve(sys.argv[1])
