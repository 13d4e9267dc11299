"""Which sections an edited Word file brings and what that changes in the draft: headings 1 → sections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from core.concept_texts import (
    Block,
    Heading,
    Paragraph,
    blocks_to_markdown,
    markdown_to_blocks,
    normal_blocks,
    plain_text,
)
from core.problem import Problem
from core.section_list import SectionSpec, order_sections
from core.text import fold, squash_spaces

HINT_PREFIX = "Hinweis: "  # the grey line under each heading in the exported file; never read back as text

NO_HEADING = ("Keine Überschrift 1 gefunden. Jeder Abschnitt beginnt mit seinem Namen als Überschrift in der "
              "Formatvorlage „Überschrift 1“ (wie in der exportierten Datei); Text vor der ersten Überschrift 1 wird "
              "nicht gelesen. Bitte die Datei mit `fko concept texts export` neu erzeugen oder die Überschriften "
              "wieder als „Überschrift 1“ formatieren.")

# What happened to a section, as staff read it.
CHANGED, UNCHANGED, NEW, EMPTIED, EMPTY, ABSENT = ("geändert", "unverändert", "neu", "geleert", "leer",
                                                   "nicht in der Datei, unverändert")


@dataclass(frozen=True)
class FileSection:
    title: str                   # as written under "Überschrift 1", spaces squashed
    number: int                  # the n-th Heading 1 of the file, for staff to find it
    blocks: tuple[Block, ...]    # in normal form, the hint line removed


@dataclass
class TextsPlan:
    sections: dict[str, str]                     # the draft's sections after the import
    changes: list[tuple[str, str]] = field(default_factory=list)   # (section, what happened)
    problems: list[Problem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)                # headings that name no section

    @property
    def changed(self) -> bool:
        return any(status not in (UNCHANGED, EMPTY, ABSENT) for _, status in self.changes)


def split_sections(blocks: Sequence[Block], specs: Sequence[SectionSpec]) -> list[FileSection]:
    """Every Heading 1 starts a section running to the next; what stands before the first is not read."""
    hints = {fold(spec.name): spec.hint for spec in specs if spec.hint}
    found: list[tuple[str, list[Block]]] = []
    for block in blocks:
        if isinstance(block, Heading) and block.level == 1:
            found.append((squash_spaces(plain_text(block.spans)), []))
        elif found:
            found[-1][1].append(block)
    sections = []
    for number, (title, body) in enumerate(found, start=1):
        normal = normal_blocks(body)
        hint = hints.get(fold(title))
        if hint and normal and isinstance(normal[0], Paragraph) \
                and fold(plain_text(normal[0].spans)) in (fold(hint), fold(HINT_PREFIX + hint)):
            normal = normal[1:]
        sections.append(FileSection(title, number, normal))
    return sections


def plan_texts_import(file_sections: Sequence[FileSection], *, current: dict[str, str],
                      specs: Sequence[SectionSpec], add_sections: bool) -> TextsPlan:
    """The draft's new sections: a section whose blocks equal the draft's keeps its Markdown as written; an
    unknown heading is a problem (or, with ``add_sections``, a new section); sections the file lacks stay."""
    known = {fold(name): name for name in [spec.name for spec in specs] + list(current)}
    names = ", ".join(f"„{name}“" for name in dict.fromkeys(known.values()))
    plan = TextsPlan(sections=dict(current))
    if not file_sections:
        plan.problems.append(Problem(None, None, NO_HEADING))
        return plan
    seen: dict[str, FileSection] = {}
    for section in file_sections:
        key = fold(section.title)
        if not key:
            plan.problems.append(Problem(None, None, f"Die {section.number}. Überschrift 1 ist leer. Bitte den "
                                                     "Namen des Abschnitts eintragen."))
        elif key in seen:
            plan.problems.append(Problem(None, section.title, f"Die Überschrift 1 „{section.title}“ steht zweimal in "
                                         f"der Datei (als {seen[key].number}. und {section.number}. Überschrift 1). "
                                         "Bitte die Texte unter einer Überschrift zusammenführen."))
        elif key not in known and not add_sections:
            plan.unknown.append(section.title)
            plan.problems.append(Problem(None, section.title, f"Die Überschrift 1 „{section.title}“ "
                                         f"({section.number}. Überschrift 1) ist kein Abschnitt des Konzepts. "
                                         f"Bekannt sind: {names}."))
        seen.setdefault(key, section)
    if plan.problems:
        return plan
    for key, section in seen.items():
        name = known.get(key, section.title)
        before = current.get(name)
        if before is not None and markdown_to_blocks(before) == section.blocks:
            plan.changes.append((name, EMPTY if not section.blocks else UNCHANGED))
            continue
        if before is None and not section.blocks:
            plan.changes.append((name, EMPTY))
            continue
        plan.sections[name] = blocks_to_markdown(section.blocks)
        plan.changes.append((name, NEW if before is None else EMPTIED if not section.blocks else CHANGED))
    plan.changes += [(name, ABSENT) for name in current if fold(name) not in seen]
    plan.sections = order_sections(plan.sections, list(specs))
    order = {name: n for n, name in enumerate(dict.fromkeys([spec.name for spec in specs] + list(plan.sections)))}
    plan.changes.sort(key=lambda change: order.get(change[0], len(order)))
    return plan
