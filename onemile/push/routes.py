"""Push routes: the page script registers or removes this device's subscription."""

from flask import make_response
from flask_login import current_user, login_required

from ..extensions import csrf, limiter
from ..web import submitted
from . import bp, services
from .forms import RenewalForm, SubscriptionForm, UnsubscribeForm


def _answer(ok: bool):
    # Spoken to a script, not shown: 204 when done, 422 when refused.
    response = make_response("", 204 if ok else 422)
    del response.headers["Content-Type"]
    return response


@bp.post("/subscriptions")
@login_required
@limiter.limit("20 per hour")
def subscribe():
    """Turn notifications on for this device."""
    form = SubscriptionForm()
    return _answer(bool(submitted(form, lambda: services.subscribe(
        current_user, form.endpoint.data, form.p256dh.data, form.auth.data))))


@bp.post("/subscriptions/delete")
@login_required
def unsubscribe():
    """Turn notifications off for this device."""
    form = UnsubscribeForm()
    return _answer(bool(submitted(form, lambda: services.unsubscribe(current_user, form.endpoint.data) or True)))


@bp.post("/subscriptions/renew")
@csrf.exempt  # posted by the service worker; the old subscription's secret is the proof
@limiter.limit("20 per hour")
def renew():
    """The browser replaced this device's subscription: keep pushing to it."""
    form = RenewalForm()
    return _answer(bool(submitted(form, lambda: services.renew(
        form.old_endpoint.data, form.old_auth.data, form.endpoint.data, form.p256dh.data, form.auth.data))))
