"""Demo projects for the Mulhouse neighbourhood (called from onemile.demo).

Five approved projects of associations and shops (a community garden, a repair café, a
book box, a solidarity fridge, a mural), supported with pledges, smiles and volunteers,
with news; and one project waiting for the demo account, which is a moderator. Everything
goes through projects.services, so the rules and the ledger are the app's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..demo import Story
from ..demo_data import read
from ..extensions import db
from ..geo import LatLon
from ..models import Member, Project, ProjectStatus, VolunteerStatus
from ..smiles.services import balance_of
from . import services

DEMO_EMAIL = "demo@1mile.local"


@dataclass(frozen=True)
class DemoProject:
    """One demo project: its owner's key, what it is, where, and what it needs."""

    owner: str
    title: str
    summary: str
    description: str
    at: tuple[float, float]
    target: int | None
    tasks: tuple[tuple[str, str], ...]
    days_ago: int


_DATA = read("projects")


def _project(spec: dict) -> DemoProject:
    return DemoProject(
        spec["owner"], spec["title"], spec["summary"], spec["description"], tuple(spec["at"]),
        spec.get("target"), tuple(tuple(task) for task in spec["tasks"]), spec["days_ago"],
    )


PROJECTS: tuple[DemoProject, ...] = tuple(_project(spec) for spec in _DATA["projects"])
PENDING = _project(_DATA["pending"])  # waits for a moderator
# (project index, supporter key, euros, message, received)
PLEDGES = tuple((p["project"], p["member"], p["euros"], p.get("message"), p["received"]) for p in _DATA["pledges"])
# (project index, supporter key, smiles)
SMILES = tuple(tuple(smiles) for smiles in _DATA["smiles"])
# (project index, task index, volunteer key, message, accepted)
VOLUNTEERS = tuple(
    (v["project"], v["task"], v["member"], v["message"], v.get("accepted")) for v in _DATA["volunteers"]
)

UPDATES = tuple((update["project"], update["text"]) for update in _DATA["updates"])


def load_projects(story: Story) -> dict:
    """Make the demo account a moderator and create the demo projects and their support."""
    members, now = story.members, story.now
    demo = next(member for member in members.values() if member.email == DEMO_EMAIL)
    demo.is_moderator = True
    db.session.flush()
    projects = [_propose(members[spec.owner], spec) for spec in PROJECTS]
    for project, spec in zip(projects, PROJECTS, strict=True):
        services.approve(demo, project.id)
        project.created_at = project.updated_at = now - timedelta(days=spec.days_ago)
        project.moderated_at = project.created_at + timedelta(hours=5)
    for index, key, euros, message, received in PLEDGES:
        promise = services.pledge(members[key], projects[index].id, euros, message)
        if received:
            services.mark_pledge_received(projects[index].owner, projects[index].id, promise.id)
    for index, key, count in SMILES:
        if _balance(members[key].id) >= count:
            services.give_smiles(members[key], projects[index].id, count, f"demo-smiles-{index}-{key}")
    for index, task_index, key, message, accepted in VOLUNTEERS:
        project = projects[index]
        offer = services.volunteer(members[key], project.id, project.tasks[task_index].id, message)
        if accepted is not None:
            services.answer_volunteer(project.owner, project.id, offer.id, accepted)
    # The garden thanks its carpenter with one of the smiles it received.
    garden = projects[0]
    carpenter = next(v for v in garden.tasks[0].volunteers if v.status == VolunteerStatus.ACCEPTED)
    if services.project_account(garden).balance >= 1:
        services.pass_smiles(garden.owner, garden.id, carpenter.id, 1, "demo-pass-garden-carpenter")
    for index, body in UPDATES:
        services.post_update(projects[index].owner, projects[index].id, body)
    pending = _propose(members[PENDING.owner], PENDING)
    return {"projects": len(projects) + 1, "projects_pending": 1 if pending.status == ProjectStatus.PENDING else 0}


def _propose(owner: Member, spec: DemoProject) -> Project:
    return services.propose(
        owner,
        services.ProjectData(
            title=spec.title,
            summary=spec.summary,
            description=spec.description,
            point=LatLon(*spec.at),
            money_target=str(spec.target) if spec.target else None,
            tasks=tuple(services.TaskData(title, skill) for title, skill in spec.tasks),
            charter_accepted=True,
            public_place=True,  # every demo project meets at a garden, a hall or a square
        ),
    )


def _balance(member_id: int) -> int:
    return balance_of(member_id)
