"""Project limits, what the forms collect and how it is checked (no database)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from ...errors import RuleError
from ...geo import LatLon
from ...smiles.amounts import FORM_KEY, checked_key, smiles_count

TITLE_MAX = 120
SUMMARY_MAX = 300
DESCRIPTION_MAX = 10_000
TASK_TITLE_MAX = 120
SKILL_MAX = 80
MAX_TASKS = 10
# A local project asks for at most a million euros; a pledge is at most 100,000 €.
TARGET_MAX_EUROS = 1_000_000
PLEDGE_MAX_CENTS = 100_000 * 100
MESSAGE_MAX = 500
UPDATE_MAX = 5000
REASON_MAX = 1000
# Smiles are earned one service at a time: a single gift above this is surely a typo.
SMILES_GIFT_MAX = 100
PAGE_SIZE = 20
SUBMISSION_KEY = FORM_KEY


class SupportClosed(RuleError):
    """The project is not open to support (waiting, rejected or closed)."""


@dataclass(frozen=True)
class TaskData:
    """One task of the form: what to do and the skill it needs."""

    title: str
    skill: str


@dataclass(frozen=True)
class ProjectData:
    """What the project form collected."""

    title: str
    summary: str
    description: str
    point: LatLon
    money_target: str | None  # as typed: parsed here so the message is the same everywhere
    tasks: tuple[TaskData, ...] = ()
    charter_accepted: bool = False
    photo: str | None = None  # a name from onemile.images.store_image
    remove_photo: bool = False
    public_place: bool = False  # the author says the point is a public place: shown exactly


# --- Proposing and editing -----------------------------------------------------------------


def parse_euros(text: str | None, field_name: str, max_cents: int, whole: bool = False) -> int | None:
    """Euros as typed ("12", "12,50", "1 200.5 €") -> cents; None when empty.

    Raises RuleError with a message for the field: not a number, zero or less, more than
    two decimals (or any, when `whole`), or more than max_cents.
    """
    cleaned = (text or "").strip().replace("€", "").replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if not cleaned:
        return None
    if len(cleaned) > 20 or not re.fullmatch(r"[0-9]+(?:[.,][0-9]+)?", cleaned):
        raise RuleError(_("Type an amount in euros, for example 20 or 12,50."), field_name)
    try:
        amount = Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        raise RuleError(_("Type an amount in euros, for example 20 or 12,50."), field_name) from None
    if amount <= 0:
        raise RuleError(_("The amount must be above zero."), field_name)
    if whole and amount != amount.to_integral_value():
        raise RuleError(_("Give a whole number of euros."), field_name)
    if amount * 100 != (amount * 100).to_integral_value():
        raise RuleError(_("Give the amount in euros and cents, at most two decimals."), field_name)
    cents = int(amount * 100)
    if cents > max_cents:
        raise RuleError(_("The amount cannot be above %(max)s €.", max=f"{max_cents // 100:,}".replace(",", " ")), field_name)
    return cents


def _checked(data: ProjectData) -> tuple[dict, list[TaskData], int | None]:
    if not data.charter_accepted:
        raise RuleError(_("Please accept the charter: the project is non-profit and of general interest."), "charter")
    title = " ".join(data.title.split())
    summary = " ".join(data.summary.split())
    description = data.description.strip()
    if not title or len(title) > TITLE_MAX:
        raise RuleError(_("Give a title of 1 to %(n)d characters.", n=TITLE_MAX), "title")
    if not summary or len(summary) > SUMMARY_MAX:
        raise RuleError(_("Write a summary of 1 to %(n)d characters.", n=SUMMARY_MAX), "summary")
    if not description or len(description) > DESCRIPTION_MAX:
        raise RuleError(_("Write a description of 1 to %(n)d characters.", n=DESCRIPTION_MAX), "description")
    if data.point is None:
        raise RuleError(_("Place the project on the map."), "latitude")
    target = parse_euros(data.money_target, "money_target", TARGET_MAX_EUROS * 100, whole=True)
    tasks = []
    for task in data.tasks:
        task_title, skill = " ".join(task.title.split()), " ".join(task.skill.split())
        if not task_title and not skill:
            continue  # an empty row of the form
        if not task_title or not skill:
            raise RuleError(_("Each task needs both what to do and the skill it takes."), "tasks")
        if len(task_title) > TASK_TITLE_MAX or len(skill) > SKILL_MAX:
            raise RuleError(
                _("A task is at most %(t)d characters, a skill at most %(s)d.", t=TASK_TITLE_MAX, s=SKILL_MAX), "tasks"
            )
        tasks.append(TaskData(task_title, skill))
    if len(tasks) > MAX_TASKS:
        raise RuleError(_("At most %(n)d tasks.", n=MAX_TASKS), "tasks")
    fields = {"title": title, "summary": summary, "description": description, "point": data.point.wkt()}
    return fields, tasks, (target // 100 if target is not None else None)


def _checked_key(key: str | None) -> str:
    return checked_key(key)


def _smiles_count(amount) -> int:
    return smiles_count(amount, SMILES_GIFT_MAX)
