"""Institutions and their contacts: the domain records and the check of an imported list."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.catalog import Catalogs
from core.problem import Problem, cell_address
from core.table import Table
from core.text import fold, squash_spaces

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
CODE_MAX_LENGTH = 16
EMAIL_PATTERN = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]{2,}$")
SALUTATION_MAX_LENGTH = PHONE_MAX_LENGTH = 100
PHONE_MIN_DIGITS = 5

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
    # Optional: how mails greet the contact ("Frau Dr.", "Herr", or a whole greeting) and whom staff call.
    "salutation": ("Anrede",),
    "phone": ("Telefon", "Telefonnummer", "Tel.", "Tel"),
}
REQUIRED_COLUMNS = ("code", "name", "contact_name", "email", "role")
YES = {"ja", "j", "x", "1", "true", "wahr", "yes", ""}
NO = {"nein", "n", "0", "false", "falsch", "no"}


@dataclass(frozen=True)
class ContactRecord:
    name: str
    email: str
    role: str  # primary | deputy | head
    # Optional columns; None: the file has no such column (a re-import keeps what was saved before).
    salutation: str | None = None  # "Frau Dr.", "Herr", a whole greeting, or empty (see greeting())
    phone: str | None = None


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


@dataclass(frozen=True)
class _Columns:
    """The header of an institutions table and where each known column stands in it."""

    header: list[str]
    positions: dict[str, int]

    def at(self, key: str, number: int) -> str:
        return cell_address(self.positions[key], number)

    def header_of(self, key: str) -> str:
        return self.header[self.positions[key]]


class _Row:
    """One row of an institutions table: its stripped values by column key, and its problems."""

    def __init__(self, columns: _Columns, number: int, cells: list[str]) -> None:
        self.columns, self.number = columns, number
        self.value = {key: cells[index].strip() for key, index in columns.positions.items()}
        self.problems: list[Problem] = []

    def problem(self, key: str, message: str) -> None:
        header = self.columns.header_of(key)
        self.problems.append(Problem(self.columns.at(key, self.number), header,
                                     f"Zeile {self.number}, {header}: {message}"))


@dataclass
class _Grouping:
    """The institutions found so far, with the catalogs the rows are checked against."""

    catalogs: Catalogs
    kinds: dict[str, str]  # folded kind → kind
    areas: dict[str, str]  # folded area → area
    institutions: dict[str, InstitutionRecord] = field(default_factory=dict)
    first_row: dict[str, int] = field(default_factory=dict)  # code → row that introduced it
    seen_emails: dict[tuple[str, str], int] = field(default_factory=dict)  # (code, folded e-mail) → row


def parse_institutions(table: Table, catalogs: Catalogs) -> tuple[list[InstitutionRecord], list[Problem]]:
    """Check an institutions table (one row per contact) and group it by institution.

    Returns all problems at once; the records are only meaningful when there are none.
    """
    positions, problems = _column_positions(table.header)
    if problems:
        return [], problems
    columns = _Columns(table.header, positions)
    grouping = _Grouping(
        catalogs=catalogs,
        kinds={fold(k): k for k in catalogs.institution_kinds},
        areas={fold(a): a for a in catalogs.areas},
    )
    for number, cells in table.rows:
        row = _Row(columns, number, cells)
        _check_institution_fields(row, grouping)
        role = _check_contact_fields(row, catalogs)
        _group_row(row, role, grouping)
        problems.extend(row.problems)

    if not table.rows:
        problems.append(Problem(None, None, "Die Datei enthält keine Institutionen, nur eine Kopfzeile."))
    problems.extend(_missing_primary(columns, grouping))
    return list(grouping.institutions.values()), problems


def _check_institution_fields(row: _Row, grouping: _Grouping) -> None:
    value, catalogs = row.value, grouping.catalogs
    code = value["code"].upper()
    if not code:
        row.problem("code", "Das Kürzel fehlt.")
    elif len(code) > CODE_MAX_LENGTH or not CODE_PATTERN.match(code):
        row.problem(
            "code",
            f"„{value['code']}“ ist kein gültiges Kürzel. Erlaubt sind Buchstaben A–Z, Ziffern und "
            f"Bindestriche, höchstens {CODE_MAX_LENGTH} Zeichen, beginnend mit einem Buchstaben.",
        )
    if not value["name"]:
        row.problem("name", "Der Name der Institution fehlt.")
    kind = value.get("kind", "")
    if kind and fold(kind) not in grouping.kinds:
        row.problem("kind", f"„{kind}“ ist keine bekannte Art. Zulässig sind: {', '.join(catalogs.institution_kinds)}.")
    area = value.get("local_authority", "")
    if area and fold(area) not in grouping.areas:
        allowed = ", ".join(catalogs.areas)
        row.problem("local_authority", f"„{area}“ ist kein bekanntes Gebiet. Zulässig sind: {allowed}.")
    if fold(value.get("active", "")) not in YES | NO:
        row.problem("active", f"„{value['active']}“ ist kein gültiger Wert. Bitte „ja“ oder „nein“ eintragen.")


def _check_contact_fields(row: _Row, catalogs: Catalogs) -> str | None:
    """Check the contact's name, address, role, salutation and phone; the role's key, or None if it is missing or
    unknown."""
    value = row.value
    if not value["contact_name"]:
        row.problem("contact_name", "Der Name der Ansprechperson fehlt.")
    email = value["email"]
    if not email:
        row.problem("email", "Die E-Mail-Adresse fehlt.")
    elif not EMAIL_PATTERN.match(email):
        row.problem("email", f"„{email}“ ist keine gültige E-Mail-Adresse.")
    elif not email.rpartition("@")[0].isascii():
        row.problem("email", f"„{email}“ enthält vor dem @ Umlaute oder Sonderzeichen; solche Adressen können "
                             "nicht zuverlässig beliefert werden. Bitte die Schreibweise ohne Umlaute angeben.")
    role = catalogs.role_for(value["role"]) if value["role"] else None
    if not value["role"]:
        row.problem("role", "Die Rolle fehlt. Zulässig sind: " + ", ".join(catalogs.role_labels.values()) + ".")
    elif role is None:
        row.problem(
            "role",
            f"„{value['role']}“ ist keine bekannte Rolle. Zulässig sind: "
            + ", ".join(catalogs.role_labels.values())
            + ".",
        )
    if len(value.get("salutation", "")) > SALUTATION_MAX_LENGTH:
        row.problem("salutation", f"Die Anrede ist länger als {SALUTATION_MAX_LENGTH} Zeichen.")
    if value.get("phone", ""):
        _check_phone(row, value["phone"])
    return role


def _check_phone(row: _Row, phone: str) -> None:
    if len(phone) > PHONE_MAX_LENGTH:
        row.problem("phone", f"Die Telefonnummer ist länger als {PHONE_MAX_LENGTH} Zeichen.")
    elif sum(c.isdigit() for c in phone) < PHONE_MIN_DIGITS:
        row.problem("phone", f"„{phone}“ ist keine Telefonnummer. Bitte die Nummer mit Vorwahl eintragen "
                             "(z. B. 0241 12345-0) oder das Feld leer lassen.")
    elif not phone.lstrip("( ").startswith(("0", "+")):
        # A number typed into a spreadsheet cell loses its leading zero: 0241 123 becomes 241123.
        row.problem("phone", f"„{phone}“ beginnt nicht mit 0 oder +; vermutlich hat das Tabellenprogramm die "
                             "führende Null entfernt. Bitte die Nummer mit Vorwahl als Text eintragen "
                             "(z. B. 0241 12345-0).")


def _group_row(row: _Row, role: str | None, grouping: _Grouping) -> None:
    """Add the row's institution (first row wins) and, if the row is clean, its contact."""
    value, number = row.value, row.number
    code, email = value["code"].upper(), value["email"]
    if not (code and CODE_PATTERN.match(code) and value["name"]):
        return
    existing = grouping.institutions.get(code)
    if existing is None:
        kind, area = value.get("kind", ""), value.get("local_authority", "")
        grouping.institutions[code] = InstitutionRecord(
            code=code,
            name=value["name"],
            kind=grouping.kinds.get(fold(kind)) if kind else None,
            local_authority=grouping.areas.get(fold(area)) if area else None,
            active=fold(value.get("active", "")) not in NO,
        )
        grouping.first_row[code] = number
    elif fold(existing.name) != fold(value["name"]):
        row.problem(
            "code",
            f"Das Kürzel „{code}“ ist doppelt vergeben: in Zeile {grouping.first_row[code]} für "
            f"„{existing.name}“ und hier für „{value['name']}“.",
        )
    if email and role is not None and not row.problems:
        key = (code, email.casefold())
        if key in grouping.seen_emails:
            row.problem("email", f"Die Adresse {email} steht für {code} schon in Zeile {grouping.seen_emails[key]}.")
        else:
            grouping.seen_emails[key] = number
            salutation, phone = (value.get(key) for key in ("salutation", "phone"))
            grouping.institutions[code].contacts.append(ContactRecord(
                value["contact_name"], email, role,
                salutation=None if salutation is None else squash_spaces(salutation),
                phone=None if phone is None else squash_spaces(phone)))


def _missing_primary(columns: _Columns, grouping: _Grouping) -> list[Problem]:
    """A problem for each institution with contacts but none in the primary role."""
    problems: list[Problem] = []
    for code, record in grouping.institutions.items():
        if record.contacts and not any(c.role == "primary" for c in record.contacts):
            first_row = grouping.first_row[code]
            problems.append(
                Problem(
                    columns.at("role", first_row),
                    columns.header_of("role"),
                    f"Zeile {first_row}: Für {code} ist keine {grouping.catalogs.role_labels['primary']} "
                    "angegeben. Jede Institution braucht mindestens eine.",
                )
            )
    return problems


# Greetings. A German letter greets by salutation and surname ("Sehr geehrte Frau Dr. Müller"); without a
# salutation we do not guess one from the first name and greet neutrally by full name ("Guten Tag Max Müller").
GREETING_OPENINGS = ("sehr geehrte", "guten tag", "liebe", "lieber", "hallo")  # an Anrede that is a whole greeting
SURNAME_PARTICLES = frozenset({"von", "van", "de", "der", "den", "del", "della", "di", "da", "dos", "du", "zu",
                               "zum", "zur", "vom", "ten", "ter", "le", "la"})


def _title_of(token: str) -> str | None:
    """The title a greeting keeps from a name's leading token: Prof. and Dr. (Dr.-Ing., Dr. med. → Dr.)."""
    for title in ("Prof.", "Dr."):
        if token.startswith(title[:-1]) and token.endswith("."):
            return title
    return None


def _surname(name: str) -> tuple[list[str], str]:
    """The academic titles and the surname of a full name ("Dr. Anna von der Heide" → ["Dr."], "von der Heide");
    "Heide, Anna" is read as surname first."""
    surname_first = "," in name
    tokens = name.partition(",")[0].split()
    titles: list[str] = []
    while len(tokens) > 1 and tokens[0].endswith("."):
        title = _title_of(tokens.pop(0))
        if title and title not in titles:
            titles.append(title)
    if surname_first:
        return titles, " ".join(tokens)
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1] in SURNAME_PARTICLES:
        start -= 1
    return titles, " ".join(tokens[start:])


def greeting(salutation: str, name: str) -> str:
    """How a mail greets one contact, without the closing comma.

    Anrede "Frau" / "Frau Dr." / "Herr Prof." + name → "Sehr geehrte Frau Dr. Müller" / "Sehr geehrter Herr ...";
    an Anrede that is a whole greeting ("Sehr geehrte Frau Oberbürgermeisterin") is taken as it is; any other
    Anrede ("Prof. Dr.") is put before the full name, and without one the greeting is "Guten Tag Max Müller".
    """
    salutation, name = squash_spaces(salutation).rstrip(","), squash_spaces(name)
    if not salutation:
        return f"Guten Tag {name}"
    if salutation.casefold().startswith(GREETING_OPENINGS):
        return salutation
    first = salutation.split()[0].casefold()
    if first in ("frau", "herr"):
        titles, surname = _surname(name)
        extra = [t for t in titles if t not in salutation.split()]
        opening = "Sehr geehrte" if first == "frau" else "Sehr geehrter"
        return " ".join([opening, salutation, *extra, surname])
    if name.startswith(salutation):
        return f"Guten Tag {name}"
    return f"Guten Tag {salutation} {name}"


def greeting_line(people: list[tuple[str, str]]) -> str:
    """One greeting for everyone a mail is addressed to, from (salutation, name) pairs; without the comma.

    "Guten Tag Anna Schmitz und Ben Berg" when nobody has a salutation, else each greeted in turn:
    "Sehr geehrte Frau Dr. Müller, sehr geehrter Herr Berg".
    """
    if all(not squash_spaces(salutation) for salutation, _ in people):
        return "Guten Tag " + " und ".join(squash_spaces(name) for _, name in people)
    parts = [greeting(salutation, name) for salutation, name in people]
    return ", ".join([parts[0], *(part[0].lower() + part[1:] for part in parts[1:])])


CALL_ORDER = ("primary", "deputy", "head")


def call_list(contacts: list[ContactRecord]) -> list[ContactRecord]:
    """Whom staff call for a phone task, in this order: the primary contacts, the deputies, the head."""
    rank = {role: index for index, role in enumerate(CALL_ORDER)}
    return sorted(contacts, key=lambda c: rank.get(c.role, len(rank)))
