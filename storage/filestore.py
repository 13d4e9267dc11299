"""Content-addressed file store for raw uploads and generated documents (sha256, atomic writes)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from storage.errors import StorageError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def fsync_dir(folder: Path) -> None:
    """A new or renamed file's name in ``folder`` on disk, not only the file's bytes."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStoreError(StorageError):
    """A file could not be stored or found (disk full, permissions, unknown hash)."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path  # absolute path of the stored copy
    size: int


class FileStore:
    """Files kept under ``root/<kind>/ab/cd/<sha256>``; the same bytes are stored once.

    A file appears under its final name only when it is completely written and flushed to disk,
    so a crash or a full disk never leaves a half-written file that looks valid.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, sha256: str) -> Path:
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", kind):
            raise ValueError(f"invalid file kind {kind!r}")
        if not _SHA256.match(sha256):
            raise FileStoreError(f"not a sha256 hash: {sha256!r}")
        return self.root / kind / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes, *, kind: str) -> StoredFile:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self._path(kind, sha256)
        if target.exists() and target.stat().st_size == len(data):
            return StoredFile(sha256, target, len(data))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp_name, target)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
            fsync_dir(target.parent)
        except OSError as exc:
            raise FileStoreError(f"Datei kann nicht unter {self.root} gespeichert werden: {exc.strerror}") from exc
        return StoredFile(sha256, target, len(data))

    def get(self, sha256: str, *, kind: str) -> bytes:
        path = self._path(kind, sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise FileStoreError(f"Gespeicherte Datei fehlt ({kind} {sha256}).") from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise FileStoreError(
                f"Gespeicherte Datei ist beschädigt ({kind} {sha256}): Inhalt passt nicht zur Prüfsumme.")
        return data

    def exists(self, sha256: str, *, kind: str) -> bool:
        return self._path(kind, sha256).is_file()

    def remove(self, sha256: str, *, kind: str) -> bool:
        """Delete a stored file (retention, erasure); False when it was not there. Callers make sure no row
        still needs it: the same bytes are stored once for every row that names them."""
        try:
            self._path(kind, sha256).unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise FileStoreError(f"Gespeicherte Datei kann nicht gelöscht werden ({kind} {sha256}): "
                                 f"{exc.strerror}") from exc
        return True

    def sweep_temporaries(self, *, older_than_seconds: float, now: float) -> int:
        """Remove the half-written temporaries of writers that died (``now``: Unix time); returns how many."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.glob("*/*/*/.tmp-*"):
            try:
                if now - path.stat().st_mtime > older_than_seconds:
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # gone meanwhile, or not ours to remove
        return removed
