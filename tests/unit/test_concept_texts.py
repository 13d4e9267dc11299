"""The concept's texts: Markdown ↔ blocks (the model the Word file is written from and read into), the section
list, and what an edited file changes in the draft."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.concept_texts import (
    BREAK,
    Heading,
    ListItem,
    Paragraph,
    Span,
    Table,
    blocks_to_markdown,
    markdown_to_blocks,
    normal_blocks,
    normal_spans,
    plain_text,
)
from core.section_list import SectionListError, SectionSpec, order_sections, parse_section_list
from core.texts_import import ABSENT, CHANGED, EMPTY, NEW, NO_HEADING, UNCHANGED, plan_texts_import, split_sections

SPECS = [SectionSpec("Ausgangslage", "Wie ist die Lage?"), SectionSpec("Offene Bedarfe", "Was fehlt?")]


def test_markdown_to_blocks_reads_what_staff_write() -> None:
    blocks = markdown_to_blocks("Ein **fetter** und *kursiver* Satz mit [Link](https://example.org/x).\n\n"
                                "### Unterpunkt\n\n- eins\n- zwei\n  1. a\n  2. b\n\n| A | B |\n|---|---|\n| 1 | 2 |\n")
    assert blocks == (
        Paragraph((Span("Ein "), Span("fetter", bold=True), Span(" und "), Span("kursiver", italic=True),
                   Span(" Satz mit "), Span("Link", link="https://example.org/x"), Span(".")), ),
        Heading(2, (Span("Unterpunkt"),)),
        ListItem((Span("eins"),), ordered=False), ListItem((Span("zwei"),), ordered=False),
        ListItem((Span("a"),), ordered=True, depth=1), ListItem((Span("b"),), ordered=True, depth=1),
        Table((((Span("A"),), (Span("B"),)), ((Span("1"),), (Span("2"),)))),
    )


def test_blocks_to_markdown_writes_readable_markdown() -> None:
    blocks = (Paragraph((Span("Neu: "), Span("Pflege", bold=True), Span(" zuerst"))),
              ListItem((Span("Kleinbetriebe"),), ordered=False), ListItem((Span("Pendelnde"),), ordered=False),
              ListItem((Span("erheben"),), ordered=True), ListItem((Span("planen"),), ordered=True),
              Paragraph((Span("Mehr im "), Span("Report", link="https://example.org/r"), Span("."))))
    assert blocks_to_markdown(blocks) == ("Neu: **Pflege** zuerst\n\n- Kleinbetriebe\n- Pendelnde\n\n1. erheben\n"
                                          "2. planen\n\nMehr im [Report](https://example.org/r).\n")


@pytest.mark.parametrize("text", ["2026. war ein gutes Jahr", "- kein Punkt", "# keine Überschrift", "a *b* c",
                                  "[kein](Link)", "Pfad C:\\temp\\", "AT&amp;T", "<https://x.org>", "**(B)**text"])
def test_literal_text_stays_literal(text: str) -> None:
    """What a person typed in Word is never read as Markdown syntax."""
    blocks = (Paragraph((Span(text),)),)
    assert markdown_to_blocks(blocks_to_markdown(blocks)) == blocks


def test_bold_text_ending_in_punctuation_before_a_letter_stays_bold() -> None:
    """CommonMark would show ``**(fett)**danach`` with its asterisks: the bracket goes outside instead."""
    blocks = (Paragraph((Span("(fett)", bold=True), Span("danach"))),)
    assert markdown_to_blocks(blocks_to_markdown(blocks)) == (Paragraph((Span("(fett", bold=True),
                                                                         Span(")danach"))),)


def test_normal_spans_puts_spaces_outside_formatting() -> None:
    assert normal_spans([Span("a "), Span(" b ", bold=True), Span(" c", bold=True), Span(BREAK), Span(" d  ")]) == (
        Span("a "), Span("b c", bold=True), Span(BREAK), Span("d"))


words = st.text(alphabet=st.sampled_from("abcXYZäß 1.-*_[]()#|\\&<>!"), min_size=1, max_size=12)
spans = st.lists(st.builds(Span, words, st.booleans(), st.booleans(),
                           st.sampled_from([None, "https://example.org/a", "https://example.org/b?c=1&d=2"])),
                 min_size=1, max_size=6)


@given(st.lists(st.one_of(st.builds(Paragraph, spans.map(tuple)),
                          st.builds(ListItem, spans.map(tuple), st.booleans(), st.integers(0, 2))), max_size=5))
def test_markdown_round_trip_keeps_every_character_and_settles(blocks: list[Paragraph | ListItem]) -> None:
    """No typed character is lost or read as syntax, and a second round trip changes nothing (so an unedited
    file reads back as "unverändert")."""
    read_back = markdown_to_blocks(blocks_to_markdown(blocks))
    assert [plain_text(b.spans) for b in read_back] == [plain_text(b.spans) for b in normal_blocks(blocks)]
    assert [type(b) for b in read_back] == [type(b) for b in normal_blocks(blocks)]
    assert markdown_to_blocks(blocks_to_markdown(read_back)) == read_back


def test_section_list_is_parsed_and_orders_sections() -> None:
    specs = parse_section_list('[[section]]\nname = "B"\nhint = "h"\n[[section]]\nname = "A"\n')
    assert specs == [SectionSpec("B", "h"), SectionSpec("A", "")]
    assert list(order_sections({"X": "", "A": "a", "B": "b"}, specs)) == ["B", "A", "X"]


@pytest.mark.parametrize("text", ['[[section]]\nname = "A"\n[[section]]\nname = "a"\n', "[[section]]\nhint = 'x'\n",
                                  "name = 1\n", "[[section"])
def test_broken_section_list_is_a_configuration_error(text: str) -> None:
    with pytest.raises(SectionListError, match=r"sections\.toml"):
        parse_section_list(text)


def _file(*blocks: Heading | Paragraph) -> list[Heading | Paragraph]:
    return [Paragraph((Span("Titel vor der ersten Überschrift"),)), *blocks]


def test_split_sections_skips_text_before_the_first_heading_and_the_hint_line() -> None:
    sections = split_sections(_file(Heading(1, (Span("Ausgangslage"),)), Paragraph((Span("Hinweis: Wie ist die "
                                                                                         "Lage?"),)),
                                    Paragraph((Span("Text"),)), Heading(1, (Span(" Offene  Bedarfe "),))), SPECS)
    assert [(s.title, s.blocks) for s in sections] == [("Ausgangslage", (Paragraph((Span("Text"),)),)),
                                                       ("Offene Bedarfe", ())]


def test_plan_keeps_unchanged_markdown_as_written_and_reports_each_section() -> None:
    current = {"Ausgangslage": "Alter  Text\nmit Umbruch.\n", "Offene Bedarfe": "", "Eigenes": "bleibt"}
    sections = split_sections(_file(Heading(1, (Span("Ausgangslage"),)), Paragraph((Span("Alter Text mit Umbruch."),)),
                                    Heading(1, (Span("offene bedarfe"),))), SPECS)
    plan = plan_texts_import(sections, current=current, specs=SPECS, add_sections=False)
    assert plan.problems == []
    assert plan.sections == current
    assert plan.changes == [("Ausgangslage", UNCHANGED), ("Offene Bedarfe", EMPTY), ("Eigenes", ABSENT)]


def test_plan_refuses_unknown_headings_by_name_unless_added() -> None:
    sections = split_sections(_file(Heading(1, (Span("Ausgangslage"),)), Paragraph((Span("Neu"),)),
                                    Heading(1, (Span("Fördermittel"),)), Paragraph((Span("Geld"),))), SPECS)
    refused = plan_texts_import(sections, current={}, specs=SPECS, add_sections=False)
    assert refused.unknown == ["Fördermittel"] and "„Fördermittel“" in refused.problems[0].message
    added = plan_texts_import(sections, current={}, specs=SPECS, add_sections=True)
    assert added.sections == {"Ausgangslage": "Neu\n", "Fördermittel": "Geld\n"}
    assert added.changes == [("Ausgangslage", NEW), ("Fördermittel", NEW)]


def test_plan_without_heading_1_or_with_a_heading_twice_is_refused() -> None:
    none = plan_texts_import(split_sections(_file(), SPECS), current={}, specs=SPECS, add_sections=False)
    assert [p.message for p in none.problems] == [NO_HEADING] and "Überschrift 1" in NO_HEADING
    twice = split_sections(_file(Heading(1, (Span("Ausgangslage"),)), Heading(1, (Span("Ausgangslage"),))), SPECS)
    problems = plan_texts_import(twice, current={}, specs=SPECS, add_sections=False).problems
    assert "zweimal" in problems[0].message


def test_plan_marks_an_edited_section_changed() -> None:
    sections = split_sections(_file(Heading(1, (Span("Ausgangslage"),)), Paragraph((Span("Neu", bold=True),))), SPECS)
    plan = plan_texts_import(sections, current={"Ausgangslage": "Alt"}, specs=SPECS, add_sections=False)
    assert plan.sections["Ausgangslage"] == "**Neu**\n" and plan.changes[0] == ("Ausgangslage", CHANGED)
