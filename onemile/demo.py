"""Demo data: a lively neighbourhood around Mulhouse, the first 1Mile community.

``load_demo()`` fills an empty database with what each feature registered for the demo
(`register_demo`, called from the feature's ``setup(app)``): the people and their miles
(auth), their ads (listings), conversations and finished services (conversations),
projects, mags… The text lives in ``onemile/demo_data/*.toml``. Every step goes through the
feature's real services, so validation, primary miles and the shifted public points are
exactly those of the app. A fixed seed (``random.Random(1609)``) makes every run give the same
members, places and ads; only dates are relative to the moment of loading. This module names
no feature.

Run it with ``flask setup`` (migrations, then the demo on an empty database) or
``flask demo load``. It refuses to run when the database already has members.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, has_request_context
from sqlalchemy import func, select

from .extensions import db
from .models import Member, utcnow
from .unit_of_work import job_step

SEED = 1609


@dataclass
class Story:
    """What the demo's steps share: one seeded random (the steps draw from it in order, so
    every run tells the same story), the moment of loading, and the members by key."""

    rng: random.Random
    now: datetime
    members: dict[str, Member] = field(default_factory=dict)


@dataclass(frozen=True)
class _Step:
    order: int
    name: str
    run: Callable[[Story], dict]


_STEPS: dict[str, _Step] = {}


def register_demo(name: str, step: Callable[[Story], dict], order: int) -> None:
    """A feature's part of the demo: `step(story)` adds its rows through the feature's own
    services (adding and flushing) and returns what it made, as counts by name. Steps run by
    `order`: the people first (they fill `story.members`), then what they post and do."""
    _STEPS[name] = _Step(order, name, step)


def load_demo() -> dict:
    """Fill an empty database with the Mulhouse demo neighbourhood; return what was made.

    Works with or without a request context (the services translate their messages, and
    Babel's locale selector reads the request). Raises RuntimeError when members already exist.
    """
    if has_request_context():
        return _load()
    with current_app.test_request_context():
        return _load()


def _load() -> dict:
    if db.session.scalar(select(func.count()).select_from(Member)):
        raise RuntimeError(
            "The database already has members: demo data is only loaded into an empty database."
        )
    story = Story(random.Random(SEED), utcnow().replace(second=0, microsecond=0))
    made: dict = {}
    # Demo addresses are not real: the people step turns their notification e-mails off, and
    # e-mails are decided when their transaction commits. So the whole demo is one step that
    # commits while they are off; then they are turned back on (the command's edge commits).
    with job_step():
        for step in sorted(_STEPS.values(), key=lambda step: step.order):
            made.update(step.run(story))
    for member in story.members.values():
        member.email_notifications = True
    db.session.flush()
    return made
