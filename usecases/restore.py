"""Checking and restoring a backup archive (usecases.backup writes them): into an empty data folder and database,
through a staging folder and one rename; a damaged, foreign or newer archive is refused before anything is
written."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.text import masked, os_reason
from storage.database import make_engine, migrate, schema_head, session_scope, sqlite_file
from storage.dump import (
    DumpError,
    bring_file_to_head,
    check_file,
    counts_of_file,
    counts_of_url,
    drop_everything,
    known_revision,
    load_into_postgres,
    target_contents,
    url_kind,
)
from storage.events import record_event
from usecases.backup import (
    CHUNK,
    DATA_FOLDERS,
    FORMAT,
    FORMAT_VERSION,
    HEADER,
    MANIFEST,
    PGDUMP,
    ROOT,
    SECRET,
    SQLITE,
    Progress,
    program_version,
)
from usecases.settings import SECRET_FILE, Settings


class RestoreRefused(Exception):
    """The archive or the target is not fit for a restore (damaged, newer, not empty); nothing was written."""


@dataclass
class ArchiveInfo:
    """What an archive holds, read and checked (``fko restore --check``, and before every restore)."""

    header: dict[str, Any]
    counts: dict[str, int]
    files: int
    size: int

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(str(self.header["created_at"]))

    @property
    def revision(self) -> str:
        return str(self.header["schema_revision"])

    @property
    def database(self) -> str:
        return str(self.header["database"])


@dataclass
class RestoreResult:
    info: ArchiveInfo
    data_dir: Path
    database: str                        # the target, password hidden
    via: str                             # "SQLite-Datei" | "pg_restore" | "Zeilen aus der SQLite-Kopie"
    upgraded: bool                       # the schema was brought to this release's


def _damaged(detail: str) -> RestoreRefused:
    return RestoreRefused(f"Die Sicherung ist beschädigt oder unvollständig ({detail}). Nichts wurde "
                          "wiederhergestellt; bitte eine andere Sicherung nehmen.")


def _member_name(member: tarfile.TarInfo) -> str:
    """The member's name below the archive root, or RestoreRefused for anything a backup never holds."""
    name = member.name
    if not name.startswith(f"{ROOT}/") or not member.isfile():
        raise _damaged(f"unerwarteter Eintrag {name!r}")
    relative = name[len(ROOT) + 1:]
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise _damaged(f"unerwarteter Eintrag {name!r}")
    if len(parts) == 1 and relative in (HEADER, MANIFEST, SQLITE, PGDUMP, SECRET):
        return relative
    if len(parts) >= 3 and parts[0] == "data" and parts[1] in DATA_FOLDERS:
        return relative
    raise _damaged(f"unerwarteter Eintrag {name!r}")


def _check_header(header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT:
        raise RestoreRefused("Diese Datei ist keine Sicherung von fko-cycle (`fko backup`). Nichts wurde "
                             "wiederhergestellt.")
    if int(header.get("format_version", 0)) > FORMAT_VERSION:
        raise RestoreRefused(f"Die Sicherung hat ein neueres Format (Version {header.get('format_version')}) als "
                             f"dieses Programm lesen kann (fko-cycle {program_version()}). Bitte zuerst fko-cycle "
                             "aktualisieren. Nichts wurde wiederhergestellt.")
    revision = str(header.get("schema_revision", ""))
    if not known_revision(revision):
        raise RestoreRefused(
            f"Die Sicherung stammt von einer neueren Version von fko-cycle ({header.get('fko_cycle', '?')}, "
            f"Datenbankstand {revision or '?'}); dieses Programm ({program_version()}) kennt diesen Stand nicht. "
            "Bitte zuerst fko-cycle aktualisieren, dann wiederherstellen. Nichts wurde wiederhergestellt.")


def unpack(archive: Path, into: Path, progress: Progress | None = None) -> ArchiveInfo:
    """Unpack ``archive`` into the folder ``into`` and check it whole: the header first (format, schema known to
    this program), every member against the manifest's sha256 and size, the database copy by SQLite itself.
    RestoreRefused names the first problem."""
    seen: dict[str, tuple[str, int]] = {}
    header: dict[str, Any] | None = None
    total = max(1, archive.stat().st_size)
    try:
        with archive.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
            for member in tar:
                name = _member_name(member)
                if header is None and name != HEADER:
                    raise RestoreRefused("Diese Datei ist keine Sicherung von fko-cycle (`fko backup`). Nichts "
                                         "wurde wiederhergestellt.")
                if name in seen:
                    raise _damaged(f"{name} kommt zweimal vor")
                source = tar.extractfile(member)
                if source is None:
                    raise _damaged(f"{name} ist leer")
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                sha, size = hashlib.sha256(), 0
                with target.open("wb") as handle:
                    while chunk := source.read(CHUNK):
                        sha.update(chunk)
                        size += len(chunk)
                        handle.write(chunk)
                seen[name] = (sha.hexdigest(), size)
                if name == HEADER:
                    header = _json_member(target, name)
                    _check_header(header)
                if progress:
                    progress(raw.tell(), total)
    except EOFError as exc:
        raise _damaged("die Datei endet mitten im Inhalt: sie ist abgeschnitten") from exc
    except zlib.error as exc:
        raise _damaged("die komprimierten Daten sind verfälscht") from exc
    except tarfile.TarError as exc:
        raise _damaged("der Aufbau des Archivs ist verfälscht") from exc
    except gzip.BadGzipFile as exc:  # gzip's own check (CRC, length) failed: the file was changed
        raise _damaged("die Prüfsumme der Komprimierung stimmt nicht") from exc
    if header is None:
        raise RestoreRefused("Diese Datei ist keine Sicherung von fko-cycle (`fko backup`), oder sie ist leer. "
                             "Nichts wurde wiederhergestellt.")
    if MANIFEST not in seen:
        raise _damaged("das Inhaltsverzeichnis fehlt am Ende: die Datei ist abgeschnitten")
    manifest = _json_member(into / MANIFEST, MANIFEST)
    listed: dict[str, dict[str, Any]] = manifest.get("members", {})
    for name, entry in listed.items():
        if name not in seen:
            raise _damaged(f"{name} fehlt")
        if seen[name] != (entry.get("sha256"), entry.get("size")):
            raise _damaged(f"{name} stimmt nicht mit seiner Prüfsumme überein")
    extra = set(seen) - set(listed) - {MANIFEST}
    if extra:
        raise _damaged(f"{sorted(extra)[0]} steht nicht im Inhaltsverzeichnis")
    for required in (SQLITE, SECRET):
        if required not in seen:
            raise _damaged(f"{required} fehlt")
    problem = check_file(into / SQLITE)
    if problem is not None:
        raise _damaged(f"die Datenbank-Kopie ist nicht in Ordnung: {problem}")
    files = sum(1 for name in seen if name.startswith("data/"))
    return ArchiveInfo(header=header, counts=dict(manifest.get("counts", {})), files=files, size=archive.stat().st_size)


def _json_member(path: Path, name: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(f"{name} ist nicht lesbar") from exc
    if not isinstance(data, dict):
        raise _damaged(f"{name} ist nicht lesbar")
    return data


def check_backup(archive: Path, progress: Progress | None = None) -> ArchiveInfo:
    """Read and check an archive completely (into a temporary folder, removed afterwards); writes nothing else."""
    _readable(archive)
    with tempfile.TemporaryDirectory(prefix="fko-pruefung-") as work:
        return unpack(archive, Path(work), progress)


def _readable(archive: Path) -> None:
    if not archive.is_file():
        raise RestoreRefused(f"Die Datei {archive} gibt es nicht." if not archive.exists()
                             else f"{archive} ist keine Datei.")
    try:
        with archive.open("rb"):
            pass
    except OSError as exc:
        raise RestoreRefused(f"Die Datei {archive} kann nicht gelesen werden ({os_reason(exc)}).") from exc


# --- restoring ----------------------------------------------------------------------------------------


def _require_empty_target(settings: Settings) -> None:
    data_dir = settings.data_dir
    if data_dir.exists():
        if not data_dir.is_dir():
            raise RestoreRefused(f"{data_dir} (FKO_DATA_DIR) ist eine Datei, kein Ordner.")
        present = sorted(entry.name for entry in data_dir.iterdir())
        if present:
            raise RestoreRefused(
                f"Der Datenordner {data_dir} ist nicht leer ({', '.join(present[:5])}"
                f"{' …' if len(present) > 5 else ''}). Wiederhergestellt wird nur in einen leeren Datenordner und "
                "eine leere Datenbank: bitte FKO_DATA_DIR auf einen neuen Ordner setzen oder den vorhandenen "
                "beiseitelegen. Nichts wurde geändert.")
    present = target_contents(settings.effective_database_url)
    if present:
        where = "Die Datenbankdatei " + present[0] + " gibt es schon" \
            if url_kind(settings.effective_database_url) == "sqlite" \
            else f"Die Datenbank enthält schon Tabellen ({', '.join(present[:5])})"
        raise RestoreRefused(f"{where}. Wiederhergestellt wird nur in eine leere Datenbank. Nichts wurde geändert.")


def restore_backup(settings: Settings, *, archive: Path, now: dt.datetime, by: str,
                   progress: Progress | None = None) -> RestoreResult:
    """Restore ``archive`` into the data folder and database the settings name, both of which must be empty.
    All or nothing: the archive is unpacked and checked beside the data folder first; the database is filled in
    one transaction (or as a whole file); the data folder appears by one rename; a failure undoes the database."""
    _readable(archive)
    _require_empty_target(settings)
    data_dir = settings.data_dir.absolute()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    staging = Path(tempfile.mkdtemp(dir=data_dir.parent, prefix=".fko-wiederherstellung-"))
    try:
        info = unpack(archive, staging, progress)
        archived_secret = (staging / SECRET).read_bytes().strip()
        if settings.secret_key is not None and settings.secret_key.get_secret_value().encode() != archived_secret:
            raise RestoreRefused("FKO_SECRET_KEY ist gesetzt, aber ein anderer Schlüssel als der der Sicherung: "
                                 "mit ihm gälten die versandten Tabellen und Links nicht mehr. Bitte FKO_SECRET_KEY "
                                 "entfernen (der Schlüssel kommt aus der Sicherung) oder den alten Wert setzen. "
                                 "Nichts wurde wiederhergestellt.")
        tree = staging / "data"
        tree.mkdir(exist_ok=True)
        if settings.secret_key is None:
            key = tree / SECRET_FILE
            key.touch(mode=0o600)
            key.write_bytes(archived_secret + b"\n")
        upgraded = info.revision != schema_head()
        via, undo = _restore_database(settings, staging, tree, info, url)
        try:
            if data_dir.exists():
                data_dir.rmdir()  # empty (checked above): the unpacked tree takes its place in one rename
            os.replace(tree, data_dir)
        except OSError as exc:
            undo()
            raise RestoreRefused(f"Der Datenordner {data_dir} kann nicht angelegt werden ({os_reason(exc)}); die "
                                 "Datenbank wurde wieder geleert.") from exc
    except DumpError as exc:
        raise RestoreRefused(f"{exc} Nichts wurde wiederhergestellt.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            record_event(session=session, region_id=None, actor=f"staff:{by}", action="backup.restored",
                         subject=archive.name[:200], details={"created_at": info.header.get("created_at"),
                                                             "schema": info.revision, "via": via})
    finally:
        engine.dispose()
    return RestoreResult(info=info, data_dir=data_dir, database=masked(url), via=via, upgraded=upgraded)


def _restore_database(settings: Settings, staging: Path, tree: Path, info: ArchiveInfo,
                      url: str) -> tuple[str, Callable[[], None]]:
    """Fill the target database; returns how, and how to undo it should the rest fail."""
    copy = staging / SQLITE
    if url_kind(url) == "sqlite":
        bring_file_to_head(copy)
        engine = make_engine(url)
        target = sqlite_file(engine)
        engine.dispose()
        if target is None:
            raise RestoreRefused("FKO_DATABASE_URL nennt keine SQLite-Datei; so kann nicht wiederhergestellt werden.")
        target = target.absolute()
        _same_rows(counts_of_file(copy), info.counts)
        inside = _inside(target, settings.data_dir.absolute())
        if inside is not None:  # the usual place: it moves in with the data folder
            (tree / inside).parent.mkdir(parents=True, exist_ok=True)
            os.replace(copy, tree / inside)
            return "SQLite-Datei", lambda: None
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copy, target.with_name(target.name + ".wiederherstellung"))
        os.replace(target.with_name(target.name + ".wiederherstellung"), target)
        return "SQLite-Datei", lambda: target.unlink(missing_ok=True)
    dump = staging / PGDUMP if info.database == "postgresql" and (staging / PGDUMP).exists() else None
    if dump is None:
        bring_file_to_head(copy)
    load_into_postgres(url, sqlite_copy=copy, pg_dump=dump, pg_bin_dir=settings.pg_bin_dir)
    try:
        _same_rows(counts_of_url(url), info.counts)
        engine = make_engine(url)
        try:
            migrate(engine)  # a backup of an older release: its schema upgraded as `fko init` does
        finally:
            engine.dispose()
    except BaseException:
        drop_everything(url)
        raise
    return ("pg_restore" if dump is not None else "Zeilen aus der SQLite-Kopie"), lambda: drop_everything(url)


def _same_rows(found: dict[str, int], expected: dict[str, int]) -> None:
    for table, count in expected.items():
        if found.get(table) != count:
            raise _damaged(f"Tabelle {table}: {found.get(table)} statt {count} Zeilen")


def _inside(path: Path, folder: Path) -> Path | None:
    try:
        return path.relative_to(folder)
    except ValueError:
        return None
