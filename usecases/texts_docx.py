"""The concept's texts as a Word file: blocks written with python-docx, and read back from what Word or
LibreOffice Writer saved (headings by style or outline level, lists by their numbering definitions)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from core.concept_texts import BREAK, Block, Heading, Inline, ListItem, Paragraph, Span, Table, normal_spans

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
HINT_STYLE = "fko Hinweis"
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_INFLATED_BYTES = 200 * 1024 * 1024
_HEADING_NAME = re.compile(r"(?:heading|überschrift)\s*([1-9])", re.IGNORECASE)
_FIELD_URL = re.compile(r'HYPERLINK\s+"([^"]+)"')


class TextsFileRefused(ValueError):
    """The file is no readable Word document; ``str(exc)`` is a German sentence for staff."""


@dataclass(frozen=True)
class TextsSection:
    name: str
    hint: str
    blocks: tuple[Block, ...]


# ---------------------------------------------------------------- writing

def write_texts_docx(*, title: str, intro: Sequence[str], sections: Sequence[TextsSection], hint_prefix: str) -> bytes:
    """One "Überschrift 1" per section, its hint as a grey italic line in the style ``fko Hinweis``."""
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt, RGBColor

    document = Document()
    styles = document.styles
    _german(styles.element)
    hint = styles.add_style(HINT_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    hint.base_style = styles["Normal"]
    hint.font.italic, hint.font.color.rgb, hint.font.size = True, RGBColor(0x59, 0x59, 0x59), Pt(9)
    link = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
    link.font.color.rgb, link.font.underline = RGBColor(0x05, 0x63, 0xC1), True
    document.core_properties.title = title
    document.core_properties.language = "de-DE"
    document.add_paragraph(title, style="Title")
    for line in intro:
        document.add_paragraph(line)
    lists = _Lists(document)
    for section in sections:
        document.add_paragraph(section.name, style="Heading 1")
        if section.hint:
            document.add_paragraph(hint_prefix + section.hint, style=HINT_STYLE)
        previous: Block | None = None
        for block in section.blocks:
            if isinstance(block, Table):
                _write_table(document, block)
            elif isinstance(block, ListItem):
                if not isinstance(previous, ListItem):
                    lists.new_list()
                paragraph = document.add_paragraph(style="List Paragraph")
                lists.mark(paragraph._p, block)
                _write_spans(paragraph, block.spans)
            else:
                style = f"Heading {block.level}" if isinstance(block, Heading) else None
                _write_spans(document.add_paragraph(style=style), block.spans)
            previous = block
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _german(styles: Any) -> None:
    """Spelling in German for the whole document (Word checks in the language the text is marked with)."""
    from docx.oxml import OxmlElement

    defaults = styles.find(f"{W}docDefaults")
    properties = defaults.find(f"{W}rPrDefault/{W}rPr") if defaults is not None else None
    if properties is not None:
        language = properties.find(f"{W}lang")
        if language is None:
            language = OxmlElement("w:lang")
            properties.append(language)
        language.set(f"{W}val", "de-DE")


def _write_spans(paragraph: Any, spans: Inline) -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement

    for span in spans:
        run = OxmlElement("w:r")
        properties = OxmlElement("w:rPr")
        if span.link:
            style = OxmlElement("w:rStyle")
            style.set(f"{W}val", "Hyperlink")
            properties.append(style)
        for flag, tag in ((span.bold, "w:b"), (span.italic, "w:i")):
            if flag:
                properties.append(OxmlElement(tag))
        if len(properties):
            run.append(properties)
        if span.text == BREAK:
            run.append(OxmlElement("w:br"))
        else:
            text = OxmlElement("w:t")
            text.text = span.text
            text.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            run.append(text)
        if span.link:
            hyperlink = OxmlElement("w:hyperlink")
            hyperlink.set(R_ID, paragraph.part.relate_to(span.link, RELATIONSHIP_TYPE.HYPERLINK, is_external=True))
            hyperlink.append(run)
            paragraph._p.append(hyperlink)
        else:
            paragraph._p.append(run)


def _write_table(document: Any, table: Table) -> None:
    from docx.oxml import OxmlElement

    width = max(len(row) for row in table.rows)
    grid = document.add_table(rows=len(table.rows), cols=width)
    grid.style = document.styles["Table Grid"]
    header = grid.rows[0]._tr.get_or_add_trPr()
    header.append(OxmlElement("w:tblHeader"))  # repeated on every page
    for row, cells in zip(grid.rows, table.rows, strict=True):
        for cell, spans in zip(row.cells, cells, strict=False):
            _write_spans(cell.paragraphs[0], spans)
    document.add_paragraph()  # Word glues two tables in a row together; staff need a place to type after it


class _Lists:
    """Two multi-level list definitions (bullets, numbers); every list in the text gets its own instance, so a
    numbered list starts at 1 again."""

    BULLET, NUMBER = 9001, 9002

    def __init__(self, document: Any) -> None:
        from docx.oxml import parse_xml
        from docx.oxml.ns import nsdecls

        self.numbering = document.part.numbering_part.element
        for abstract_id, ordered in ((self.BULLET, False), (self.NUMBER, True)):
            levels = "".join(
                f'<w:lvl w:ilvl="{n}"><w:start w:val="1"/><w:numFmt w:val="{"decimal" if ordered else "bullet"}"/>'
                f'<w:lvlText w:val="{f"%{n + 1}." if ordered else "•◦▪"[n % 3]}"/><w:lvlJc w:val="left"/>'
                f'<w:pPr><w:ind w:left="{360 * (n + 1) + 360}" w:hanging="360"/></w:pPr></w:lvl>' for n in range(9))
            abstract = parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">'
                                 f'<w:multiLevelType w:val="multilevel"/>{levels}</w:abstractNum>')
            self.numbering.insert(0, abstract)  # abstract definitions come before the w:num elements
        self.current: dict[bool, int] = {}

    def new_list(self) -> None:
        self.current = {}

    def mark(self, p: Any, item: ListItem) -> None:
        from docx.oxml import parse_xml
        from docx.oxml.ns import nsdecls

        if item.ordered not in self.current:
            ids = [int(n.get(f"{W}numId")) for n in self.numbering.findall(f"{W}num")]
            num_id = max(ids, default=0) + 1
            restart = "".join(f'<w:lvlOverride w:ilvl="{n}"><w:startOverride w:val="1"/></w:lvlOverride>'
                              for n in range(9)) if item.ordered else ""
            self.numbering.append(parse_xml(
                f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId '
                f'w:val="{self.NUMBER if item.ordered else self.BULLET}"/>{restart}</w:num>'))
            self.current[item.ordered] = num_id
        properties = p.get_or_add_pPr()
        numbering = parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{min(item.depth, 8)}"/>'
                              f'<w:numId w:val="{self.current[item.ordered]}"/></w:numPr>')
        style = properties.find(f"{W}pStyle")
        if style is not None:
            style.addnext(numbering)
        else:
            properties.insert(0, numbering)


# ---------------------------------------------------------------- reading

def read_texts_docx(data: bytes) -> list[Block]:
    """The file's paragraphs and tables as blocks, in order; a Heading 1 is ``Heading(1, …)``; the hint lines
    (style ``fko Hinweis``) are left out. Raises TextsFileRefused for anything but a readable .docx."""
    _check_container(data)
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import LxmlError  # type: ignore[import-untyped]

    try:
        document = Document(io.BytesIO(data))
        reader = _Reader(document)
        return list(reader.blocks(document.element.body))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, LxmlError, EOFError, OSError) as exc:
        raise TextsFileRefused(_DAMAGED) from exc


_DAMAGED = ("Die Datei ist beschädigt oder kein vollständiges Word-Dokument. Bitte in Word oder LibreOffice öffnen "
            "und erneut als „Word-Dokument (.docx)“ speichern.")
_SAVE_AS = "Bitte „Speichern unter“ › „Word-Dokument (.docx)“ wählen (LibreOffice: „Word 2007–365 (.docx)“)."


def _check_container(data: bytes) -> None:
    if not data:
        raise TextsFileRefused("Die Datei ist leer (0 Byte).")
    if len(data) > MAX_FILE_BYTES:
        raise TextsFileRefused(f"Die Datei ist mit {len(data) // 1_048_576} MB zu groß für die Texte des Konzepts "
                               f"(höchstens {MAX_FILE_BYTES // 1_048_576} MB). Bitte Bilder entfernen.")
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise TextsFileRefused("Die Datei ist mit einem Passwort geschützt. Bitte ohne Passwort speichern.")
        raise TextsFileRefused(f"Die Datei ist im alten Word-Format (.doc). {_SAVE_AS}")
    if data.startswith(b"%PDF"):
        raise TextsFileRefused("Die Datei ist ein PDF. Eingelesen wird die bearbeitete Word-Datei (.docx).")
    if not data.startswith(b"PK\x03\x04"):
        raise TextsFileRefused(f"Die Datei ist keine Word-Datei (.docx). {_SAVE_AS}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if "mimetype" in names and b"opendocument.text" in archive.read("mimetype"):
                raise TextsFileRefused(f"Die Datei ist im LibreOffice-Format (.odt). {_SAVE_AS}")
            if "word/document.xml" not in names:
                kind = "eine Excel-Tabelle" if "xl/workbook.xml" in names else "ein ZIP-Archiv"
                raise TextsFileRefused(f"Die Datei ist {kind}, kein Word-Dokument. {_SAVE_AS}")
            if "word/vbaProject.bin" in names:
                raise TextsFileRefused(f"Die Datei enthält Makros (.docm) und wird nicht gelesen. {_SAVE_AS}")
            total = sum(member.file_size for member in members)
            if len(members) > 5000 or total > MAX_INFLATED_BYTES or any(
                    m.file_size > 1_000_000 and m.file_size > 200 * max(m.compress_size, 1) for m in members):
                raise TextsFileRefused("Die Datei ist entpackt ungewöhnlich groß und wird aus Sicherheitsgründen "
                                       "nicht gelesen.")
    except zipfile.BadZipFile as exc:
        raise TextsFileRefused(_DAMAGED) from exc


def _on(element: Any) -> bool:
    """A toggle property such as ``<w:b/>``: on unless its value says off."""
    return element.get(f"{W}val", "true").lower() not in ("0", "false", "off", "none")


class _Reader:
    def __init__(self, document: Any) -> None:
        self.styles = {s.get(f"{W}styleId"): s for s in document.styles.element.findall(f"{W}style")}
        self.default_paragraph = next((s for s in self.styles.values() if s.get(f"{W}type") == "paragraph"
                                       and _on_attr(s, "default")), None)
        self.rels = document.part.rels
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            numbering = None
        self.nums = {n.get(f"{W}numId"): n for n in numbering.findall(f"{W}num")} if numbering is not None else {}
        self.abstracts = ({a.get(f"{W}abstractNumId"): a for a in numbering.findall(f"{W}abstractNum")}
                          if numbering is not None else {})

    def chain(self, style_id: str | None) -> Iterator[Any]:
        """The style and the ones it is based on."""
        seen: set[str] = set()
        while style_id and style_id in self.styles and style_id not in seen and len(seen) < 20:
            seen.add(style_id)
            style = self.styles[style_id]
            yield style
            based = style.find(f"{W}basedOn")
            style_id = based.get(f"{W}val") if based is not None else None

    def paragraph_styles(self, p: Any) -> list[Any]:
        style = p.find(f"{W}pPr/{W}pStyle")
        if style is not None:
            return list(self.chain(style.get(f"{W}val")))
        return list(self.chain(self.default_paragraph.get(f"{W}styleId"))) if self.default_paragraph is not None \
            else []

    def blocks(self, container: Any) -> Iterator[Block]:
        for element in container:
            if element.tag == f"{W}p":
                block = self.paragraph(element)
                if block is not None:
                    yield block
            elif element.tag == f"{W}tbl":
                yield Table(tuple(self.row(tr) for tr in element.iter(f"{W}tr")
                                  if tr.getparent() is element or tr.getparent().tag != f"{W}tbl"))
            elif element.tag in (f"{W}sdt", f"{W}customXml", f"{W}sdtContent"):
                yield from self.blocks(element)

    def row(self, tr: Any) -> tuple[Inline, ...]:
        cells: list[Inline] = []
        for tc in tr.findall(f"{W}tc"):
            spans: list[Span] = []
            for p in tc.iter(f"{W}p"):
                spans += [Span(" "), *self.spans(p)]
            cells.append(normal_spans(spans))
            span = tc.find(f"{W}tcPr/{W}gridSpan")
            cells += [()] * (int(span.get(f"{W}val", "1")) - 1 if span is not None else 0)
        return tuple(cells)

    def paragraph(self, p: Any) -> Block | None:
        styles = self.paragraph_styles(p)
        names = [(s.find(f"{W}name").get(f"{W}val") if s.find(f"{W}name") is not None else "") for s in styles]
        if HINT_STYLE in names:
            return None
        spans = tuple(self.spans(p))
        level = self.heading_level(p, styles, names)
        if level:
            return Heading(level, spans)
        listed = self.list_kind(p, styles)
        if listed is not None:
            return ListItem(spans, ordered=listed[0], depth=listed[1])
        return Paragraph(spans)

    def heading_level(self, p: Any, styles: list[Any], names: list[str]) -> int:
        outline = p.find(f"{W}pPr/{W}outlineLvl")
        if outline is None:
            for name, style in zip(names, styles, strict=True):
                found = _HEADING_NAME.fullmatch(name.strip())
                if found:
                    return int(found[1])
                outline = style.find(f"{W}pPr/{W}outlineLvl")
                if outline is not None:
                    break
        level = int(outline.get(f"{W}val", "9")) + 1 if outline is not None else 0
        return level if 1 <= level <= 9 else 0

    def list_kind(self, p: Any, styles: list[Any]) -> tuple[bool, int] | None:
        """(numbered?, depth) from the numbering the paragraph or its style points at; None if it is no list."""
        num_id = ilvl = None
        for holder in [p, *styles]:
            numbering = holder.find(f"{W}pPr/{W}numPr")
            if numbering is None:
                continue
            if ilvl is None and numbering.find(f"{W}ilvl") is not None:
                ilvl = numbering.find(f"{W}ilvl").get(f"{W}val")
            if num_id is None and numbering.find(f"{W}numId") is not None:
                num_id = numbering.find(f"{W}numId").get(f"{W}val")
        if num_id is None or num_id == "0":
            return None
        level = int(ilvl or 0)
        fmt = self.number_format(num_id, str(level))
        if fmt is None or fmt == "none":
            return None
        return fmt != "bullet", level

    def number_format(self, num_id: str, ilvl: str, hops: int = 0) -> str | None:
        num = self.nums.get(num_id)
        if num is None or hops > 3:
            return None
        override = num.find(f"{W}lvlOverride[@{W}ilvl='{ilvl}']/{W}lvl/{W}numFmt")
        if override is not None:
            return str(override.get(f"{W}val"))
        abstract_id = num.find(f"{W}abstractNumId")
        abstract = self.abstracts.get(abstract_id.get(f"{W}val")) if abstract_id is not None else None
        if abstract is None:
            return None
        fmt = abstract.find(f"{W}lvl[@{W}ilvl='{ilvl}']/{W}numFmt")
        if fmt is not None:
            return str(fmt.get(f"{W}val", "decimal"))
        link = abstract.find(f"{W}numStyleLink")  # a list style: its numbering is defined in the style
        style = self.styles.get(link.get(f"{W}val")) if link is not None else None
        linked = style.find(f"{W}pPr/{W}numPr/{W}numId") if style is not None else None
        return self.number_format(linked.get(f"{W}val"), ilvl, hops + 1) if linked is not None else None

    def spans(self, p: Any) -> Iterator[Span]:
        yield from self._walk(p, None, [])

    def _walk(self, element: Any, link: str | None, fields: list[_Field]) -> Iterator[Span]:
        for child in element:
            tag = child.tag
            if tag == f"{W}r":
                yield from self._run(child, link or next((f.link for f in reversed(fields) if f.link), None), fields)
            elif tag == f"{W}hyperlink":
                rel = self.rels.get(child.get(R_ID)) if child.get(R_ID) else None
                target = rel.target_ref if rel is not None and rel.is_external else None
                yield from self._walk(child, target or link, fields)
            elif tag == f"{W}fldSimple":
                found = _FIELD_URL.search(child.get(f"{W}instr", ""))
                yield from self._walk(child, found[1] if found else link, fields)
            elif tag in (f"{W}ins", f"{W}smartTag", f"{W}sdt", f"{W}sdtContent", f"{W}customXml", f"{W}moveTo"):
                yield from self._walk(child, link, fields)
            # w:del and w:moveFrom (deleted with tracked changes), comments, bookmarks: not text

    def _run(self, run: Any, link: str | None, fields: list[_Field]) -> Iterator[Span]:
        """A run's text; inside a field (``{ HYPERLINK "…" }``) only its shown result counts."""
        bold, italic, hidden = self.run_format(run)
        for child in run:
            tag = child.tag
            if tag == f"{W}fldChar":
                kind = child.get(f"{W}fldCharType")
                if kind == "begin":
                    fields.append(_Field())
                elif kind == "separate" and fields:
                    fields[-1].separated = True
                    found = _FIELD_URL.search(fields[-1].instruction)
                    fields[-1].link = found[1] if found else None
                    link = link or fields[-1].link
                elif kind == "end" and fields:
                    fields.pop()
            elif tag == f"{W}instrText" and fields:
                fields[-1].instruction += child.text or ""
            elif hidden or (fields and not fields[-1].separated):
                continue
            elif tag == f"{W}t" and child.text:
                yield Span(child.text, bold, italic, link)
            elif tag in (f"{W}br", f"{W}cr") and child.get(f"{W}type") in (None, "textWrapping"):
                yield Span(BREAK)
            elif tag == f"{W}tab":
                yield Span(" ", bold, italic, link)
            elif tag == f"{W}noBreakHyphen":
                yield Span("-", bold, italic, link)

    def run_format(self, run: Any) -> tuple[bool, bool, bool]:
        properties = run.find(f"{W}rPr")
        holders = [properties] if properties is not None else []
        style = properties.find(f"{W}rStyle") if properties is not None else None
        if style is not None:
            holders += [s.find(f"{W}rPr") for s in self.chain(style.get(f"{W}val")) if s.find(f"{W}rPr") is not None]
        found = []
        for tag in ("b", "i", "vanish"):
            element = next((h.find(f"{W}{tag}") for h in holders if h.find(f"{W}{tag}") is not None), None)
            found.append(element is not None and _on(element))
        return found[0], found[1], found[2]


def _on_attr(element: Any, name: str) -> bool:
    return element.get(f"{W}{name}", "0") in ("1", "true", "on")


@dataclass
class _Field:
    instruction: str = ""
    separated: bool = False
    link: str | None = None
