"""Institutions and their contacts: the domain records and the check of an imported list."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.catalog import Catalogs
from core.problem import Problem, cell_address
from core.table import Table
from core.text import fold

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
CODE_MAX_LENGTH = 16
EMAIL_PATTERN = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]{2,}$")

# Column headers of an institutions file; each key lists the accepted spellings (case-insensitive).
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("Kürzel", "Kuerzel", "Code"),
    "name": ("Name", "Institution", "Name der Institution"),
    "kind": ("Art", "Art der Institution"),
    "local_authority": ("Gebietskörperschaft", "Kommune", "Gebiet"),
    "active": ("Aktiv",),
    "contact_name": ("Ansprechperson", "Kontakt", "Name der Ansprechperson"),
    "email": ("E-Mail", "EMail", "E-Mail-Adresse", "Mail"),
    "role": ("Rolle",),
}
REQUIRED_COLUMNS = ("code", "name", "contact_name", "email", "role")
YES = {"ja", "j", "x", "1", "true", "wahr", "yes", ""}
NO = {"nein", "n", "0", "false", "falsch", "no"}


@dataclass(frozen=True)
class ContactRecord:
    name: str
    email: str
    role: str  # primary | deputy | head


@dataclass
class InstitutionRecord:
    code: str
    name: str
    kind: str | None = None
    local_authority: str | None = None
    active: bool = True
    contacts: list[ContactRecord] = field(default_factory=list)


def _column_positions(header: list[str]) -> tuple[dict[str, int], list[Problem]]:
    wanted = {fold(alias): key for key, aliases in COLUMNS.items() for alias in aliases}
    positions: dict[str, int] = {}
    problems: list[Problem] = []
    for index, title in enumerate(header):
        key = wanted.get(fold(title))
        if key is None:
            continue
        if key in positions:
            problems.append(
                Problem(cell_address(index, 1), title, f"Die Spalte „{title}“ kommt zweimal vor.")
            )
        else:
            positions[key] = index
    for key in REQUIRED_COLUMNS:
        if key not in positions:
            problems.append(
                Problem(
                    None,
                    COLUMNS[key][0],
                    f"Die Spalte „{COLUMNS[key][0]}“ fehlt. Erwartet wird eine Kopfzeile mit: "
                    + ", ".join(COLUMNS[k][0] for k in COLUMNS),
                )
            )
    return positions, problems


def parse_institutions(table: Table, catalogs: Catalogs) -> tuple[list[InstitutionRecord], list[Problem]]:
    """Check an institutions table (one row per contact) and group it by institution.

    Returns all problems at once; the records are only meaningful when there are none.
    """
    positions, problems = _column_positions(table.header)
    if problems:
        return [], problems

    def at(key: str, number: int) -> str:
        return cell_address(positions[key], number)

    def header_of(key: str) -> str:
        return table.header[positions[key]]

    institutions: dict[str, InstitutionRecord] = {}
    first_row: dict[str, int] = {}
    seen_emails: dict[tuple[str, str], int] = {}
    kinds = {fold(k): k for k in catalogs.institution_kinds}
    areas = {fold(a): a for a in catalogs.areas}

    for number, cells in table.rows:
        value = {key: cells[index].strip() for key, index in positions.items()}
        row_problems: list[Problem] = []

        def problem(key: str, message: str, number: int = number, sink: list[Problem] = row_problems) -> None:
            sink.append(Problem(at(key, number), header_of(key), f"Zeile {number}, {header_of(key)}: {message}"))

        code = value["code"].upper()
        if not code:
            problem("code", "Das Kürzel fehlt.")
        elif len(code) > CODE_MAX_LENGTH or not CODE_PATTERN.match(code):
            problem(
                "code",
                f"„{value['code']}“ ist kein gültiges Kürzel. Erlaubt sind Buchstaben A–Z, Ziffern und "
                f"Bindestriche, höchstens {CODE_MAX_LENGTH} Zeichen, beginnend mit einem Buchstaben.",
            )
        if not value["name"]:
            problem("name", "Der Name der Institution fehlt.")
        kind = value.get("kind", "")
        if kind and fold(kind) not in kinds:
            problem("kind", f"„{kind}“ ist keine bekannte Art. Zulässig sind: {', '.join(catalogs.institution_kinds)}.")
        area = value.get("local_authority", "")
        if area and fold(area) not in areas:
            allowed = ", ".join(catalogs.areas)
            problem("local_authority", f"„{area}“ ist kein bekanntes Gebiet. Zulässig sind: {allowed}.")
        active_text = fold(value.get("active", ""))
        if active_text not in YES | NO:
            problem("active", f"„{value['active']}“ ist kein gültiger Wert. Bitte „ja“ oder „nein“ eintragen.")
        if not value["contact_name"]:
            problem("contact_name", "Der Name der Ansprechperson fehlt.")
        email = value["email"]
        if not email:
            problem("email", "Die E-Mail-Adresse fehlt.")
        elif not EMAIL_PATTERN.match(email):
            problem("email", f"„{email}“ ist keine gültige E-Mail-Adresse.")
        elif not email.rpartition("@")[0].isascii():
            problem("email", f"„{email}“ enthält vor dem @ Umlaute oder Sonderzeichen; solche Adressen können "
                             "nicht zuverlässig beliefert werden. Bitte die Schreibweise ohne Umlaute angeben.")
        role = catalogs.role_for(value["role"]) if value["role"] else None
        if not value["role"]:
            problem("role", "Die Rolle fehlt. Zulässig sind: " + ", ".join(catalogs.role_labels.values()) + ".")
        elif role is None:
            problem(
                "role",
                f"„{value['role']}“ ist keine bekannte Rolle. Zulässig sind: "
                + ", ".join(catalogs.role_labels.values())
                + ".",
            )

        if code and CODE_PATTERN.match(code) and value["name"]:
            existing = institutions.get(code)
            if existing is None:
                institutions[code] = InstitutionRecord(
                    code=code,
                    name=value["name"],
                    kind=kinds.get(fold(kind)) if kind else None,
                    local_authority=areas.get(fold(area)) if area else None,
                    active=active_text not in NO,
                )
                first_row[code] = number
            elif fold(existing.name) != fold(value["name"]):
                problem(
                    "code",
                    f"Das Kürzel „{code}“ ist doppelt vergeben: in Zeile {first_row[code]} für "
                    f"„{existing.name}“ und hier für „{value['name']}“.",
                )
            if email and role is not None and not row_problems:
                key = (code, email.casefold())
                if key in seen_emails:
                    problem("email", f"Die Adresse {email} steht für {code} schon in Zeile {seen_emails[key]}.")
                else:
                    seen_emails[key] = number
                    institutions[code].contacts.append(ContactRecord(value["contact_name"], email, role))
        problems.extend(row_problems)

    if not table.rows:
        problems.append(Problem(None, None, "Die Datei enthält keine Institutionen, nur eine Kopfzeile."))
    for code, record in institutions.items():
        if record.contacts and not any(c.role == "primary" for c in record.contacts):
            problems.append(
                Problem(
                    at("role", first_row[code]),
                    header_of("role"),
                    f"Zeile {first_row[code]}: Für {code} ist keine {catalogs.role_labels['primary']} "
                    "angegeben. Jede Institution braucht mindestens eine.",
                )
            )
    return list(institutions.values()), problems
