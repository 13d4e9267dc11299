"""Hostile workbooks, made in memory from a sheet the project built."""

from __future__ import annotations

import io
import os
import zipfile

SHEET = "xl/worksheets/sheet1.xml"


def replace_member(data: bytes, name: str, content: bytes | None, extra: dict[str, bytes] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == name:
                if content is not None:
                    target.writestr(item.filename, content)
            else:
                target.writestr(item, source.read(item.filename))
        for extra_name, extra_content in (extra or {}).items():
            target.writestr(extra_name, extra_content)
    return buffer.getvalue()


def inject_rows(data: bytes, rows_xml: str) -> bytes:
    """Append raw ``<row>`` elements to the activity sheet's XML."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read(SHEET).decode()
    return replace_member(data, SHEET, xml.replace("</sheetData>", rows_xml + "</sheetData>").encode())


def cell_row(address: str, row: int, text: str) -> str:
    return f'<row r="{row}"><c r="{address}" t="inlineStr"><is><t>{text}</t></is></c></row>'


def zip_bomb(data: bytes, inflated_mb: int = 150) -> bytes:
    """A sheet member that inflates to ``inflated_mb`` MB of blanks from a few hundred KB."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read(SHEET).decode()
    head, tail = xml.split("</sheetData>")
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != SHEET:
                target.writestr(item, source.read(item.filename))
        with target.open(SHEET, "w", force_zip64=True) as member:
            member.write(head.encode())
            chunk = b" " * (1024 * 1024)
            for _ in range(inflated_mb):
                member.write(chunk)
            member.write(("</sheetData>" + tail).encode())
    return buffer.getvalue()


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    "<si><t>&lol9;</t></si></sst>"
)


def entity_bomb(data: bytes) -> bytes:
    """Entity expansion in the shared strings (and a sheet cell that uses them)."""
    with_shared = inject_rows(data, '<row r="60"><c r="B60" t="s"><v>0</v></c></row>')
    names = zipfile.ZipFile(io.BytesIO(with_shared)).namelist()
    if "xl/sharedStrings.xml" in names:
        return replace_member(with_shared, "xl/sharedStrings.xml", BILLION_LAUGHS.encode())
    return replace_member(with_shared, "xl/sharedStrings.xml", None, {"xl/sharedStrings.xml": BILLION_LAUGHS.encode()})


def with_macro(data: bytes) -> bytes:
    """An .xlsm: a VBA project part that would run on opening in Excel (we never run it)."""
    return replace_member(data, "xl/vbaProject.bin", None, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + os.urandom(512)})


def encrypted(data: bytes, password: str = "geheim") -> bytes:  # noqa: S107 (a test file's password)
    import msoffcrypto  # type: ignore[import-untyped]
    from msoffcrypto.format.ooxml import OOXMLFile  # type: ignore[import-untyped]

    del msoffcrypto
    source = OOXMLFile(io.BytesIO(data))
    out = io.BytesIO()
    source.encrypt(password, out)
    return out.getvalue()
