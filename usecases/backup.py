"""Backup and restore of an installation: the database, the file store, the mail sink, documents and the key.

One archive (tar, gzip-compressed) holds, under ``fko-sicherung/``:
``header.json`` (first: format, program version, schema revision, database kind: read before anything else),
``database.sqlite`` (always; see storage.dump), ``database.pgdump`` (PostgreSQL), ``secret.key``,
``data/<folder>/…`` (the file store ``files/``, the mail sink ``mail/``, ``dokumente/``, the drop folder
``inbox/``) and ``manifest.json`` (last: sha256 and size of every other member, rows per table).

Consistent while the page and the flows run: the database is copied at one moment first, the files after it.
Files are written before the rows that name them and are never changed (content-addressed), so every file the
database copy names is in the archive; cleanup and erasure, which remove files, wait (usecases.maintenance).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.dates import BERLIN
from core.text import os_reason
from storage.database import session_scope
from storage.dump import (
    DumpError,
    dump_database,
    revision_of_file,
)
from storage.events import record_event
from storage.filestore import fsync_dir
from usecases.context import AppContext
from usecases.maintenance import maintenance_lock

ROOT = "fko-sicherung"
FORMAT = "fko-cycle-sicherung"
FORMAT_VERSION = 1
DATA_FOLDERS = ("files", "mail", "dokumente", "inbox")
HEADER, MANIFEST, SQLITE, PGDUMP, SECRET = "header.json", "manifest.json", "database.sqlite", "database.pgdump", \
    "secret.key"
CHUNK = 1 << 20

Progress = Callable[[int, int], None]


class BackupError(Exception):
    """The backup cannot be written (where to, the database tools); one German line, nothing left behind."""


@dataclass
class BackupResult:
    path: Path
    size: int
    database: str                       # sqlite | postgresql
    revision: str
    files: int
    counts: dict[str, int] = field(default_factory=dict)


def program_version() -> str:
    try:
        return importlib.metadata.version("fko-cycle")
    except importlib.metadata.PackageNotFoundError:
        return "unbekannt"


def default_name(now: dt.datetime) -> str:
    return f"fko-sicherung-{now.astimezone(BERLIN):%Y-%m-%d-%H%M%S}.tar.gz"


def output_path(out: Path, now: dt.datetime, *, force: bool = False) -> Path:
    """The archive's path: ``out`` itself, or a dated name inside ``out`` when it is a folder."""
    path = out / default_name(now) if out.is_dir() else out
    if path.exists() and not force:
        raise BackupError(f"{path} gibt es schon; nichts überschrieben (anderen Namen wählen, einen Ordner "
                          "angeben – dann entsteht ein Name mit Datum und Uhrzeit –, oder --force).")
    if not path.parent.is_dir():
        raise BackupError(f"Den Ordner {path.parent} gibt es nicht.")
    if not os.access(path.parent, os.W_OK):
        raise BackupError(f"In den Ordner {path.parent} darf nicht geschrieben werden (keine Schreibberechtigung).")
    return path


# --- writing ------------------------------------------------------------------------------------------


def _data_files(data_dir: Path) -> list[Path]:
    """The files of the data folders (relative to the data dir); half-written temporaries left out."""
    found: list[Path] = []
    for folder in DATA_FOLDERS:
        base = data_dir / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.is_symlink() and not path.name.startswith(".tmp-"):
                found.append(path.relative_to(data_dir))
    return found


class _Hashing(io.RawIOBase):
    """A file read by tarfile, hashed on the way."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.sha.update(data)
        return data


class _Writer:
    def __init__(self, tar: tarfile.TarFile, now: dt.datetime) -> None:
        self.tar, self.mtime = tar, now.timestamp()
        self.members: dict[str, dict[str, Any]] = {}

    def add_bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(f"{ROOT}/{name}")
        info.size, info.mtime, info.mode = len(data), self.mtime, 0o600
        self.tar.addfile(info, io.BytesIO(data))
        self.members[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def add_file(self, name: str, path: Path) -> None:
        """A large file (the database copy) streamed; it is ours and does not change meanwhile."""
        size = path.stat().st_size
        info = tarfile.TarInfo(f"{ROOT}/{name}")
        info.size, info.mtime, info.mode = size, self.mtime, 0o600
        with path.open("rb") as handle:
            hashing = _Hashing(handle)
            self.tar.addfile(info, hashing)  # type: ignore[arg-type]
        self.members[name] = {"sha256": hashing.sha.hexdigest(), "size": size}


def write_backup(ctx: AppContext, *, out: Path, now: dt.datetime, by: str, force: bool = False,
                 progress: Progress | None = None) -> BackupResult:
    """Write the archive (see the module) to ``out`` (a file, or a folder for a dated name); atomically: the
    archive appears under its name only when it is complete and on disk."""
    path = output_path(out, now, force=force)
    settings = ctx.settings
    secret = settings.secret()
    with maintenance_lock(settings.data_dir), tempfile.TemporaryDirectory(dir=path.parent,
                                                                          prefix=".fko-sicherung-") as work:
        try:
            dump = dump_database(ctx.engine, Path(work), pg_bin_dir=settings.pg_bin_dir)
        except DumpError as exc:
            raise BackupError(str(exc)) from exc
        revision = revision_of_file(dump.sqlite_copy) or ""
        files = _data_files(settings.data_dir)  # after the database copy: see the module docstring
        header = {"format": FORMAT, "format_version": FORMAT_VERSION, "created_at": now.isoformat(),
                  "fko_cycle": program_version(), "schema_revision": revision, "database": dump.kind,
                  "server_version": dump.server_version, "source_data_dir": str(settings.data_dir.resolve())}
        partial = Path(work) / "archive.tar.gz"
        try:
            with partial.open("wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                    writer = _Writer(tar, now)
                    writer.add_bytes(HEADER, json.dumps(header, indent=2).encode())
                    writer.add_file(SQLITE, dump.sqlite_copy)
                    if dump.pg_dump is not None:
                        writer.add_file(PGDUMP, dump.pg_dump)
                    writer.add_bytes(SECRET, secret + b"\n")
                    stored = 0
                    for number, relative in enumerate(files, start=1):
                        try:
                            data = (settings.data_dir / relative).read_bytes()
                        except FileNotFoundError:
                            continue  # removed meanwhile by hand (the lock keeps fko's own removals out)
                        writer.add_bytes(f"data/{relative.as_posix()}", data)
                        stored += 1
                        if progress:
                            progress(number, len(files))
                    manifest = {"members": writer.members, "counts": dump.counts}
                    writer.add_bytes(MANIFEST, json.dumps(manifest, indent=2).encode())
                raw.flush()
                os.fsync(raw.fileno())
            partial.chmod(0o600)  # personal data and the key: for the owner only
            os.replace(partial, path)
        except OSError as exc:
            raise BackupError(f"Die Sicherung kann nicht nach {path} geschrieben werden ({os_reason(exc)}); es "
                              "wurde keine Sicherung angelegt.") from exc
        fsync_dir(path.parent)
    with session_scope(ctx.engine) as session:
        record_event(session=session, region_id=None, actor=f"staff:{by}", action="backup.created",
                     subject=path.name[:200], details={"size": path.stat().st_size, "files": stored,
                                                       "database": dump.kind, "schema": revision})
    return BackupResult(path=path, size=path.stat().st_size, database=dump.kind, revision=revision, files=stored,
                        counts=dump.counts)


# --- reading and checking -----------------------------------------------------------------------------


