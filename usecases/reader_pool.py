"""Pre-started reader processes for uploaded workbooks, shared by everything in one process.

An upload used to start a fresh interpreter to parse it (~50 ms before the first byte was read). A
reader (``python -m usecases.grid_worker --serve``) has the parser imported already and forks a child
per file, so each file still runs alone under its own memory, CPU and wall-time limits, and a crash
or a limit hit ends only that child. Readers are started ahead of need, retired after
``files_per_reader`` files and after any failure (a crashed, killed or timed-out child, or trouble with
the reader itself), and replaced at once.

Processes: readers are started with ``subprocess`` (fork + exec: safe in the page's threaded process),
in a session of their own (killed as a group), with stderr discarded. They end when this process closes
the pool (the page's shutdown, ``atexit`` for a CLI command or a flow run) or, if it dies without that,
as soon as they see their stdin close; a child being parsed dies with its reader. A process forked from
this one (without exec) does not inherit the pool: it starts its own when it reads a file.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from usecases.grid_worker import FRAME_HEADER, write_frame

log = logging.getLogger("reader")

START_SECONDS = 60.0   # a reader's imports, on a machine busy with other work
GRACE_SECONDS = 10.0   # beyond the file's wall time, for the reader's own answer


class ReaderFailed(Exception):
    """The reader process itself failed (did not start, died, answered nonsense). ``before_file``: it
    failed before the file reached it, so the file had no part in it."""

    def __init__(self, message: str, *, before_file: bool = False) -> None:
        super().__init__(message)
        self.before_file = before_file


@dataclass(frozen=True)
class ReadResult:
    """What became of one file: the child's exit code (negative: killed by that signal) and its answer,
    or ``timed_out`` when the reader killed it at the wall-time limit."""

    exit_code: int | None
    answer: bytes
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        return self.timed_out or self.exit_code != 0


class _Deadline(Exception):
    pass


class _Reader:
    """One reader process and its pipes; used by one thread at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "usecases.grid_worker", "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.pid = self.process.pid
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            raise OSError("reader started without pipes")
        self.stdin, self.stdout = stdin, stdout
        self.files = 0
        self.ready = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def read(self, header: bytes, data: bytes, wall_seconds: float) -> ReadResult:
        try:
            if not self.ready:
                self._frame(time.monotonic() + START_SECONDS)  # {"ready": pid}: its imports are done
                self.ready = True
            write_frame(self.stdin.fileno(), header)
            write_frame(self.stdin.fileno(), data)
        except ReaderFailed as exc:
            raise ReaderFailed(str(exc), before_file=True) from exc
        except OSError as exc:  # a broken pipe: the reader is gone
            raise ReaderFailed(f"reader {self.pid} took no file: {exc}", before_file=True) from exc
        deadline = time.monotonic() + wall_seconds + GRACE_SECONDS
        status = json.loads(self._frame(deadline))
        answer = self._frame(deadline)
        if status.get("timeout"):
            return ReadResult(None, b"", timed_out=True)
        return ReadResult(int(status["exit"]), answer)

    def _frame(self, deadline: float) -> bytes:
        try:
            size = int.from_bytes(self._exactly(FRAME_HEADER, deadline), "big")
            return self._exactly(size, deadline)
        except _Deadline as exc:
            raise ReaderFailed(f"reader {self.pid} did not answer in time") from exc

    def _exactly(self, size: int, deadline: float) -> bytes:
        fd = self.stdout.fileno()
        poller = select.poll()  # not select.select: the page's descriptors may number beyond 1024
        poller.register(fd, select.POLLIN)
        chunks: list[bytes] = []
        left = size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                raise _Deadline
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise ReaderFailed(f"reader {self.pid} ended (exit {self.process.poll()})")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def stop(self, *, kill: bool) -> None:
        """End the reader: gently (it exits when its stdin closes) or, after a failure, with its child."""
        if not kill:
            try:
                self.stdin.close()
                self.process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                kill = True
        if kill:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)  # the reader and a child it may be running
            self.process.wait()
        for pipe in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                pipe.close()


class ReaderPool:
    """Up to ``most`` readers at once (callers beyond that wait for one), ``warm`` kept started ahead."""

    def __init__(self, *, warm: int = 2, most: int = 4, files_per_reader: int = 100) -> None:
        if not 0 <= warm <= most or most < 1 or files_per_reader < 1:
            raise ValueError("need 0 <= warm <= most, most >= 1, files_per_reader >= 1")
        self.warm, self.most, self.files_per_reader = warm, most, files_per_reader
        self._changed = threading.Condition()
        self._idle: list[_Reader] = []
        self._busy: set[_Reader] = set()
        self._starting = 0
        self._closed = False
        self._owner = os.getpid()
        self.started = 0   # readers started so far (for staff's logs and the tests)
        self.retired = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def pids(self) -> list[int]:
        """The running readers' process ids."""
        with self._changed:
            return sorted(r.pid for r in (*self._idle, *self._busy))

    def prestart(self) -> None:
        """Start readers until ``warm`` are idle or busy (so the next files do not wait for a start)."""
        while True:
            with self._changed:
                if self._closed or len(self._idle) + len(self._busy) + self._starting >= self.warm:
                    return
                self._starting += 1
            reader = self._start()
            with self._changed:
                self._starting -= 1
                if self._closed:
                    reader.stop(kill=True)
                    return
                self._idle.append(reader)
                self._changed.notify()

    def read(self, header: bytes, data: bytes, wall_seconds: float) -> ReadResult:
        """Parse one file in a reader; raises ReaderFailed if no reader could take or answer it."""
        for attempt in (1, 2):
            reader = self._take()
            failed = True
            try:
                result = reader.read(header, data, wall_seconds)
                failed = result.failed
                return result
            except ReaderFailed as exc:
                # A reader that failed before the file reached it is no sign of the file: once more.
                if attempt == 2 or not exc.before_file:
                    raise
            finally:
                self._give_back(reader, failed=failed)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop every reader (those parsing a file too); a closed pool starts no more."""
        with self._changed:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
            self._changed.notify_all()
        for reader in idle:
            reader.stop(kill=False)
        for reader in busy:
            reader.stop(kill=True)

    def _start(self) -> _Reader:
        try:
            reader = _Reader()
        except OSError as exc:  # no process to be had (too many, no memory)
            raise ReaderFailed(f"no reader could be started: {exc}", before_file=True) from exc
        with self._changed:
            self.started += 1
        return reader

    def _take(self) -> _Reader:
        with self._changed:
            while True:
                if self._closed or os.getpid() != self._owner:
                    raise ReaderFailed("the reader pool is closed", before_file=True)
                while self._idle:
                    reader = self._idle.pop()
                    if reader.alive():
                        self._busy.add(reader)
                        return reader
                    self.retired += 1  # ended on its own while idle (killed from outside)
                    reader.stop(kill=True)
                if len(self._busy) + self._starting < self.most:
                    self._starting += 1
                    break
                self._changed.wait()
        try:
            reader = self._start()
        finally:
            with self._changed:
                self._starting -= 1
        with self._changed:
            self._busy.add(reader)
        return reader

    def _give_back(self, reader: _Reader, *, failed: bool) -> None:
        reader.files += 1
        with self._changed:
            self._busy.discard(reader)
            keep = not failed and not self._closed and reader.files < self.files_per_reader
            if keep:
                self._idle.append(reader)
            else:
                self.retired += 1
            self._changed.notify()
        if not keep:
            reader.stop(kill=failed)
            if failed:
                log.info("reader %d retired after a failed file; a fresh one takes its place", reader.pid)
            self.prestart()


_shared: ReaderPool | None = None
_shared_lock = threading.Lock()
_hooked = False


def shared_pool() -> ReaderPool:
    """This process's pool, started on first use; closed when the process exits."""
    global _shared, _hooked
    with _shared_lock:
        if not _hooked:
            atexit.register(close_shared_pool)
            os.register_at_fork(after_in_child=_forget_after_fork)
            _hooked = True
        if _shared is None or _shared.closed:
            _shared = ReaderPool()
        return _shared


def close_shared_pool() -> None:
    """Stop this process's readers now (the page's shutdown); a later read starts a new pool."""
    global _shared
    with _shared_lock:
        pool, _shared = _shared, None
    if pool is not None:
        pool.close()


def _forget_after_fork() -> None:
    """In a child forked from this process: the readers are the parent's; never use or stop them here."""
    global _shared, _shared_lock
    _shared, _shared_lock = None, threading.Lock()
