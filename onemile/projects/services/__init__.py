"""Project rules: propose, moderate, support (money pledges, smiles, skills), follow, close.

Who may see what is decided by the one trust rule (models.protection), never in the
routes: pending and rejected projects exist only for their owner and the moderators;
everyone else gets NotFoundError, exactly as for a project that does not exist.

The trust rules of the rest of 1Mile hold here too: acting (proposing, supporting) takes a
verified e-mail address; two members who blocked one another, either way, stop seeing each
other's projects; a suspended member's projects and a project a moderator hid are gone for
everyone but the moderators (the suspension is read live, so reinstating brings them back).
"""

from __future__ import annotations

from .reads import (
    FoundProject,
    Progress,
    export_for,
    map_markers,
    moderation_queue,
    my_projects,
    own_project,
    progress,
    projects_in_box,
    projects_near,
    supporter_ids,
    viewer_volunteering,
    visible_project,
)
from .rules import (
    DESCRIPTION_MAX,
    MAX_TASKS,
    MESSAGE_MAX,
    PAGE_SIZE,
    PLEDGE_MAX_CENTS,
    REASON_MAX,
    SKILL_MAX,
    SMILES_GIFT_MAX,
    SUBMISSION_KEY,
    SUMMARY_MAX,
    TARGET_MAX_EUROS,
    TASK_TITLE_MAX,
    TITLE_MAX,
    UPDATE_MAX,
    ProjectData,
    SupportClosed,
    TaskData,
    parse_euros,
)
from .writes import (
    answer_volunteer,
    approve,
    close_project,
    forget_member,
    give_smiles,
    mark_pledge_received,
    pass_smiles,
    pledge,
    post_update,
    project_account,
    propose,
    reject,
    update_project,
    volunteer,
)

__all__ = [
    "DESCRIPTION_MAX",
    "MAX_TASKS",
    "MESSAGE_MAX",
    "PAGE_SIZE",
    "PLEDGE_MAX_CENTS",
    "REASON_MAX",
    "SKILL_MAX",
    "SMILES_GIFT_MAX",
    "SUBMISSION_KEY",
    "SUMMARY_MAX",
    "TARGET_MAX_EUROS",
    "TASK_TITLE_MAX",
    "TITLE_MAX",
    "UPDATE_MAX",
    "FoundProject",
    "Progress",
    "ProjectData",
    "SupportClosed",
    "TaskData",
    "answer_volunteer",
    "approve",
    "close_project",
    "export_for",
    "forget_member",
    "give_smiles",
    "map_markers",
    "mark_pledge_received",
    "moderation_queue",
    "my_projects",
    "own_project",
    "parse_euros",
    "pass_smiles",
    "pledge",
    "post_update",
    "progress",
    "project_account",
    "projects_in_box",
    "projects_near",
    "propose",
    "reject",
    "supporter_ids",
    "update_project",
    "viewer_volunteering",
    "visible_project",
    "volunteer",
]
