"""The reminder ladder: which step is due for which institution today (DESIGN §7). Pure: dates in, plan out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.catalog import CONTACT_ROLES
from core.toml_text import parse_toml

IsHoliday = Callable[[dt.date], bool]


class PolicyError(ValueError):
    """reminders.toml is broken (a staff configuration error)."""


@dataclass(frozen=True)
class Step:
    name: str
    offset_days: int
    kind: str                      # mail | phone
    template: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    cc_staff: bool = False
    escalates: bool = False        # counts as "escalated" for staff (the head of institution was written to)


@dataclass(frozen=True)
class Policy:
    steps: tuple[Step, ...]
    accept_late_days: int = 21

    def index(self, name: str | None) -> int:
        """Position of a step by name; -1 for none (or a name the current policy no longer has)."""
        return next((i for i, s in enumerate(self.steps) if s.name == name), -1)

    def escalates(self, name: str | None) -> bool:
        """Whether the step called ``name`` marks an institution as escalated."""
        return any(s.escalates for s in self.steps if s.name == name)


@dataclass(frozen=True)
class LadderState:
    """What the ladder needs to know about one institution's request."""

    request_id: int
    institution_code: str
    deadline: dt.date
    answered: bool
    last_step: str | None           # the highest step carried out so far
    reachable_roles: frozenset[str]  # roles with at least one active contact whose address is not refused


@dataclass(frozen=True)
class DueStep:
    request_id: int
    institution_code: str
    step: Step
    due_on: dt.date
    action: str                      # mail | phone
    to_roles: tuple[str, ...] = ()   # the role the mail goes to (first reachable of step.to)
    reason: str = ""                 # why a mail step became a phone task


def parse_policy(text: str) -> Policy:
    data = parse_toml(text, file="reminders.toml", error=PolicyError)
    steps: list[Step] = []
    for item in data.get("step", []):
        try:
            step = Step(name=str(item["name"]), offset_days=int(item["offset_days"]), kind=str(item["kind"]),
                        template=str(item.get("template", "")), to=tuple(item.get("to", ())),
                        cc=tuple(item.get("cc", ())), cc_staff=bool(item.get("cc_staff", False)),
                        # Writing to the head of the institution first is what escalating means, unless said.
                        escalates=bool(item.get("escalates", tuple(item.get("to", ()))[:1] == ("head",))))
        except KeyError as exc:
            raise PolicyError(f"reminders.toml: a step lacks {exc.args[0]!r}") from exc
        if step.kind not in ("mail", "phone"):
            raise PolicyError(f"reminders.toml: step {step.name!r} has unknown kind {step.kind!r}")
        if step.kind == "mail" and (not step.template or not step.to):
            raise PolicyError(f"reminders.toml: mail step {step.name!r} needs a template and 'to' roles")
        unknown = (set(step.to) | set(step.cc)) - set(CONTACT_ROLES)
        if unknown:
            raise PolicyError(f"reminders.toml: step {step.name!r} names unknown roles {sorted(unknown)}")
        steps.append(step)
    if not steps:
        raise PolicyError("reminders.toml: no steps")
    if [s.offset_days for s in steps] != sorted(s.offset_days for s in steps):
        raise PolicyError("reminders.toml: steps must be in the order of their offsets")
    if len({s.name for s in steps}) != len(steps):
        raise PolicyError("reminders.toml: step names must be unique")
    return Policy(steps=tuple(steps), accept_late_days=int(data.get("accept_late_days", 21)))


def next_working_day(day: dt.date, is_holiday: IsHoliday) -> dt.date:
    """``day`` itself, or the next day that is neither a weekend nor a public holiday."""
    while day.weekday() >= 5 or is_holiday(day):
        day += dt.timedelta(days=1)
    return day


def previous_working_day(day: dt.date, is_holiday: IsHoliday) -> dt.date:
    """``day`` itself, or the last day before it that is neither a weekend nor a public holiday."""
    while day.weekday() >= 5 or is_holiday(day):
        day -= dt.timedelta(days=1)
    return day


def step_date(deadline: dt.date, step: Step, is_holiday: IsHoliday) -> dt.date:
    return next_working_day(deadline + dt.timedelta(days=step.offset_days), is_holiday)


MIN_DAYS_TO_ANSWER = 3  # a mail after the deadline never asks for an answer sooner than this


def answer_by(deadline: dt.date, step_name: str, sent_on: dt.date, policy: Policy, is_holiday: IsHoliday) -> dt.date:
    """The date a step's mail asks the institution to answer by.

    Until the deadline has passed, the deadline. After it, the working day before the ladder's next step
    (so staff call only after that date has passed), but at least MIN_DAYS_TO_ANSWER days ahead, and never
    after the last working day on which returns are still accepted.
    """
    if sent_on <= deadline:
        return deadline
    last_open = max(previous_working_day(deadline + dt.timedelta(days=policy.accept_late_days), is_holiday),
                    sent_on)
    index = policy.index(step_name)
    following = policy.steps[index + 1:] if index >= 0 else ()
    wanted = (previous_working_day(step_date(deadline, following[0], is_holiday) - dt.timedelta(days=1), is_holiday)
              if following else last_open)
    wanted = max(wanted, next_working_day(sent_on + dt.timedelta(days=MIN_DAYS_TO_ANSWER), is_holiday))
    return min(wanted, last_open)


def due_steps(requests: Iterable[LadderState], policy: Policy, today: dt.date, is_holiday: IsHoliday) -> list[DueStep]:
    """The step to carry out today for each institution, if any.

    A step is due once its (working-day) date has come and no later step was carried out. After a gap
    only the highest due step is returned: institutions get one message, not a burst of missed ones.
    Nothing for institutions that answered. A mail step with nobody reachable becomes a phone task.
    """
    plan: list[DueStep] = []
    for state in requests:
        if state.answered:
            continue
        done = policy.index(state.last_step)
        due = [i for i, step in enumerate(policy.steps)
               if i > done and step_date(state.deadline, step, is_holiday) <= today]
        if not due:
            continue
        step = policy.steps[max(due)]
        due_on = step_date(state.deadline, step, is_holiday)
        if step.kind == "phone":
            plan.append(DueStep(state.request_id, state.institution_code, step, due_on, "phone"))
            continue
        to = next((role for role in step.to if role in state.reachable_roles), None)
        if to is None:
            plan.append(DueStep(state.request_id, state.institution_code, step, due_on, "phone",
                                reason="keine erreichbare Ansprechperson"))
        else:
            plan.append(DueStep(state.request_id, state.institution_code, step, due_on, "mail", to_roles=(to,)))
    return plan
