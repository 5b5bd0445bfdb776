"""Organisation routes: thin wrappers around organisations.services."""

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.access import moderator_required
from ..errors import RuleError
from ..extensions import limiter
from ..redirects import local_path
from ..web import flash_refusal, form_status, see_other, see_other_to, submitted
from . import acting, bp, services
from .forms import InviteForm, RegistrationForm


@bp.get("/<int:member_id>")
def page(member_id: int):
    """An organisation's public page (visitors too): its mags, projects and open offers."""
    found = services.organisation_page(current_user, member_id)
    organisation = found.organisation
    viewer_manages = current_user.is_authenticated and (
        current_user.id == organisation.id or services.is_manager(current_user.id, organisation.id)
    )
    return render_template(
        "organisations/page.html",
        found=found,
        organisation=organisation,
        share_url=url_for("organisations.page", member_id=organisation.id, _external=True),
        sees_acted_by=viewer_manages or (current_user.is_authenticated and current_user.is_moderator),
    )


def _settings_page(registration_form=None, invite_form=None):
    me = current_user
    organisation = me if me.is_organisation else None
    if registration_form is None:
        registration_form = RegistrationForm(formdata=None, registration_number=me.registration_number)
    return render_template(
        "organisations/settings.html",
        organisation=organisation,
        registration_form=registration_form,
        invite_form=invite_form or InviteForm(formdata=None),
        managers=services.managers_of(organisation) if organisation else [],
        invitations=services.pending_invitations(organisation) if organisation else [],
        managed=services.managed_by(me),
    ), form_status()


@bp.get("/settings")
@login_required
def settings():
    """My organisation (number, managers, invitations) and the organisations I manage."""
    return _settings_page()


@bp.post("/settings/registration")
@login_required
def registration():
    """The organisation's own account enters its SIRET or RNA number."""
    form = RegistrationForm()
    if submitted(form, lambda: services.set_registration(current_user, form.registration_number.data or "")) is None:
        return _settings_page(registration_form=form)
    flash(_("Saved. A moderator will check the number."), "success")
    return see_other("organisations.settings")


@bp.post("/settings/invitations")
@login_required
@limiter.limit("10 per hour; 30 per day")
def invite():
    """The organisation's own account invites a manager by e-mail."""
    form = InviteForm()
    if submitted(form, lambda: services.invite(current_user, form.email.data or "")) is None:
        return _settings_page(invite_form=form)
    flash(_("Invitation sent to %(email)s.", email=form.email.data.strip().lower()), "success")
    return see_other("organisations.settings")


@bp.post("/settings/invitations/<int:invitation_id>/cancel")
@login_required
def cancel_invitation(invitation_id: int):
    """The organisation withdraws a pending invitation."""
    flash_refusal(lambda: services.cancel_invitation(current_user, invitation_id), _("Invitation cancelled."))
    return see_other("organisations.settings")


@bp.post("/<int:member_id>/managers/<int:manager_id>/remove")
@login_required
def remove_manager(member_id: int, manager_id: int):
    """The organisation removes a manager, or a manager leaves (member_id: the organisation)."""
    leaving = current_user.id == manager_id
    flash_refusal(
        lambda: services.remove_manager(current_user, member_id, manager_id),
        _("You no longer manage this organisation.") if leaving else _("The manager was removed."),
    )
    return see_other("organisations.settings")


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    """An invitation's link: log in (or sign up with the invited address), then accept."""
    try:
        invitation = services.invitation_for(token)
    except RuleError as error:
        return render_template("organisations/join.html", invitation=None, expired=error.message), 410
    if not current_user.is_authenticated:
        return render_template("organisations/join.html", invitation=invitation, expired=None)
    if request.method == "GET":
        return render_template("organisations/join.html", invitation=invitation, expired=None)
    if not flash_refusal(lambda: services.accept(current_user, token)):
        return render_template("organisations/join.html", invitation=invitation, expired=None), 422
    flash(_("You now manage %(name)s. Choose “Act as” to post for it.", name=invitation.organisation.display_name),
          "success")
    return see_other("organisations.settings")


@bp.post("/acting")
@login_required
def switch():
    """Act as an organisation I manage, or as myself again (kept in the session)."""
    organisation_id = request.form.get("organisation_id", type=int)
    organisation = acting.switch(current_user, organisation_id)
    if organisation is not None:
        flash(_("You are acting as %(name)s.", name=organisation.display_name), "success")
    else:
        flash(_("You are acting as yourself again."), "success")
    return see_other_to(local_path(request.form.get("next")) or url_for("organisations.settings"))


@bp.post("/<int:member_id>/verify")
@moderator_required
def verify(member_id: int):
    """A moderator marks the organisation's number as checked, or withdraws it (logged)."""
    verified = request.form.get("verified") == "yes"
    flash_refusal(
        lambda: services.set_verified(current_user, member_id, verified),
        _("The organisation is verified.") if verified else _("The verification is withdrawn."),
    )
    return see_other("organisations.page", member_id=member_id)
