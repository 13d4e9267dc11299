"""How mails greet contacts: by salutation and surname where the institutions file gives an Anrede, neutrally
by full name where it does not; and whom staff call for a phone task."""

from __future__ import annotations

import pytest

from core.institution import ContactRecord, call_list, greeting, greeting_line


@pytest.mark.parametrize(("salutation", "name", "expected"), [
    ("Frau Dr.", "Maria Müller", "Sehr geehrte Frau Dr. Müller"),
    ("Herr", "Jan Schmitz", "Sehr geehrter Herr Schmitz"),
    ("Frau", "Dr. Maria Müller", "Sehr geehrte Frau Dr. Müller"),           # the title from the name
    ("Frau Dr.", "Dr. Maria Müller", "Sehr geehrte Frau Dr. Müller"),       # not twice
    ("Herr Prof.", "Prof. Dr.-Ing. Karl Schmitz", "Sehr geehrter Herr Prof. Dr. Schmitz"),
    ("Herr", "Jan von der Heide", "Sehr geehrter Herr von der Heide"),      # particles belong to the surname
    ("Frau", "Müller-Lüdenscheidt, Anna", "Sehr geehrte Frau Müller-Lüdenscheidt"),  # surname first
    ("Sehr geehrte Frau Oberbürgermeisterin,", "Sibylle Keupen", "Sehr geehrte Frau Oberbürgermeisterin"),
    ("Prof. Dr.", "Max Müller", "Guten Tag Prof. Dr. Max Müller"),          # no Frau/Herr: nothing guessed
    ("", "Max Müller", "Guten Tag Max Müller"),
])
def test_greeting_by_salutation_and_surname_or_neutral(salutation: str, name: str, expected: str) -> None:
    assert greeting(salutation, name) == expected


def test_greeting_line_for_several_recipients() -> None:
    assert greeting_line([("", "Anna Schmitz"), ("", "Ben Berg")]) == "Guten Tag Anna Schmitz und Ben Berg"
    assert greeting_line([("Frau Dr.", "Maria Müller"), ("Herr", "Ben Berg")]) == (
        "Sehr geehrte Frau Dr. Müller, sehr geehrter Herr Berg")
    assert greeting_line([("Frau Dr.", "Maria Müller"), ("", "Ben Berg")]) == (
        "Sehr geehrte Frau Dr. Müller, guten Tag Ben Berg")


def test_phone_tasks_call_the_primary_contact_first_then_deputy_then_head() -> None:
    head = ContactRecord("Carla Chef", "c@x.example.org", "head", phone="0241 3")
    deputy = ContactRecord("Ben Berg", "b@x.example.org", "deputy")
    primary = ContactRecord("Anna Schmitz", "a@x.example.org", "primary", phone="0241 1")
    assert [c.name for c in call_list([head, deputy, primary])] == ["Anna Schmitz", "Ben Berg", "Carla Chef"]
