"""Notification routes: thin wrappers around notifications.services."""

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..htmx import page_or_fragment, vary_on_htmx, wants_fragment
from ..web import see_other
from . import bp, services
from .forms import EmailSettingsForm, MarkAllReadForm

# htmx stops polling when it gets this status (a member who logged out in another tab).
STOP_POLLING = 286


def _link_for(notification) -> str:
    """Where a notification leads, as its kind says."""
    endpoint, values = services.link_for(notification)
    return url_for(endpoint, **values)


def _list_page(form: MarkAllReadForm, **context):
    return page_or_fragment(
        "notifications/index.html",
        "list",
        notifications=services.recent(current_user.id),
        sentence_template=services.sentence_template,
        action_template=services.action_template,
        link_for=_link_for,
        form=form,
        **context,
    )


@bp.get("/")
@login_required
def index():
    """My notifications, newest first. Looking does not mark them read: the button does,
    and opening a conversation reads its own."""
    return _list_page(MarkAllReadForm())


@bp.post("/read")
@login_required
def read_all():
    """Mark every notification read; htmx swaps the list and the bell refreshes itself."""
    form = MarkAllReadForm()
    if form.validate_on_submit():
        services.mark_all_read(current_user.id)
    if wants_fragment():
        response = _list_page(form, all_read=True)
        response.headers["HX-Trigger"] = "notifications-changed"
        return response
    flash(_("All notifications are marked as read."), "success")
    return see_other("notifications.index")


@bp.get("/bell")
def bell():
    """The bell for htmx polling: 204 when the unread count is still `seen`, else the new
    bell. Without htmx it is just the way to the notifications page."""
    if not current_user.is_authenticated:
        if wants_fragment():
            return vary_on_htmx(make_response("", STOP_POLLING))
        return vary_on_htmx(redirect(url_for("auth.login", next=url_for("notifications.index"))))
    if not wants_fragment():
        return vary_on_htmx(redirect(url_for("notifications.index")))
    unread = services.bell_count(current_user.id)
    if request.args.get("seen", type=int) == unread:
        unchanged = make_response("", 204)
        del unchanged.headers["Content-Type"]  # polled every 30 s: every idle byte counts
        return vary_on_htmx(unchanged)
    return page_or_fragment("base.html", "bell", unread_notifications=lambda: unread)




@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Notification e-mails on or off."""
    # An unticked box sends nothing: read the POST even when it is otherwise empty, or
    # the form would fall back to the stored value.
    form = EmailSettingsForm(formdata=request.form if request.method == "POST" else None, obj=current_user)
    if form.validate_on_submit():
        services.set_email_notifications(current_user.id, form.email_notifications.data)
        flash(_("Your e-mail preference is saved."), "success")
        return see_other("notifications.settings")
    status = 422 if request.method == "POST" else 200
    return render_template("notifications/settings.html", form=form), status
