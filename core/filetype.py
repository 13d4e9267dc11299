"""Decide what a returned file is from its bytes, and refuse dangerous containers before parsing."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


@dataclass(frozen=True)
class Limits:
    """Caps that keep one upload from taking the machine: sizes in bytes."""

    max_file_bytes: int = 10 * 1024 * 1024
    max_inflated_bytes: int = 100 * 1024 * 1024
    max_member_ratio: int = 200  # genuine workbooks inflate ≤ ~10×, bombs hundreds of times
    max_members: int = 2000


class FileRefused(ValueError):
    """The file cannot or must not be read; ``str(exc)`` is a German sentence for the institution."""


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def detect_format(data: bytes) -> str:
    """``xlsx``, ``xlsm``, ``ods`` or ``xls`` for what can be read; raises FileRefused for anything else."""
    if not data:
        raise FileRefused("Die Datei ist leer (0 Byte). Bitte die ausgefüllte Excel-Datei hochladen.")
    if data.startswith(OLE2_MAGIC):
        if _utf16("EncryptedPackage") in data or _utf16("EncryptionInfo") in data:
            raise FileRefused(
                "Die Datei ist mit einem Passwort geschützt und kann nicht gelesen werden. Bitte den "
                "Passwortschutz entfernen (Datei › Informationen › Arbeitsmappe schützen) und erneut speichern."
            )
        if _utf16("Workbook") in data or _utf16("Book") in data:
            return "xls"
        raise FileRefused("Die Datei ist ein Office-Dokument, aber keine Tabelle (z. B. ein Word-Dokument).")
    if data.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
                    return "ods"
                if "xl/workbook.xml" in names:
                    return "xlsm" if "xl/vbaProject.bin" in names else "xlsx"
                if "word/document.xml" in names:
                    raise FileRefused("Die Datei ist ein Word-Dokument, keine Excel-Tabelle.")
        except zipfile.BadZipFile as exc:
            raise FileRefused(_DAMAGED) from exc
        except (OSError, EOFError, NotImplementedError) as exc:
            raise FileRefused(_DAMAGED) from exc
        raise FileRefused("Die Datei ist ein ZIP-Archiv, aber keine Excel- oder LibreOffice-Tabelle.")
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
        raise FileRefused("Die Datei ist eine Webseite (HTML/XML), keine echte Excel-Datei. Bitte in Excel "
                          "„Speichern unter“ › „Excel-Arbeitsmappe (.xlsx)“ wählen.")
    if _looks_like_text(data):
        raise FileRefused("Die Datei ist eine Textdatei (z. B. CSV). CSV-Dateien enthalten die Zuordnung zu "
                          "Ihrer Institution nicht; bitte die heruntergeladene Excel-Datei bearbeiten und "
                          "als .xlsx speichern.")
    raise FileRefused("Die Datei ist keine Excel- oder LibreOffice-Tabelle (.xlsx, .xlsm, .ods, .xls).")


_DAMAGED = ("Die Datei ist beschädigt oder unvollständig (z. B. abgebrochener Download oder Upload). "
            "Bitte die Datei erneut speichern und hochladen.")


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            return False
    return True


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f}".replace(".", ",").removesuffix(",0") + " MB"


def check_size(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_file_bytes:
        raise FileRefused(f"Die Datei ist mit {_mb(len(data))} zu groß; erlaubt sind höchstens "
                          f"{_mb(limits.max_file_bytes)}. Bitte Bilder und leere Blätter entfernen.")


def check_container(data: bytes, file_format: str, limits: Limits) -> None:
    """Refuse files that are too big, or zips that would inflate beyond the caps (zip bombs)."""
    check_size(data, limits)
    if file_format not in ("xlsx", "xlsm", "ods"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > limits.max_members:
                raise FileRefused(_TOO_COMPLEX)
            total = 0
            for member in members:
                total += member.file_size
                ratio = member.file_size / max(member.compress_size, 1)
                if member.file_size > 1_000_000 and ratio > limits.max_member_ratio:
                    raise FileRefused(_TOO_COMPLEX)
                if member.flag_bits & 0x1:
                    raise FileRefused("Die Datei ist verschlüsselt und kann nicht gelesen werden.")
            if total > limits.max_inflated_bytes:
                raise FileRefused(_TOO_COMPLEX)
    except zipfile.BadZipFile as exc:
        raise FileRefused(_DAMAGED) from exc


_TOO_COMPLEX = ("Die Datei ist entpackt ungewöhnlich groß und wird aus Sicherheitsgründen nicht gelesen. "
                "Bitte die heruntergeladene Vorlage verwenden und nur die Tabelle ausfüllen.")
