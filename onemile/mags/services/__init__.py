"""Mag rules and queries: create and edit mags, write and publish articles with photos,
comment, follow, list what is around, and the `mags` map layer.

Authorization lives here: every write takes the acting member and refuses (NotFoundError,
a 404 that does not tell whether the thing exists) what is not theirs. Writing (a mag, an
article, a comment) needs a verified e-mail address (auth.gate.require_verified).

Trust and safety (issue #6) apply to mags as to ads. What a member sees of mags, articles
and comments excludes: what a moderator hid (`hidden_at`), what a suspended member wrote
(checked at query time, so reinstating brings it all back), and, for a member, what comes
from someone they blocked or who blocked them. Moderators see hidden pages, to judge them. Pictures are stored
before the database rows that name them; if anything then fails, the pictures are removed
and the transaction rolled back, so a refused save leaves neither rows nor files.
"""

from __future__ import annotations

from .reads import (
    ABOUT_MAX,
    ALT_MAX,
    BODY_MAX,
    COMMENT_MAX,
    LATEST_ARTICLES,
    LIST_LIMIT,
    TITLE_MAX,
    ArticleData,
    MagData,
    NearbyMag,
    NewPhoto,
    can_delete_comment,
    comment_count,
    export_of,
    follower_count,
    get_mag,
    is_following,
    latest_articles,
    mag_articles,
    mag_markers,
    mags_in_box,
    mags_near,
    my_mags,
    own_article,
    own_mag,
    readable_article,
    visible_comments,
    visible_mag,
)
from .writes import (
    add_comment,
    create_article,
    create_mag,
    delete_article,
    delete_comment,
    delete_mag,
    follow,
    forget_member,
    remove_photo,
    unfollow,
    update_article,
    update_mag,
)

__all__ = [
    "ABOUT_MAX",
    "ALT_MAX",
    "BODY_MAX",
    "COMMENT_MAX",
    "LATEST_ARTICLES",
    "LIST_LIMIT",
    "TITLE_MAX",
    "ArticleData",
    "MagData",
    "NearbyMag",
    "NewPhoto",
    "add_comment",
    "can_delete_comment",
    "comment_count",
    "create_article",
    "create_mag",
    "delete_article",
    "delete_comment",
    "delete_mag",
    "export_of",
    "follow",
    "follower_count",
    "forget_member",
    "get_mag",
    "is_following",
    "latest_articles",
    "mag_articles",
    "mag_markers",
    "mags_in_box",
    "mags_near",
    "my_mags",
    "own_article",
    "own_mag",
    "readable_article",
    "remove_photo",
    "unfollow",
    "update_article",
    "update_mag",
    "visible_comments",
    "visible_mag",
]
