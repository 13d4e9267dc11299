"""The concept's texts as blocks (paragraphs, headings, list items, tables of formatted spans): Markdown ↔ blocks.

The Word file staff edit is read into and written from the same blocks, so "did this section change?" is a
comparison of blocks, not of Markdown spellings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from markdown_it import MarkdownIt
from markdown_it.token import Token

BREAK = "\n"  # a span with this text is a line break inside its paragraph


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False
    link: str | None = None


Inline = tuple[Span, ...]


@dataclass(frozen=True)
class Paragraph:
    spans: Inline


@dataclass(frozen=True)
class Heading:
    """``level`` as in Word: 1 starts a section (never inside one), 2 and deeper are headings in its text."""

    level: int
    spans: Inline


@dataclass(frozen=True)
class ListItem:
    spans: Inline
    ordered: bool
    depth: int = 0


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[Inline, ...], ...]  # the first row is the header


Block = Paragraph | Heading | ListItem | Table


def plain_text(spans: Iterable[Span]) -> str:
    return "".join(" " if s.text == BREAK else s.text for s in spans).strip()


# ---------------------------------------------------------------- normal form

def normal_spans(spans: Iterable[Span]) -> Inline:
    """One canonical spelling of formatted text: whitespace squashed; a space is bold, italic or linked only
    between two words that are; neighbours with the same formatting merged; no spaces around a line break."""
    pieces: list[Span] = []
    for span in spans:
        if span.text == BREAK:
            pieces.append(Span(BREAK))
            continue
        text = re.sub(r"\s+", " ", span.text.replace("\u00ad", ""))
        for part in re.split(r"( +)", text):
            if part and not (part.isspace() and pieces and pieces[-1].text == " "):
                pieces.append(Span(" " if part.isspace() else part, span.bold, span.italic, span.link))
    spaced: list[Span] = []
    for n, piece in enumerate(pieces):
        if piece.text == " ":
            after = pieces[n + 1] if n + 1 < len(pieces) else None  # never a space: split apart runs of them
            before = spaced[-1] if spaced else None
            if before is None or after is None or BREAK in (before.text, after.text) or before.text == " ":
                continue
            piece = Span(" ", before.bold and after.bold, before.italic and after.italic,
                         before.link if before.link == after.link else None)
        elif piece.text == BREAK:
            while spaced and spaced[-1].text == " ":
                spaced.pop()
            if not spaced or spaced[-1].text == BREAK:
                continue
        spaced.append(piece)
    while spaced and spaced[-1].text in (" ", BREAK):
        spaced.pop()
    merged: list[Span] = []
    for piece in spaced:
        last = merged[-1] if merged else None
        if (last is not None and BREAK not in (piece.text, last.text)
                and (last.bold, last.italic, last.link) == (piece.bold, piece.italic, piece.link)):
            merged[-1] = replace(last, text=last.text + piece.text)
        else:
            merged.append(piece)
    return tuple(merged)


def normal_blocks(blocks: Iterable[Block]) -> tuple[Block, ...]:
    """Blocks in normal form: empty paragraphs and items dropped, list depth at most one deeper than the item
    before."""
    result: list[Block] = []
    depth = -1
    for block in blocks:
        if isinstance(block, Table):
            rows = tuple(tuple(normal_spans(c) for c in row) for row in block.rows)
            rows = tuple(row for row in rows if any(row))
            if rows:
                width = max(len(row) for row in rows)
                result.append(Table(tuple(row + ((),) * (width - len(row)) for row in rows)))
            depth = -1
            continue
        spans = normal_spans(block.spans)
        if isinstance(block, ListItem):
            if not spans:  # an empty bullet (Enter pressed once too often) is no item
                continue
            depth = min(block.depth, depth + 1)
            result.append(ListItem(spans, block.ordered, max(depth, 0)))
            continue
        depth = -1
        if isinstance(block, Heading) and spans:
            result.append(Heading(min(max(block.level, 2), 5), spans))
        elif spans:
            result.append(replace(block, spans=spans))
    return tuple(result)


# ---------------------------------------------------------------- Markdown → blocks

def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _inline(token: Token) -> list[Span]:
    spans: list[Span] = []
    bold = italic = 0
    links: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind == "strong_open":
            bold += 1
        elif kind == "strong_close":
            bold -= 1
        elif kind == "em_open":
            italic += 1
        elif kind == "em_close":
            italic -= 1
        elif kind == "link_open":
            links.append(str(child.attrs.get("href", "")))
        elif kind == "link_close":
            links.pop()
        elif kind == "softbreak":
            spans.append(Span(" "))
        elif kind == "hardbreak":
            spans.append(Span(BREAK))
        elif kind == "image" or child.content:  # text, code_inline, html_inline (shown as text), image (its alt)
            spans.append(Span(child.content, bold > 0, italic > 0, links[-1] if links else None))
    return spans


def markdown_to_blocks(markdown: str) -> tuple[Block, ...]:
    """Staff Markdown as blocks; what Word cannot show (quotes, code) becomes plain paragraphs."""
    blocks: list[Block] = []
    lists: list[bool] = []           # ordered?, one per open list
    item_open = False                # the current list item has its first paragraph already
    heading = 0
    table: list[list[Inline]] | None = None
    for token in _parser().parse(markdown):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append(kind == "ordered_list_open")
            item_open = False
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            item_open = bool(lists)
        elif kind == "list_item_open":
            item_open = False
        elif kind == "heading_open":
            heading = max(2, int(token.tag[1]) - 1)
        elif kind == "table_open":
            table = []
        elif kind == "tr_open" and table is not None:
            table.append([])
        elif kind == "table_close" and table is not None:
            blocks.append(Table(tuple(tuple(row) for row in table)))
            table = None
        elif kind in ("code_block", "fence"):
            lines = token.content.rstrip("\n").split("\n")
            blocks.append(Paragraph(tuple(s for n, line in enumerate(lines)
                                          for s in ((Span(BREAK),) if n else ()) + (Span(line),))))
        elif kind == "inline":
            spans = _inline(token)
            if table is not None:
                table[-1].append(tuple(spans))
            elif heading:
                blocks.append(Heading(heading, tuple(spans)))
                heading = 0
            elif lists and item_open and isinstance(blocks[-1], ListItem):
                last = blocks[-1]
                blocks[-1] = replace(last, spans=(*last.spans, Span(BREAK), *spans))
            elif lists:
                blocks.append(ListItem(tuple(spans), lists[-1], len(lists) - 1))
                item_open = True
            else:
                blocks.append(Paragraph(tuple(spans)))
    return normal_blocks(blocks)


# ---------------------------------------------------------------- blocks → Markdown

_ESCAPE = re.compile(r"([\\`*_\[\]<])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^([#>+=~-]|\d{1,9}(?=[.)]))")


def _escape(text: str, *, line_start: bool, in_table: bool) -> str:
    text = _ENTITY.sub(r"\\&", _ESCAPE.sub(r"\\\1", text))
    if in_table:
        text = text.replace("|", r"\|")
    if line_start:
        found = _LINE_START.match(text)
        if found:
            end = found.end()
            text = text[:end] + "\\" + text[end:] if found[1][0].isdigit() else "\\" + text
    return text


def _is_punct(char: str) -> bool:
    return unicodedata.category(char).startswith("P") or unicodedata.category(char).startswith("S")


def _emphasis(text: str, marker: str, before: str, after: str, **escape: bool) -> str:
    """``text`` between markers; punctuation at an edge that touches a letter outside goes outside the markers
    (CommonMark would not see ``**(x)**y`` as bold)."""
    lead = trail = ""

    def word(char: str) -> bool:
        return bool(char) and not char.isspace() and not _is_punct(char)

    while text and (text[0].isspace() or (_is_punct(text[0]) and word(lead[-1:] or before))):
        lead, text = lead + text[0], text[1:]
    while text and (text[-1].isspace() or (_is_punct(text[-1]) and word(trail[:1] or after))):
        text, trail = text[:-1], text[-1] + trail
    line_start = escape.pop("line_start")
    inner = _escape(text, line_start=line_start and not lead, **escape)
    core = f"{marker}{inner}{marker}" if text else ""
    trail_starts = line_start and not lead and not text
    return _escape(lead, line_start=line_start, **escape) + core + _escape(trail, line_start=trail_starts, **escape)


def _link_target(url: str) -> str:
    if re.search(r"[\s()<>]", url):
        return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"
    return url


def inline_markdown(spans: Sequence[Span], *, indent: str = "", in_table: bool = False) -> str:
    """Formatted text as Markdown. Where CommonMark cannot say it (formatting that changes inside a word, such
    as ``**a*****b***``), the formatting of the word's first letters goes on to its end, or, failing that, the
    text goes without emphasis: never a character lost or shown as a stray asterisk."""
    text = ""
    for attempt in (spans, _formatting_per_word(spans), [Span(s.text, link=s.link) for s in spans]):
        text = _inline_markdown(attempt, indent=indent, in_table=in_table)
        if plain_text(normal_spans(_inline(_parser().parseInline(text)[0]))) == plain_text(normal_spans(attempt)):
            break
    return text


def _formatting_per_word(spans: Sequence[Span]) -> list[Span]:
    result: list[Span] = []
    for span in spans:
        last = result[-1] if result else None
        if (last is not None and BREAK not in (last.text, span.text) and last.text[-1:].strip()
                and span.text[:1].strip()):
            span = Span(span.text, last.bold, last.italic, span.link)
        result.append(span)
    return result


def _inline_markdown(spans: Sequence[Span], *, indent: str, in_table: bool) -> str:
    out: list[str] = []
    line_start = True
    n = 0
    while n < len(spans):
        span = spans[n]
        if span.text == BREAK:
            out.append(" " if in_table else "\\\n" + indent)
            line_start = not in_table
            n += 1
            continue
        group = [span]
        while n + len(group) < len(spans) and spans[n + len(group)].link == span.link \
                and spans[n + len(group)].text != BREAK:
            group.append(spans[n + len(group)])
        text_before = spans[n - 1].text[-1:] if n else ""
        following = spans[n + len(group)].text[:1] if n + len(group) < len(spans) else ""
        parts: list[str] = []
        for k, piece in enumerate(group):
            before = group[k - 1].text[-1:] if k else ("" if span.link else text_before)
            after = group[k + 1].text[:1] if k + 1 < len(group) else ("" if span.link else following)
            marker = "*" * (2 * piece.bold + piece.italic)
            parts.append(_emphasis(piece.text, marker, before, after,
                                   line_start=line_start and not span.link and k == 0, in_table=in_table))
        text = "".join(parts)
        if span.link and out and out[-1].endswith("!"):
            out[-1] = out[-1][:-1] + "\\!"  # "![…](…)" would be an image
        out.append(f"[{text}]({_link_target(span.link)})" if span.link else text)
        line_start = False
        n += len(group)
    return "".join(out)


def blocks_to_markdown(blocks: Iterable[Block]) -> str:
    """Markdown that reads back (``markdown_to_blocks``) as the same blocks in normal form."""
    chunks: list[str] = []
    indents: list[str] = []    # per open list depth: the indentation of its items' content
    counters: list[tuple[bool, int]] = []  # per open list depth: ordered?, items so far
    previous: Block | None = None
    for block in normal_blocks(blocks):
        if isinstance(block, ListItem):
            del indents[block.depth:], counters[block.depth + 1:]
            if len(counters) > block.depth and counters[block.depth][0] == block.ordered:
                counters[block.depth] = (block.ordered, counters[block.depth][1] + 1)
            else:  # a new list (CommonMark starts one where the marker kind changes)
                counters[block.depth:] = [(block.ordered, 1)]
            parent = indents[-1] if indents else ""
            marker = f"{counters[block.depth][1]}. " if block.ordered else "- "
            indents.append(parent + " " * len(marker))
            text = parent + marker + inline_markdown(block.spans, indent=indents[-1])
            joined = isinstance(previous, ListItem) and (block.depth > 0 or counters[0][1] > 1)
            chunks.append(("\n" if joined else "\n\n" if chunks else "") + text)
        else:
            indents, counters = [], []
            if isinstance(block, Heading):
                text = "#" * min(block.level + 1, 6) + " " + inline_markdown(block.spans).replace("\\\n", " ")
                text = text[:-1] + "\\#" if text.endswith("#") else text
            elif isinstance(block, Table):
                text = _table_markdown(block)
            else:
                text = inline_markdown(block.spans)
            chunks.append(("\n\n" if chunks else "") + text)
        previous = block
    return "".join(chunks) + ("\n" if chunks else "")


def _table_markdown(table: Table) -> str:
    rows = [[inline_markdown(cell, in_table=True) or " " for cell in row] for row in table.rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)
