"""Mag routes: thin wrappers around mags.services.

Mag pages and published articles are public (visitors read them, social networks fetch
their Open Graph card); following needs an account, and writing or commenting a verified
e-mail address. What each viewer sees (blocks, suspensions, moderation) is decided in services.
"""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..auth.access import verified_required
from ..errors import RuleError
from ..extensions import limiter
from ..geo import Box
from ..images import accepts_uploads
from ..models import ArticleStatus
from ..organisations.acting import current_actor
from ..privacy import distance_band, picker_start, say_if_approximate
from ..replicas import read_only
from ..web import flash_refusal, form_status, see_other, submitted
from . import bp, services
from .forms import PHOTO_SLOTS, ArticleForm, ButtonForm, CommentForm, MagForm
from .labels import MAG_KIND_LABELS
from .markup import plain_excerpt, render_markdown

PUBLISH_LIMIT = "30 per hour; 100 per day"
COMMENT_LIMIT = "20 per 10 minutes; 200 per day"


def _viewer():
    """The member looking, or None for a visitor."""
    return current_actor if current_actor.is_authenticated else None


def _viewer_id() -> int | None:
    return current_actor.id if current_actor.is_authenticated else None


def _upload(file_field):
    """The uploaded file of a field, or None when nothing was chosen."""
    data = file_field.data
    return data if data is not None and getattr(data, "filename", "") else None


def _submitted(form, action):
    """`web.submitted`, with a refusal about the photos shown next to the photo slots (a
    list of file inputs, not one field: the member chooses the photos again)."""

    def run():
        try:
            return action()
        except RuleError as error:
            if error.field != "photos":
                raise
            form.photo_errors = [error.message]
            return None

    return submitted(form, run)


@bp.get("/")
@read_only
@login_required
def index():
    """Mags around me: in one of my miles (the primary by default), or in the map's visible
    area when a box is given; the latest articles of those mags; and my own mags."""
    box = Box.from_args(request.args)  # none sent: the mile's mags
    mile = current_actor.mile_or_primary(request.args.get("mile", type=int))
    if box is not None:
        nearby = [services.NearbyMag(mag, None) for mag in services.mags_in_box(box, current_actor.id)]
    else:
        nearby = services.mags_near(mile.center_latlon, current_actor.id)
    return render_template(
        "mags/index.html",
        mile=mile,
        box=box,
        nearby=nearby,
        articles=services.latest_articles(item.mag.id for item in nearby),
        mine=services.my_mags(current_actor),
        kind_names=MAG_KIND_LABELS,
        distance_band=distance_band,
        excerpt=plain_excerpt,
    )


def _mag_data(form: MagForm) -> services.MagData:
    return services.MagData(
        title=form.title.data or "", about=form.about.data or "", kind=form.kind.data or "",
        point=form.point(), cover_alt=form.cover_alt.data or "", public_place=bool(form.public_place.data),
    )


def _mag_form_page(form: MagForm, mag=None):
    return render_template("mags/mag_form.html", form=form, mag=mag, picker_center=picker_start(current_actor)), form_status()


@bp.route("/new", methods=["GET", "POST"])
@accepts_uploads(1)
@verified_required
@limiter.limit(PUBLISH_LIMIT, methods=["POST"])
def new():
    """Create a mag."""
    # The place starts empty: a private point (the mile's centre) never prefills a public one.
    form = MagForm()
    mag = _submitted(form, lambda: services.create_mag(current_actor, _mag_data(form), _upload(form.cover)))
    if mag is not None:
        flash(_("Your mag is online. Write its first article!"), "success")
        say_if_approximate(form.point(), mag.latlon)
        return see_other("mags.show", mag_id=mag.id)
    return _mag_form_page(form)


@bp.route("/<int:mag_id>/edit", methods=["GET", "POST"])
@accepts_uploads(1)
@verified_required
@limiter.limit(PUBLISH_LIMIT, methods=["POST"])
def edit(mag_id: int):
    """Edit one of my mags."""
    mag = services.own_mag(current_actor, mag_id)
    form = MagForm(obj=mag if request.method == "GET" else None)
    if request.method == "GET":
        form.latitude.data, form.longitude.data = str(mag.latlon.lat), str(mag.latlon.lon)
    saved = _submitted(form, lambda: services.update_mag(
        current_actor, mag_id, _mag_data(form), _upload(form.cover), form.remove_cover.data
    ))
    if saved is not None:
        flash(_("The mag is saved."), "success")
        say_if_approximate(form.point(), saved.latlon)
        return see_other("mags.show", mag_id=mag_id)
    return _mag_form_page(form, mag)


@bp.post("/<int:mag_id>/delete")
@login_required
def delete(mag_id: int):
    """Delete one of my mags with everything in it."""
    services.delete_mag(current_actor, mag_id)
    flash(_("The mag is deleted."), "success")
    return see_other("mags.index")


@bp.get("/<int:mag_id>")
@read_only
def show(mag_id: int):
    """A mag's page: what it is, where, and its articles (drafts for the owner only)."""
    viewer, viewer_id = _viewer(), _viewer_id()
    mag = services.visible_mag(viewer, mag_id)
    return render_template(
        "mags/show.html",
        mag=mag,
        articles=services.mag_articles(mag, viewer),
        is_owner=mag.owner_id == viewer_id,
        following=services.is_following(viewer_id, mag.id),
        followers=services.follower_count(mag.id),
        button_form=ButtonForm(),
        kind_names=MAG_KIND_LABELS,
        excerpt=plain_excerpt,
    )


@bp.post("/<int:mag_id>/follow")
@login_required
def follow(mag_id: int):
    """Follow a mag: its new articles will show in my notifications."""
    flash_refusal(
        lambda: services.follow(current_actor, mag_id),
        _("You follow this mag: you will be told about its new articles."),
    )
    return see_other("mags.show", mag_id=mag_id)


@bp.post("/<int:mag_id>/unfollow")
@login_required
def unfollow(mag_id: int):
    """Stop following a mag."""
    services.unfollow(current_actor, mag_id)
    flash(_("You no longer follow this mag."), "success")
    return see_other("mags.show", mag_id=mag_id)


def _article_data(form: ArticleForm) -> services.ArticleData:
    photos = tuple(
        services.NewPhoto(_upload(slot.form.file), slot.form.alt.data or "")
        for slot in form.new_photos
        if _upload(slot.form.file) is not None
    )
    return services.ArticleData(
        title=form.title.data or "", body=form.body.data or "", publish=form.status.data == ArticleStatus.PUBLISHED,
        photos=photos,
    )


def _article_saved(article, was_published: bool):
    """Say what happened to the article and open it."""
    if article.is_published and not was_published:
        flash(_("The article is published."), "success")
    elif article.is_published:
        flash(_("The article is saved."), "success")
    else:
        flash(_("The draft is saved. Only you can see it."), "success")
    return see_other("mags.article", mag_id=article.mag_id, article_id=article.id)


@bp.route("/<int:mag_id>/articles/new", methods=["GET", "POST"])
@accepts_uploads(PHOTO_SLOTS)
@verified_required
@limiter.limit(PUBLISH_LIMIT, methods=["POST"])
def new_article(mag_id: int):
    """Write an article in one of my mags."""
    mag = services.own_mag(current_actor, mag_id)
    form = ArticleForm()
    article = _submitted(form, lambda: services.create_article(current_actor, mag_id, _article_data(form)))
    if article is not None:
        return _article_saved(article, False)
    return render_template("mags/article_form.html", form=form, mag=mag, article=None), form_status()


@bp.route("/<int:mag_id>/articles/<int:article_id>/edit", methods=["GET", "POST"])
@accepts_uploads(PHOTO_SLOTS)
@verified_required
@limiter.limit(PUBLISH_LIMIT, methods=["POST"])
def edit_article(mag_id: int, article_id: int):
    """Edit one of my articles: text, new photos, published or draft."""
    article = services.own_article(current_actor, article_id)
    if article.mag_id != mag_id:
        abort(404)
    was_published = article.is_published
    form = ArticleForm(obj=article if request.method == "GET" else None)
    saved = _submitted(form, lambda: services.update_article(current_actor, article_id, _article_data(form)))
    if saved is not None:
        return _article_saved(saved, was_published)
    # A refused save rolled back: read the article again for the page.
    article = services.own_article(current_actor, article_id)
    return render_template(
        "mags/article_form.html", form=form, mag=article.mag, article=article, button_form=ButtonForm()
    ), form_status()


@bp.post("/<int:mag_id>/articles/<int:article_id>/delete")
@login_required
def delete_article(mag_id: int, article_id: int):
    """Delete one of my articles."""
    mag = services.delete_article(current_actor, article_id)
    flash(_("The article is deleted."), "success")
    return see_other("mags.show", mag_id=mag.id)


@bp.post("/photos/<int:photo_id>/delete")
@login_required
def delete_photo(photo_id: int):
    """Remove a photo from one of my articles."""
    article = services.remove_photo(current_actor, photo_id)
    flash(_("The photo is removed."), "success")
    return see_other("mags.edit_article", mag_id=article.mag_id, article_id=article.id)


def _article_page(article, comment_form: CommentForm, status: int = 200):
    mag = article.mag
    viewer, viewer_id = _viewer(), _viewer_id()
    return render_template(
        "mags/article.html",
        article=article,
        mag=mag,
        body=render_markdown(article.body),
        description=plain_excerpt(article.body),
        share_url=url_for("mags.article", mag_id=mag.id, article_id=article.id, _external=True),
        is_owner=mag.owner_id == viewer_id,
        # Visitors see how many comments there are, not who wrote them: members' names stay
        # among members.
        comments=services.visible_comments(article, viewer) if viewer_id else [],
        comment_total=services.comment_count(article.id, viewer_id),
        can_delete=lambda comment: services.can_delete_comment(viewer_id, comment, mag),
        comment_form=comment_form,
        button_form=ButtonForm(),
        kind_names=MAG_KIND_LABELS,
    ), status


@bp.get("/<int:mag_id>/articles/<int:article_id>")
@read_only
def article(mag_id: int, article_id: int):
    """An article's page: its public, shareable URL (drafts answer 404 to all but the owner)."""
    return _article_page(services.readable_article(_viewer(), mag_id, article_id), CommentForm())


@bp.post("/<int:mag_id>/articles/<int:article_id>/comments")
@verified_required
@limiter.limit(COMMENT_LIMIT)
def comment(mag_id: int, article_id: int):
    """Comment an article."""
    form = CommentForm()
    if _submitted(form, lambda: services.add_comment(current_actor, mag_id, article_id, form.body.data or "")):
        flash(_("Your comment is online."), "success")
        return see_other("mags.article", mag_id=mag_id, article_id=article_id, _anchor="comments")
    article = services.readable_article(current_actor, mag_id, article_id)
    return _article_page(article, form, status=422)


@bp.post("/comments/<int:comment_id>/delete")
@login_required
def delete_comment(comment_id: int):
    """Delete my comment, or a comment under one of my mags."""
    article = services.delete_comment(current_actor, comment_id)
    flash(_("The comment is deleted."), "success")
    return see_other("mags.article", mag_id=article.mag_id, article_id=article.id, _anchor="comments")
