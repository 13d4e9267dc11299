"""What happens in a simulated round, drawn from one seed: who answers how and when, and which faults strike.

The plan is data; the soak test plays it against the real processes and checks the outcome against the model
this module also computes (the reminders each institution must get, the answer that must count).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

OPENED = dt.date(2027, 9, 1)
DEADLINE = dt.date(2027, 10, 15)
LAST = DEADLINE + dt.timedelta(days=21)   # the last day returns are taken (accept_late_days)
FAULTS = ("smtp_down", "smtp_421", "page_killed", "db_restart", "disk_full", "clock_jump")


@dataclass(frozen=True)
class Action:
    day: dt.date
    code: str
    kind: str            # upload | broken | no_changes | mail
    version: int = 0     # which version of its sheet an institution sends (upload, mail)
    fault: str = ""      # page_killed | disk_full: this upload meets the fault first, then goes through


@dataclass(frozen=True)
class Step:
    name: str
    offset_days: int
    mail: bool


@dataclass
class Plan:
    seed: int
    actions: list[Action] = field(default_factory=list)
    fault_days: dict[str, dt.date] = field(default_factory=dict)
    smtp_421_after: int = 1
    kill_fraction: float = 0.5
    run_days: list[dt.date] = field(default_factory=list)   # days the daily run (fko remind) starts

    def actions_on(self, day: dt.date) -> list[Action]:
        return [a for a in self.actions if a.day == day]

    @property
    def days(self) -> list[dt.date]:
        return sorted({a.day for a in self.actions} | set(self.run_days) | set(self.fault_days.values()))

    def final(self, code: str) -> Action | None:
        """The answer that counts: the institution's last one that is taken (a broken file is refused)."""
        taken = [a for a in self.actions if a.code == code and a.kind != "broken"]
        return taken[-1] if taken else None

    def first_answer(self, code: str) -> dt.date | None:
        taken = [a.day for a in self.actions if a.code == code and a.kind != "broken"]
        return min(taken) if taken else None


def working_days(start: dt.date, end: dt.date, is_holiday: Callable[[dt.date], bool]) -> list[dt.date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and not is_holiday(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def make_plan(seed: int, codes: list[str], steps: list[Step], step_dates: dict[str, dt.date],
              is_holiday: Callable[[dt.date], bool], *, every_day: bool) -> Plan:
    """Behaviour per institution (silent, "no changes", uploads with a refused first try, replies by mail), the
    six faults on days drawn from the seed, and the days the daily run starts (every working day, or only the
    days something happens and the steps' dates: the clock jumps)."""
    rng = random.Random(seed)  # noqa: S311  (a replayable test plan, not a secret)
    plan = Plan(seed=seed, smtp_421_after=rng.randint(1, 4), kill_fraction=rng.choice((0.2, 0.4, 0.6, 0.8)))
    days = working_days(OPENED + dt.timedelta(days=1), LAST - dt.timedelta(days=1), is_holiday)
    uploaders: list[str] = []
    for code in codes:
        behaviour = rng.choices(("silent", "no_changes", "upload", "mail"), weights=(2, 2, 5, 2))[0]
        day = rng.choice(days)
        if behaviour == "no_changes":
            plan.actions.append(Action(day, code, "no_changes"))
        elif behaviour in ("upload", "mail"):
            if behaviour == "upload" and rng.random() < 0.3:
                plan.actions.append(Action(day, code, "broken"))
            versions = rng.randint(1, 3 if behaviour == "upload" else 2)
            later = sorted(rng.sample([d for d in days if d >= day], k=min(versions, len([d for d in days
                                                                                          if d >= day]))))
            for number, when in enumerate(later, start=1):
                plan.actions.append(Action(when, code, behaviour, number))
            if behaviour == "upload":
                uploaders.append(code)
    # Faults that strike an upload: an institution that has answered sends one more version, and meets the fault.
    for fault in ("page_killed", "disk_full"):
        code = rng.choice(uploaders) if uploaders else codes[0]
        answered = plan.first_answer(code) or days[0]
        day = rng.choice([d for d in days if d > answered] or [days[-1]])
        version = max([a.version for a in plan.actions if a.code == code] or [0]) + 1
        if not any(a.code == code and a.kind == "upload" for a in plan.actions):
            plan.actions.append(Action(answered, code, "upload", version))
            version += 1
        plan.actions.append(Action(day, code, "upload", version, fault=fault))
        plan.fault_days[fault] = day
    plan.actions.sort(key=lambda a: (a.day, a.code, a.version))
    _renumber(plan)
    mail_steps = [step_dates[s.name] for s in steps if s.mail]
    plan.fault_days["smtp_down"] = rng.choice(mail_steps)
    plan.fault_days["smtp_421"] = rng.choice([d for d in mail_steps if d != plan.fault_days["smtp_down"]])
    # The clock jumps: the machine is off from the day before a step's date over the weekend after it.
    jumped = rng.choice([d for d in mail_steps[1:] if d not in (plan.fault_days["smtp_down"],
                                                                 plan.fault_days["smtp_421"])] or mail_steps[1:])
    plan.fault_days["clock_jump"] = jumped
    off = {jumped - dt.timedelta(days=1) + dt.timedelta(days=i) for i in range(5)}
    plan.fault_days["db_restart"] = rng.choice([d for d in days if d not in mail_steps and d not in off])
    wanted = working_days(OPENED, LAST, is_holiday) if every_day else sorted(
        {OPENED, LAST, *[step_dates[s.name] for s in steps], plan.fault_days["db_restart"]})
    plan.run_days = [d for d in wanted if (d not in off and d.weekday() < 5 and not is_holiday(d)) or d == LAST]
    return plan


def _renumber(plan: Plan) -> None:
    """Versions count up per institution in the order they are sent."""
    seen: dict[str, int] = {}
    actions = []
    for action in plan.actions:
        if action.kind in ("upload", "mail"):
            seen[action.code] = seen.get(action.code, 0) + 1
            action = Action(action.day, action.code, action.kind, seen[action.code], action.fault)
        actions.append(action)
    plan.actions = actions


def expected_reminders(plan: Plan, codes: list[str], steps: list[Step], step_dates: dict[str, dt.date],
                       runs: list[dt.date]) -> dict[str, list[str]]:
    """The ladder as the README states it, played over the days the daily run did run: a step is carried out
    once, on the first run on or after its date while the institution has not answered; after a gap only the
    highest due step. Returns institution → the steps carried out."""
    done: dict[str, list[str]] = {code: [] for code in codes}
    for day in runs:
        for code in codes:
            answered = plan.first_answer(code)
            if answered is not None and answered <= day:
                continue
            last = max((i for i, s in enumerate(steps) if s.name in done[code]), default=-1)
            due = [i for i, s in enumerate(steps) if i > last and step_dates[s.name] <= day]
            if due:
                done[code].append(steps[max(due)].name)
    return done
