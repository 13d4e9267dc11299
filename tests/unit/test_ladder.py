"""The reminder ladder: dates moved off weekends and NRW holidays, one step at a time, never twice."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ladder import LadderState, PolicyError, answer_by, due_steps, parse_policy, step_date
from core.workdays import public_holidays
from storage.template_folder import load_policy
from usecases.settings import BUNDLED_TEMPLATES

is_nrw_holiday = public_holidays("NW")
POLICY = load_policy(BUNDLED_TEMPLATES)
ALL_ROLES = frozenset({"primary", "deputy", "head"})


def state(deadline: dt.date, *, answered: bool = False, last: str | None = None,
          roles: frozenset[str] = ALL_ROLES) -> LadderState:
    return LadderState(1, "IHK", deadline, answered, last, roles)


def step_dates(deadline: dt.date) -> dict[str, dt.date]:
    return {s.name: step_date(deadline, s, is_nrw_holiday) for s in POLICY.steps}


def test_default_policy_is_design_section_7() -> None:
    assert [(s.name, s.offset_days, s.kind) for s in POLICY.steps] == [
        ("reminder", -7, "mail"), ("reminder_deputy", 0, "mail"), ("escalation", 7, "mail"), ("phone", 14, "phone")]
    assert POLICY.steps[2].cc_staff and POLICY.steps[2].to[0] == "head"


def test_dates_move_off_weekends_and_nrw_holidays() -> None:
    # Deadline Saturday 3 Oct 2026 (also German Unity Day): reminder Sat 26 Sep → Mon 28 Sep;
    # the deadline step → Mon 5 Oct; escalation Sat 10 Oct → Mon 12 Oct.
    assert step_dates(dt.date(2026, 10, 3)) == {
        "reminder": dt.date(2026, 9, 28), "reminder_deputy": dt.date(2026, 10, 5),
        "escalation": dt.date(2026, 10, 12), "phone": dt.date(2026, 10, 19)}
    # Corpus Christi (Fronleichnam) is a holiday in NRW: Thursday 4 June 2026 → Friday 5 June.
    assert step_date(dt.date(2026, 6, 4), POLICY.steps[1], is_nrw_holiday) == dt.date(2026, 6, 5)


def test_year_end_and_new_year() -> None:
    # Deadline Thursday 24 Dec 2026: escalation on 31 Dec (Thursday) stays; the phone task on
    # 7 Jan 2027. A step landing on 1 Jan (holiday, Friday) moves to Monday 4 Jan 2027.
    dates = step_dates(dt.date(2026, 12, 24))
    assert dates["escalation"] == dt.date(2026, 12, 31) and dates["phone"] == dt.date(2027, 1, 7)
    assert step_date(dt.date(2026, 12, 25), POLICY.steps[2], is_nrw_holiday) == dt.date(2027, 1, 4)


def test_across_the_dst_change() -> None:
    # Summer time ends on Sunday 25 Oct 2026: dates are calendar dates, nothing shifts by a day.
    dates = step_dates(dt.date(2026, 10, 29))
    assert dates == {"reminder": dt.date(2026, 10, 22), "reminder_deputy": dt.date(2026, 10, 29),
                     "escalation": dt.date(2026, 11, 5), "phone": dt.date(2026, 11, 12)}


def test_nothing_before_the_first_step_and_the_first_on_its_day() -> None:
    deadline = dt.date(2026, 10, 15)
    assert due_steps([state(deadline)], POLICY, dt.date(2026, 10, 7), is_nrw_holiday) == []
    (due,) = due_steps([state(deadline)], POLICY, dt.date(2026, 10, 8), is_nrw_holiday)
    assert (due.step.name, due.action, due.to_roles, due.due_on) == ("reminder", "mail", ("primary",),
                                                                     dt.date(2026, 10, 8))


def test_after_downtime_only_the_highest_due_step() -> None:
    (due,) = due_steps([state(dt.date(2026, 10, 15))], POLICY, dt.date(2026, 10, 23), is_nrw_holiday)
    assert due.step.name == "escalation" and due.to_roles == ("head",)


def test_a_step_carried_out_is_not_due_again() -> None:
    deadline = dt.date(2026, 10, 15)
    assert due_steps([state(deadline, last="reminder")], POLICY, dt.date(2026, 10, 9), is_nrw_holiday) == []
    assert due_steps([state(deadline, last="phone")], POLICY, dt.date(2027, 3, 1), is_nrw_holiday) == []


def test_nothing_once_answered() -> None:
    assert due_steps([state(dt.date(2026, 10, 15), answered=True)], POLICY, dt.date(2026, 11, 30),
                     is_nrw_holiday) == []


def test_refused_addresses_lead_to_the_next_recipient_then_to_staff() -> None:
    deadline, today = dt.date(2026, 10, 15), dt.date(2026, 10, 8)
    (to_deputy,) = due_steps([state(deadline, roles=frozenset({"deputy", "head"}))], POLICY, today, is_nrw_holiday)
    assert to_deputy.to_roles == ("deputy",)
    (phone,) = due_steps([state(deadline, roles=frozenset({"head"}))], POLICY, today, is_nrw_holiday)
    assert (phone.action, phone.reason) == ("phone", "keine erreichbare Ansprechperson")


def test_policy_errors_name_the_problem() -> None:
    text = (BUNDLED_TEMPLATES / "reminders.toml").read_text(encoding="utf-8")
    with pytest.raises(PolicyError, match="order of their offsets"):
        parse_policy(text.replace("offset_days = 7", "offset_days = -30"))
    with pytest.raises(PolicyError, match="unknown roles"):
        parse_policy(text.replace('to = ["head", "primary"]', 'to = ["chef"]'))


@settings(max_examples=300, deadline=None)
@given(
    deadline=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2030, 12, 31)),
    run_days=st.lists(st.integers(-20, 40), min_size=1, max_size=40, unique=True),
    answer_day=st.one_of(st.none(), st.integers(-20, 40)),
    roles=st.sampled_from([ALL_ROLES, frozenset({"deputy", "head"}), frozenset({"head"}), frozenset()]),
)
def test_any_sequence_of_runs_sends_each_step_at_most_once_and_nothing_after_an_answer(
        deadline: dt.date, run_days: list[int], answer_day: int | None, roles: frozenset[str]) -> None:
    current = state(deadline, roles=roles)
    carried_out: list[tuple[int, str]] = []
    for offset in sorted(run_days):  # daily runs with arbitrary gaps
        answered = answer_day is not None and offset >= answer_day
        current = replace(current, answered=answered)
        for due in due_steps([current], POLICY, deadline + dt.timedelta(days=offset), is_nrw_holiday):
            carried_out.append((offset, due.step.name))
            current = replace(current, last_step=due.step.name)
    names = [name for _, name in carried_out]
    assert len(names) == len(set(names))                                         # never twice
    assert [POLICY.index(n) for n in names] == sorted(POLICY.index(n) for n in names)  # only forward
    if answer_day is not None:
        assert all(offset < answer_day for offset, _ in carried_out)             # nothing after an answer


def test_the_regions_state_decides_which_days_are_holidays() -> None:
    # Fronleichnam (4 June 2026) is a holiday in NRW, not in Lower Saxony; Reformationstag the other way round.
    nrw, lower_saxony = public_holidays("NW"), public_holidays("NI")
    assert nrw(dt.date(2026, 6, 4)) and not lower_saxony(dt.date(2026, 6, 4))
    assert lower_saxony(dt.date(2026, 10, 31)) and not nrw(dt.date(2026, 10, 31))
    assert step_date(dt.date(2026, 6, 4), POLICY.steps[1], lower_saxony) == dt.date(2026, 6, 4)


def test_escalation_is_the_step_the_policy_marks() -> None:
    assert [s.name for s in POLICY.steps if POLICY.escalates(s.name)] == ["escalation"]
    policy = parse_policy('[[step]]\nname = "chef"\noffset_days = 3\nkind = "mail"\ntemplate = "escalation"\n'
                          'to = ["head"]\nescalates = true\n')
    assert policy.escalates("chef") and not policy.escalates("escalation") and not policy.escalates(None)
    # A region's older reminders.toml without the key: writing to the head first is escalating.
    older = parse_policy('[[step]]\nname = "eskalation"\noffset_days = 7\nkind = "mail"\ntemplate = "escalation"\n'
                         'to = ["head", "primary"]\n[[step]]\nname = "anruf"\noffset_days = 14\nkind = "phone"\n')
    assert older.escalates("eskalation") and not older.escalates("anruf")


def test_the_date_a_mail_asks_an_answer_by() -> None:
    # Deadline Monday 25 Jan 2027 (a round of 2026 that runs into the next year).
    deadline = dt.date(2027, 1, 25)
    assert answer_by(deadline, "reminder", dt.date(2027, 1, 18), POLICY, is_nrw_holiday) == deadline
    assert answer_by(deadline, "reminder_deputy", deadline, POLICY, is_nrw_holiday) == deadline
    # The escalation on Monday 1 Feb asks for Friday 5 Feb: the working day before the phone task (Mon 8 Feb).
    assert answer_by(deadline, "escalation", dt.date(2027, 2, 1), POLICY, is_nrw_holiday) == dt.date(2027, 2, 5)
    # Sent late (after downtime): still a few days to answer, but never after returns close (15 Feb, a Monday).
    assert answer_by(deadline, "escalation", dt.date(2027, 2, 8), POLICY, is_nrw_holiday) == dt.date(2027, 2, 11)
    assert answer_by(deadline, "escalation", dt.date(2027, 2, 12), POLICY, is_nrw_holiday) == dt.date(2027, 2, 15)


def test_the_answer_date_is_a_working_day_before_returns_close() -> None:
    # Deadline Thursday 26 Nov 2026: returns close on Thursday 17 Dec; phone step on Thursday 10 Dec.
    deadline = dt.date(2026, 11, 26)
    assert answer_by(deadline, "escalation", dt.date(2026, 12, 3), POLICY, is_nrw_holiday) == dt.date(2026, 12, 9)
    # The last step asks for the last day returns are accepted, moved back off a weekend: a deadline on
    # Saturday 28 Nov (staff confirmed it) closes on Saturday 19 Dec, so the answer is asked for Friday 18 Dec.
    saturday = dt.date(2026, 11, 28)
    assert answer_by(saturday, "phone", dt.date(2026, 12, 14), POLICY, is_nrw_holiday) == dt.date(2026, 12, 18)
