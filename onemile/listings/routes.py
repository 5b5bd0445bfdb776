"""Listing routes: thin wrappers around listings.services."""

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..auth.access import verified_required
from ..conversations.exchange import listing_exchange
from ..extensions import limiter
from ..geo import haversine_m
from ..images import accepts_uploads
from ..models import MAX_LISTING_PHOTOS, ListingKind, utcnow
from ..models.protection import list_viewer_id
from ..organisations.acting import current_actor
from ..privacy import distance_band, picker_start
from ..replicas import read_only
from ..web import flash_refusal, form_status, page_or_fragment, see_other, submitted
from . import bp, services, sharing
from .forms import FilterForm, ListingForm
from .photos import PhotoChange
from .placement import meeting_point_of


@bp.get("/")
@read_only
@login_required
def index():
    """What is open in my mile, with filters; htmx swaps the results only."""
    form = FilterForm(request.args)
    form.validate()
    mile = current_user.mile_or_primary(request.args.get("mile", type=int))
    before = services.ListCursor.parse(request.args.get("before"))
    filters = services.SearchFilters(
        kind=form.kind.data or None, category=form.category.data or None, words=form.q.data or None
    )
    found, next_page = services.search_mile(mile.center_latlon, filters, before, viewer_id=list_viewer_id(current_user))
    return page_or_fragment(
        "listings/index.html",
        "results",
        form=form,
        mile=mile,
        found=found,
        first_page=before is None,
        next_page=next_page,
    )


@bp.get("/mine")
@login_required
def mine():
    """All my listings, whatever their state."""
    return render_template("listings/mine.html", listings=services.my_listings(current_actor), now=utcnow())


def _form_data(form: ListingForm) -> services.ListingData:
    return services.ListingData(
        kind=form.kind.data,
        offer_type=form.offer_type.data or None,
        category=form.category.data,
        title=form.title.data or "",
        body=form.body.data or "",
        mile_ids=tuple(form.miles.data or ()),
        location_mode=form.location_mode.data,
        meeting_point=form.meeting_point(),
        # A file input left empty still sends one part, without a name.
        new_photos=tuple(upload for upload in form.photos.data or () if upload and upload.filename),
        photo_changes=tuple(
            PhotoChange(entry.photo_id.data, entry.position.data, entry.remove.data) for entry in form.existing_photos
        ),
    )


def _mile_choices(form: ListingForm) -> None:
    form.miles.choices = [SelectChoice(mile.id, mile.name) for mile in current_actor.miles]


def _saved(form: ListingForm, action):
    """The listing `action` made from the form's data, or None (nothing sent, or refused:
    the refusal is on the form)."""
    _mile_choices(form)
    return submitted(form, lambda: action(_form_data(form)))


def _form_page(form: ListingForm, listing=None):
    """The listing form, shown or sent back with what was typed and its errors."""
    return render_template(
        "listings/form.html", form=form, map_center=picker_start(current_actor), listing=listing,
        max_photos=MAX_LISTING_PHOTOS,
    ), form_status()


@bp.route("/new", methods=["GET", "POST"])
@accepts_uploads(MAX_LISTING_PHOTOS)
@verified_required
@limiter.limit("20 per hour; 60 per day", methods=["POST"])
def new():
    """Post a request or an offer."""
    form = ListingForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") if request.args.get("kind") in (ListingKind.REQUEST, ListingKind.OFFER) else ListingKind.REQUEST
        form.miles.data = [current_actor.primary_mile.id]
    listing = _saved(
        form, lambda data: services.create_listing(current_actor, data, client_key=form.client_key.data)
    )
    if listing is None:
        return _form_page(form)
    flash(_("Your listing is online."), "success")
    # When neighbours learn of it, never how many: a count that changes with the ad's point
    # would tell where other members' miles are (and, where only one lives, their home).
    flash(_("Neighbours who asked for alerts are told now, or after their quiet hours, or in their "
            "digest, as each of them chose."), "info")
    return see_other("listings.detail", listing_id=listing.id)


@bp.route("/<int:listing_id>/edit", methods=["GET", "POST"])
@accepts_uploads(MAX_LISTING_PHOTOS)
@login_required
def edit(listing_id: int):
    """Edit one of my listings."""
    listing = services.own_listing(current_actor, listing_id)
    form = ListingForm(obj=listing if request.method == "GET" else None)
    if request.method == "GET":
        form.miles.data = [placement.mile_id for placement in listing.placements]
        meeting = meeting_point_of(listing)
        if meeting is not None:
            form.latitude.data, form.longitude.data = str(meeting.lat), str(meeting.lon)
        for place, photo in enumerate(listing.photos, start=1):
            form.existing_photos.append_entry({"photo_id": photo.id, "position": place})
    saved = _saved(form, lambda data: services.update_listing(current_actor, listing_id, data))
    if saved is None:
        return _form_page(form, listing)
    return see_other("listings.detail", listing_id=saved.id)


@bp.get("/<int:listing_id>")
@read_only
@login_required
def detail(listing_id: int):
    """A listing's page, with the conversations under the ad."""
    listing = services.visible_listing(current_actor, listing_id)
    here = current_actor.primary_mile.center_latlon
    distance = min(haversine_m(here, placement.latlon) for placement in listing.placements) if listing.placements else None
    return render_template(
        "listings/detail.html",
        listing=listing,
        now=utcnow(),
        distance=distance_band(distance) if distance is not None else None,
        exchange=listing_exchange(listing),
        share_url=_share_url(listing),
    )


def _share_url(listing) -> str | None:
    """The public link of a shared ad (None when it is not shared)."""
    if listing.share_token is None:
        return None
    return url_for("listings.shared", token=listing.share_token, _external=True)


@bp.post("/<int:listing_id>/sharing")
@login_required
def sharing_toggle(listing_id: int):
    """Share one of my ads outside 1Mile, or stop sharing it (its public page is gone)."""
    shared = request.form.get("share") == "on"
    message = _("Anyone with the link can now read this ad.") if shared else _("This ad is no longer shared.")
    flash_refusal(lambda: sharing.set_sharing(current_actor, listing_id, shared), message)
    return see_other("listings.detail", listing_id=listing_id, _anchor="share")


@bp.get("/shared/<token>")
def shared(token: str):
    """The public page of a shared ad: visitors too; 410 once it is no longer open."""
    found = sharing.shared_ad(current_user, token)
    listing = found.listing
    return render_template(
        "listings/shared.html",
        listing=listing,
        available=found.available,
        area=sharing.public_area(listing) if found.available else None,
        share_url=url_for("listings.shared", token=token, _external=True),
    ), (200 if found.available else 410)


def _author_action(listing_id: int, action, message: str, done_endpoint: str | None = None):
    """Close, renew or delete one of my listings, then open `done_endpoint` (the listing's
    page unless told); a refusal is flashed on the listing's page."""
    if flash_refusal(lambda: action(current_actor, listing_id), message) and done_endpoint:
        return see_other(done_endpoint)
    return see_other("listings.detail", listing_id=listing_id)


@bp.post("/<int:listing_id>/close")
@login_required
def close(listing_id: int):
    """Close one of my listings."""
    return _author_action(listing_id, services.close_listing, _("The listing is closed."))


@bp.post("/<int:listing_id>/renew")
@login_required
def renew(listing_id: int):
    """Open one of my listings again for a full lifetime."""
    return _author_action(listing_id, services.renew_listing, _("The listing is open again."))


@bp.post("/<int:listing_id>/delete")
@login_required
def delete(listing_id: int):
    """Delete one of my listings."""
    return _author_action(listing_id, services.delete_listing, _("The listing is deleted."), "listings.mine")
