"""The staff digest's decision (core.digest): a mail only on working days, only when something happened,
every item with its page in the staff area and never a personal link."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.digest import (
    Bounced,
    DigestEvents,
    FailedMail,
    PhoneTask,
    Refused,
    Returned,
    RoundFacts,
    approval_readiness,
    build_digest,
    digest_context,
)
from core.workdays import public_holidays
from mail.templates import MailRenderer

BASE = "https://fko.example.org"
NRW = public_holidays("NW")
TUESDAY = dt.date(2026, 10, 6)
FACTS = RoundFacts(year=2026, deadline=dt.date(2026, 10, 15), open_until=dt.date(2026, 11, 5), institutions=22,
                   answered=3, draft_label="2026")
TEMPLATES = Path(__file__).resolve().parents[2] / "survey_templates"


def events(**items: object) -> DigestEvents:
    return DigestEvents(round=items.pop("round", FACTS), **items)  # type: ignore[arg-type]


def test_digest_nothing_happened_means_no_mail() -> None:
    assert build_digest(events(), today=TUESDAY, is_holiday=NRW, base_url=BASE) is None
    rebuilt_only = RoundFacts(**{**FACTS.__dict__, "draft_rebuilt": True})
    assert build_digest(events(round=rebuilt_only), today=TUESDAY, is_holiday=NRW, base_url=BASE) is None


def test_digest_none_on_weekends_and_public_holidays() -> None:
    busy = events(returns=(Returned("IHK", "IHK Aachen", "accepted", new=1),))
    assert build_digest(busy, today=dt.date(2026, 10, 10), is_holiday=NRW, base_url=BASE) is None  # Saturday
    assert build_digest(busy, today=dt.date(2026, 10, 11), is_holiday=NRW, base_url=BASE) is None  # Sunday
    assert build_digest(busy, today=dt.date(2026, 12, 25), is_holiday=NRW, base_url=BASE) is None  # Christmas (Fri)
    assert build_digest(busy, today=dt.date(2027, 5, 27), is_holiday=NRW, base_url=BASE) is None   # Corpus Christi
    assert build_digest(busy, today=dt.date(2027, 11, 1), is_holiday=NRW, base_url=BASE) is None   # All Saints (Mon)
    assert build_digest(busy, today=dt.date(2026, 10, 12), is_holiday=NRW, base_url=BASE) is not None  # Monday


def test_digest_each_kind_of_event_appears_with_its_staff_link() -> None:
    digest = build_digest(events(
        returns=(Returned("IHK", "IHK Aachen", "accepted", new=2, changed=1), Returned("VUV", "VUV", "no_changes")),
        refusals=(Refused("HWK", "Handwerkskammer Aachen", 4),),
        bounces=(Bounced("tobias@example.org", "AA-BRL", "Agentur für Arbeit Brühl", "550 unknown user"),),
        failed=(FailedMail("DGB", "DGB NRW Süd-West", "dgb@example.org", "451 try later"),),
        phone_tasks=(PhoneTask("KR-DN", "Kreis Düren", "keine erreichbare Ansprechperson"),),
    ), today=TUESDAY, is_holiday=NRW, base_url=BASE + "/")
    assert digest is not None
    assert digest.counts == {"returns": 2, "refusals": 1, "bounces": 2, "phone_tasks": 1, "ready": 0, "mailbox": 0}
    assert [e.url for e in digest.returns] == [f"{BASE}/intern/institutionen/IHK", f"{BASE}/intern/institutionen/VUV"]
    assert digest.returns[0].details == {"outcome": "accepted", "new": 2, "changed": 1, "ended": 0}
    assert digest.refusals[0].details["problems"] == 4 and digest.refusals[0].details["answered_since"] is False
    assert [e.details["kind"] for e in digest.bounces] == ["refused", "failed"]
    assert digest.bounces[0].url == f"{BASE}/intern/institutionen/AA-BRL"
    assert digest.phone_tasks[0].url == f"{BASE}/intern/institutionen/KR-DN"
    assert (digest.overview_url, digest.documents_url) == (f"{BASE}/intern/", f"{BASE}/intern/dokumente/2026/")

    rendered = MailRenderer(TEMPLATES).render("staff_digest", {
        "region_name": "Region Aachen", "agency_name": "Regionalagentur", "agency_email": "team@example.org",
        "agency_phone": "", "agency_address": "", "funding_line": "", "year": 2026,
        "deadline_text": "Donnerstag, 15. Oktober 2026", **digest_context(digest)})
    assert rendered.subject == ("Tagesübersicht 06.10.2026: Abfrage 2026 Handlungskonzept Region Aachen – "
                                "2 Rückmeldungen, 1 abgelehnte Datei, 2 unzustellbare Adressen, 1 Telefonaufgabe")
    for text in (rendered.text, rendered.html):
        assert "IHK Aachen" in text and "IHK Aachen (IHK)" not in text and "Kreis Düren (KR-DN)" in text
        assert "2 neu, 1 geändert, 0 beendet" in text
        assert "keine Änderungen bestätigt" in text and "4 Probleme gemeldet" in text
        assert "tobias@example.org" in text and "550 unknown user" in text and "Kreis Düren" in text
        assert f"{BASE}/intern/institutionen/HWK" in text and f"{BASE}/intern/" in text
        assert "/r/" not in text
    assert "Frist: Donnerstag, 15. Oktober 2026." in rendered.text


def test_digest_a_refusal_fixed_the_same_day_says_so() -> None:
    digest = build_digest(events(refusals=(Refused("HWK", "HWK", 1),), returns=(Returned("HWK", "HWK", "accepted"),)),
                          today=TUESDAY, is_holiday=NRW, base_url=BASE)
    assert digest is not None and digest.refusals[0].details["answered_since"] is True


def test_digest_ready_for_approval_once_all_answered_or_the_late_window_is_over() -> None:
    everyone = RoundFacts(**{**FACTS.__dict__, "answered": 22})
    assert approval_readiness(FACTS, dt.date(2026, 11, 5)) is None          # late returns still accepted
    assert approval_readiness(FACTS, dt.date(2026, 11, 6)) == "late_window_over"
    assert approval_readiness(everyone, TUESDAY) == "all_answered"
    # The day it becomes true is news on its own, with the documents' link ...
    digest = build_digest(events(round=everyone), today=TUESDAY, is_holiday=NRW, base_url=BASE)
    assert digest is not None and digest.ready == "all_answered" and digest.counts["ready"] == 1
    late = build_digest(events(), today=dt.date(2026, 11, 6), is_holiday=NRW, base_url=BASE)
    assert late is not None and late.ready == "late_window_over"
    assert late.documents_url == f"{BASE}/intern/dokumente/2026/"
    # ... and said once: after a digest that said it, the next day without events brings nothing.
    told = RoundFacts(**{**FACTS.__dict__, "was_ready": True})
    assert build_digest(events(round=told), today=dt.date(2026, 11, 9), is_holiday=NRW, base_url=BASE) is None


def test_digest_links_quote_codes_and_labels() -> None:
    digest = build_digest(events(round=RoundFacts(**{**FACTS.__dict__, "draft_label": "2026/a"}),
                                 refusals=(Refused("A B", "x", 1),)), today=TUESDAY, is_holiday=NRW, base_url=BASE)
    assert digest is not None
    assert digest.refusals[0].url == f"{BASE}/intern/institutionen/A%20B"
    assert digest.documents_url == f"{BASE}/intern/dokumente/2026%2Fa/"


def test_digest_names_from_institutions_are_escaped_in_html() -> None:
    digest = build_digest(events(refusals=(Refused("X", "Städteregion <b>Test</b> & Partner", 1),)),
                          today=TUESDAY, is_holiday=NRW, base_url=BASE)
    assert digest is not None
    rendered = MailRenderer(TEMPLATES).render("staff_digest", {
        "region_name": "Region Aachen", "agency_name": "Regionalagentur", "agency_email": "team@example.org",
        "agency_phone": "", "agency_address": "", "funding_line": "", "year": 2026, "deadline_text": "15. Oktober",
        **digest_context(digest)})
    assert "Städteregion &lt;b&gt;Test&lt;/b&gt; &amp; Partner (X)" in rendered.html and "<b>Test" not in rendered.html
    assert "Städteregion <b>Test</b> & Partner (X)" in rendered.text
