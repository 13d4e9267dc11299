"""Messages the relay accepted while the database could not take it down: kept in a file until it can.

A sender that cannot commit "sent" (the database restarted, a network hiccup) writes the message's outcome
here, flushed to disk, and goes on. Every sender reads these files before it claims anything and commits what
they hold, so a message the relay accepted is never claimed and sent again. One file per sending process;
appending and taking a file over are serialised by a lock on the file, and a file is removed only after what
it holds is committed (so an appender never writes into a file that is being removed).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.filestore import fsync_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unrecorded:
    message_id: int
    accepted: list[str]
    refused: dict[str, str]
    at: str  # ISO time the relay accepted it (UTC)


def _locked_and_live(fd: int, path: Path) -> bool:
    """Wait for the lock on ``fd``; whether ``path`` still names that file (it was not taken over and removed
    while we waited)."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


class SentJournal:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, owner: str) -> Path:
        return self.root / f"unrecorded-{re.sub(r'[^A-Za-z0-9_.-]', '_', owner)}.jsonl"

    def append(self, owner: str, entry: Unrecorded) -> None:
        """Add one outcome to ``owner``'s file, on disk (and the file in its folder) before this returns."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = (json.dumps({"id": entry.message_id, "accepted": entry.accepted, "refused": entry.refused,
                            "at": entry.at}) + "\n").encode()
        path = self._path(owner)
        while True:
            created = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)  # read-write: NFS locks need it
            try:
                if _locked_and_live(fd, path):  # not taken over (and removed) while we waited for the lock
                    size = os.fstat(fd).st_size
                    try:
                        written = 0
                        while written < len(line):
                            written += os.write(fd, line[written:])
                        os.fsync(fd)
                    except OSError:
                        os.ftruncate(fd, size)  # no half line in front of the next one
                        raise
                    if created:
                        fsync_dir(self.root)
                    return
            finally:
                os.close(fd)

    def pending(self) -> bool:
        return self.root.is_dir() and any(self.root.glob("unrecorded-*.jsonl"))

    @contextlib.contextmanager
    def taken(self) -> Iterator[list[Unrecorded]]:
        """Every outcome waiting in any file; the files are removed when the block ends without an error (the
        caller commits inside it), and kept otherwise. Appenders wait meanwhile."""
        if not self.root.is_dir():
            yield []
            return
        held: list[tuple[Path, int]] = []
        entries: list[Unrecorded] = []
        try:
            for path in sorted(self.root.glob("unrecorded-*.jsonl")):
                try:  # read-write, and read through this one descriptor: on NFS a lock is the process's and
                    #   closing any descriptor of the file would drop it
                    fd = os.open(path, os.O_RDWR)
                except FileNotFoundError:
                    continue
                except PermissionError:  # left by a run under another user (sudo): theirs to commit
                    log.warning("%s kann nicht gelesen werden (Rechte); bitte als Eigentümer `fko mail send` "
                                "ausführen", path)
                    continue
                if not _locked_and_live(fd, path):  # another sender took this file over while we waited
                    os.close(fd)
                    continue
                held.append((path, fd))
                data = b""
                while chunk := os.read(fd, 1 << 16):
                    data += chunk
                for raw in data.splitlines():
                    try:
                        item = json.loads(raw)
                        entries.append(Unrecorded(int(item["id"]), list(item["accepted"]),
                                                  dict(item["refused"]), str(item["at"])))
                    except (ValueError, KeyError, TypeError):
                        continue  # a line cut off by a crash while it was written: that message was not
                        #           written down, as if the crash had come a moment earlier
            yield entries
            for path, _fd in held:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        finally:
            for _path, fd in held:
                os.close(fd)
