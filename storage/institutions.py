"""Repository functions for institutions and their contacts."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from core.institution import ContactRecord, InstitutionRecord
from storage.errors import NotFound
from storage.models import Contact, Institution, utcnow


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    contacts_added: int = 0
    contacts_deactivated: int = 0


@dataclass(frozen=True)
class InstitutionView:
    institution: Institution
    contacts: list[Contact]


def save_institutions(*, session: Session, region_id: int, records: list[InstitutionRecord]) -> ImportSummary:
    """Create or update institutions by code; a contact missing from the list is deactivated, not deleted.

    Institutions not named in ``records`` are left as they are.
    """
    summary = ImportSummary()
    existing = {
        i.code: i for i in session.exec(select(Institution).where(Institution.region_id == region_id)).all()
    }
    for record in records:
        institution = existing.get(record.code)
        if institution is None:
            institution = _create_institution(session=session, region_id=region_id, record=record)
            summary.created.append(record.code)
            changed = False
        else:
            changed = _update_institution(institution, record)
        contacts_changed = _save_contacts(session=session, institution_id=_id(institution), record=record,
                                          summary=summary)
        if changed or contacts_changed:
            institution.updated_at = utcnow()
            if record.code not in summary.created:
                summary.updated.append(record.code)
        elif record.code not in summary.created:
            summary.unchanged.append(record.code)
    session.flush()
    return summary


def _create_institution(*, session: Session, region_id: int, record: InstitutionRecord) -> Institution:
    institution = Institution(
        region_id=region_id,
        code=record.code,
        name=record.name,
        kind=record.kind,
        local_authority=record.local_authority,
        active=record.active,
    )
    session.add(institution)
    session.flush()
    return institution


def _update_institution(institution: Institution, record: InstitutionRecord) -> bool:
    """Take over the record's fields; whether anything changed."""
    changed = False
    for attribute in ("name", "kind", "local_authority", "active"):
        if getattr(institution, attribute) != getattr(record, attribute):
            setattr(institution, attribute, getattr(record, attribute))
            changed = True
    return changed


def _save_contacts(*, session: Session, institution_id: int, record: InstitutionRecord,
                   summary: ImportSummary) -> bool:
    """Add, update or reactivate the record's contacts and deactivate the others; whether anything changed."""
    changed = False
    contacts = {
        c.email.casefold(): c
        for c in session.exec(select(Contact).where(Contact.institution_id == institution_id)).all()
    }
    wanted = {c.email.casefold(): c for c in record.contacts}
    for key, contact_record in wanted.items():
        contact = contacts.get(key)
        if contact is None:
            session.add(
                Contact(
                    institution_id=institution_id,
                    name=contact_record.name,
                    email=contact_record.email,
                    role=contact_record.role,
                    salutation=contact_record.salutation or "",
                    phone=contact_record.phone or "",
                )
            )
            summary.contacts_added += 1
            changed = True
        else:
            changed = _update_contact(contact, contact_record) or changed
    for key, contact in contacts.items():
        if key not in wanted and contact.active:
            contact.active = False
            summary.contacts_deactivated += 1
            changed = True
    return changed


def _update_contact(contact: Contact, record: ContactRecord) -> bool:
    """Take over name, role and (where the file has the column) salutation and phone, and reactivate; whether
    anything changed. A file without an Anrede or Telefon column leaves what an earlier import saved."""
    wanted = {"name": record.name, "role": record.role, "active": True, "salutation": record.salutation,
              "phone": record.phone}
    changed = False
    for attribute, value in wanted.items():
        if value is not None and getattr(contact, attribute) != value:
            setattr(contact, attribute, value)
            changed = True
    return changed


def _id(institution: Institution) -> int:
    if institution.id is None:  # only before flush; save_institutions always flushes first
        raise RuntimeError("institution has no id yet")
    return institution.id


def list_institutions(*, session: Session, region_id: int, active_only: bool = False) -> list[InstitutionView]:
    query = select(Institution).where(Institution.region_id == region_id)
    if active_only:
        query = query.where(col(Institution.active).is_(True))
    institutions = list(session.exec(query.order_by(col(Institution.code))).all())
    ids = [i.id for i in institutions]
    contacts: dict[int, list[Contact]] = {i: [] for i in ids if i is not None}
    if ids:
        rows = session.exec(select(Contact).where(col(Contact.institution_id).in_(ids)).order_by(col(Contact.id)))
        for contact in rows.all():
            contacts[contact.institution_id].append(contact)
    order = {"primary": 0, "deputy": 1, "head": 2}
    return [
        InstitutionView(i, sorted(contacts.get(i.id or 0, []), key=lambda c: order.get(c.role, 9)))
        for i in institutions
    ]


def contacts_of(*, session: Session, institution_id: int) -> list[Contact]:
    return list(session.exec(select(Contact).where(Contact.institution_id == institution_id)
                             .order_by(col(Contact.id))).all())


def get_institution(*, session: Session, region_id: int, code: str) -> Institution:
    institution = session.exec(
        select(Institution).where(Institution.region_id == region_id, Institution.code == code.upper())
    ).first()
    if institution is None:
        raise NotFound(f"Es gibt keine Institution mit dem Kürzel {code!r}.")
    return institution
