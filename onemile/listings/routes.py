"""Listing routes: thin wrappers around listings.services."""

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..auth.access import verified_required
from ..conversations.exchange import listing_exchange
from ..extensions import limiter
from ..geo import haversine_m
from ..models import ListingKind, utcnow
from ..privacy import distance_band
from ..replicas import read_only
from ..web import flash_refusal, form_status, page_or_fragment, see_other, submitted
from . import bp, services
from .forms import FilterForm, ListingForm
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
    found, next_page = services.search_mile(mile.center_latlon, filters, before, viewer_id=current_user.id)
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
    return render_template("listings/mine.html", listings=services.my_listings(current_user), now=utcnow())


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
    )


def _mile_choices(form: ListingForm) -> None:
    form.miles.choices = [SelectChoice(mile.id, mile.name) for mile in current_user.miles]


def _saved(form: ListingForm, action):
    """The listing `action` made from the form's data, or None (nothing sent, or refused:
    the refusal is on the form)."""
    _mile_choices(form)
    return submitted(form, lambda: action(_form_data(form)))


def _form_page(form: ListingForm, listing=None):
    """The listing form, shown or sent back with what was typed and its errors."""
    return render_template(
        "listings/form.html", form=form, map_center=current_user.primary_mile.center_latlon, listing=listing
    ), form_status()


@bp.route("/new", methods=["GET", "POST"])
@verified_required
@limiter.limit("20 per hour; 60 per day", methods=["POST"])
def new():
    """Post a request or an offer."""
    form = ListingForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") if request.args.get("kind") in (ListingKind.REQUEST, ListingKind.OFFER) else ListingKind.REQUEST
        form.miles.data = [current_user.primary_mile.id]
    listing = _saved(
        form, lambda data: services.create_listing(current_user, data, client_key=request.form.get("client_key"))
    )
    if listing is None:
        return _form_page(form)
    flash(_("Your listing is online."), "success")
    return see_other("listings.detail", listing_id=listing.id)


@bp.route("/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit(listing_id: int):
    """Edit one of my listings."""
    listing = services.own_listing(current_user, listing_id)
    form = ListingForm(obj=listing if request.method == "GET" else None)
    if request.method == "GET":
        form.miles.data = [placement.mile_id for placement in listing.placements]
        meeting = meeting_point_of(listing)
        if meeting is not None:
            form.latitude.data, form.longitude.data = str(meeting.lat), str(meeting.lon)
    saved = _saved(form, lambda data: services.update_listing(current_user, listing_id, data))
    if saved is None:
        return _form_page(form, listing)
    return see_other("listings.detail", listing_id=saved.id)


@bp.get("/<int:listing_id>")
@read_only
@login_required
def detail(listing_id: int):
    """A listing's page, with the conversations under the ad."""
    listing = services.visible_listing(current_user, listing_id)
    here = current_user.primary_mile.center_latlon
    distance = min(haversine_m(here, placement.latlon) for placement in listing.placements) if listing.placements else None
    return render_template(
        "listings/detail.html",
        listing=listing,
        now=utcnow(),
        distance=distance_band(distance) if distance is not None else None,
        exchange=listing_exchange(listing),
    )


def _author_action(listing_id: int, action, message: str, done_endpoint: str | None = None):
    """Close, renew or delete one of my listings, then open `done_endpoint` (the listing's
    page unless told); a refusal is flashed on the listing's page."""
    if flash_refusal(lambda: action(current_user, listing_id), message) and done_endpoint:
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
