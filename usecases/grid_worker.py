"""Child processes that parse uploaded workbooks under memory, CPU and wall-time limits (see sandbox.py).

Two ways to run, one parse:
- ``python -m usecases.grid_worker PARAMS``: one file from stdin, one JSON answer on stdout, then exit
  (one fresh interpreter per file: what every upload paid before the pool, ~50 ms of start-up).
- ``python -m usecases.grid_worker --serve``: a pre-started reader (usecases.reader_pool). It imports the
  parser once and then, for each file, forks a child that sets the file's limits, parses and exits; so
  every file still gets a process of its own (a crash, a limit hit or anything left in memory dies with
  it), without paying the interpreter start. The reader itself never parses anything.

The reader's protocol (stdin/stdout, frames of an 8-byte big-endian length and the bytes): after start-up
it sends ``{"ready": pid}``; then per file it reads a JSON header (the parameters) and the file, and
answers with a JSON status (``{"exit": code}`` or ``{"timeout": true}``) and the child's answer.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any

FRAME_HEADER = 8
MAX_HEADER_BYTES = 1024 * 1024


def limit_resources(params: dict[str, Any]) -> None:
    memory = int(params["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(params["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def answer_for(params: dict[str, Any], data: bytes) -> dict[str, object]:
    """Parse ``data`` as ``params`` ask: the grid(s), or the German reason the file is refused."""
    from core.filetype import FileRefused, Limits
    from core.grid import GridError, grid_to_json, read_untrusted, read_untrusted_sheets

    limits = Limits(**params["limits"])
    try:
        if "all_sheets" in params:  # every visible sheet (an imported concept)
            grids = read_untrusted_sheets(data, max_rows=int(params["all_sheets"]["max_rows"]), limits=limits)
            return {"ok": True, "grids": [grid_to_json(g) for g in grids]}
        names = params["sheets"]
        grid = read_untrusted(data, sheet_name=names["sheet_name"], meta_sheet_name=names["meta_sheet_name"],
                              skip_sheets=tuple(names["skip_sheets"]), max_rows=int(names["max_rows"]),
                              limits=limits)
        return {"ok": True, "grid": grid_to_json(grid)}
    except (FileRefused, GridError) as exc:
        return {"ok": False, "message": str(exc)}
    except MemoryError:
        return {"ok": False, "memory": True}


def main() -> None:
    """One file, then exit."""
    params = json.loads(sys.argv[1])
    limit_resources(params)
    # Only what parsing needs: every import here is paid once per upload.
    data = sys.stdin.buffer.read()
    answer = answer_for(params, data)
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))


# --- the pre-started reader ------------------------------------------------------------------------------


def write_frame(fd: int, payload: bytes) -> None:
    view = memoryview(len(payload).to_bytes(FRAME_HEADER, "big") + payload)
    while view:
        view = view[os.write(fd, view):]


def read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``; None at end of file (the other side is gone)."""
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, limit: int | None = None) -> bytes | None:
    head = read_exactly(fd, FRAME_HEADER)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if limit is not None and size > limit:
        return None
    return read_exactly(fd, size)


def _die_with_reader(reader_pid: int) -> None:
    """Have the kernel kill this child when the reader goes (Linux; elsewhere the CPU limit ends it)."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, 9, 0, 0, 0)  # SIGKILL
    except (OSError, AttributeError):
        pass
    if os.getppid() != reader_pid:  # the reader went before the signal was set up
        os._exit(1)


def _parse_in_child(params: dict[str, Any], data: bytes, answer_fd: int) -> None:
    """In the forked child: limits, parse, answer, exit. Never returns."""
    code = 1
    try:
        limit_resources(params)
        payload = memoryview(json.dumps(answer_for(params, data), ensure_ascii=False).encode())
        while payload:
            payload = payload[os.write(answer_fd, payload):]
        code = 0
    finally:  # whatever happened (an exception here is a failed read): exit, run nothing of the reader's
        os._exit(code)


def _collect(pid: int, answer_fd: int, control_fd: int, wall_seconds: float) -> tuple[dict[str, object], bytes]:
    """Wait for the child's answer within the wall time; kill it when the time is up or the caller is gone."""
    import selectors
    import signal
    import time

    deadline = time.monotonic() + wall_seconds
    chunks: list[bytes] = []
    status: dict[str, object] = {}
    with selectors.DefaultSelector() as selector:
        selector.register(answer_fd, selectors.EVENT_READ)
        selector.register(control_fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            events = selector.select(remaining) if remaining > 0 else []
            if not events:
                status = {"timeout": True}
                break
            if any(key.fd == control_fd for key, _ in events):
                # The caller never writes during a parse: readable means it has gone (end of file).
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise SystemExit(0)
            chunk = os.read(answer_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    if status.get("timeout"):
        os.kill(pid, signal.SIGKILL)
    _, wait_status = os.waitpid(pid, 0)
    if not status:
        status = {"exit": os.waitstatus_to_exitcode(wait_status)}
    return status, b"".join(chunks)


def serve() -> None:
    """The pre-started reader: one forked child per file, until the caller closes stdin."""
    # Everything parsing needs is imported here, once, before the children are forked from this process.
    import ctypes  # noqa: F401  (for the children's parent-death signal)

    import core.filetype
    import core.grid  # noqa: F401  (python-calamine and core.ods with it)

    control_fd, reply_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # a stray print or a parser's message can never corrupt the frames
    reader_pid = os.getpid()
    write_frame(reply_fd, json.dumps({"ready": reader_pid}).encode())
    while True:
        header = read_frame(control_fd, MAX_HEADER_BYTES)
        if header is None:
            return  # the caller closed the pipe or is gone
        data = read_frame(control_fd)
        if data is None:
            return
        params = json.loads(header)
        answer_read, answer_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: nothing of the reader's pipes stays open in it
            os.close(answer_read)
            os.close(control_fd)
            os.close(reply_fd)
            _die_with_reader(reader_pid)
            _parse_in_child(params, data, answer_write)
        os.close(answer_write)
        try:
            status, answer = _collect(pid, answer_read, control_fd, float(params["wall_seconds"]))
        finally:
            os.close(answer_read)
        write_frame(reply_fd, json.dumps(status).encode())
        write_frame(reply_fd, answer)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main()
