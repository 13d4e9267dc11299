"""The draft of the new concept version: the base plus every institution's latest answer (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from core.activity import Activity
from core.diff import apply_diff, diff_activities

NOT_CONFIRMED = "not_confirmed"  # the institution did not answer this year (or was not asked)
MISSING = "missing"              # gone from its return without an ending status: kept, flagged for staff

Flag = tuple[bool, str | None]   # (confirmed this year, flag)


@dataclass(frozen=True)
class Answer:
    """An institution's latest answer in the round."""

    outcome: Literal["accepted", "no_changes"]
    activities: Sequence[Activity] = ()


@dataclass
class DraftPlan:
    activities: list[Activity] = field(default_factory=list)
    flags: dict[str, Flag] = field(default_factory=dict)
    answered: list[str] = field(default_factory=list)
    not_answered: list[str] = field(default_factory=list)
    flagged_missing: list[str] = field(default_factory=list)


def merge_draft(base: Sequence[Activity], asked: Sequence[str], answers: Mapping[str, Answer], *,
                ending_statuses: tuple[str, ...]) -> DraftPlan:
    """Per asked institution (codes in order): its accepted return applied to its base activities (those
    missing from the return kept and flagged), its base on "no changes", or its base marked "not confirmed"
    when it did not answer. Institutions no longer asked keep their entries, unconfirmed."""
    by_institution: dict[str, list[Activity]] = {}
    for activity in base:
        by_institution.setdefault(activity.institution_code, []).append(activity)
    plan = DraftPlan()

    def unconfirmed(own: list[Activity]) -> None:
        plan.activities.extend(own)
        plan.flags.update({a.key or "": (False, NOT_CONFIRMED) for a in own})

    for code in asked:
        own = by_institution.get(code, [])
        answer = answers.get(code)
        if answer is None:
            plan.not_answered.append(code)
            unconfirmed(own)
            continue
        plan.answered.append(code)
        if answer.outcome == "no_changes":
            plan.activities.extend(own)
            continue
        diff = diff_activities(own, list(answer.activities), ending_statuses=ending_statuses)
        plan.activities.extend(apply_diff(diff))
        plan.flags.update({a.key or "": (True, MISSING) for a in diff.missing})
        plan.flagged_missing += [a.key or "" for a in diff.missing]
    for code, own in by_institution.items():
        if code not in asked:
            unconfirmed(own)
    return plan
