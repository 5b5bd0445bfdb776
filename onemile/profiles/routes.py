"""Profile routes: a member's profile page, and editing one's own."""

from __future__ import annotations

from flask import flash, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.access import verified_required
from ..extensions import limiter
from ..images import accepts_uploads, with_uploaded_image
from ..web import form_status, see_other, submitted
from . import bp, services
from .forms import ProfileForm


@bp.get("/<int:member_id>")
@login_required
def show(member_id: int):
    """A member's profile, as the current member may see it."""
    return render_template("profiles/show.html", page=services.profile_page(current_user, member_id))


def _save(form: ProfileForm):
    """Store the new photo if one came, then save; a refusal forgets the new photo."""
    return with_uploaded_image(form.photo.data, lambda photo: services.update_profile(
        current_user, form.bio.data, form.skills.data, form.languages.data,
        photo=photo, remove_photo=bool(form.remove_photo.data),
    ))


@bp.route("/me", methods=["GET", "POST"])
@accepts_uploads(1)
@verified_required
@limiter.limit("20 per hour", methods=["POST"])
def edit():
    """Edit my bio, skills, languages and photo."""
    profile = services.own_profile(current_user)
    form = ProfileForm(obj=profile)
    if submitted(form, lambda: _save(form)):
        flash(_("Your profile is saved."), "success")
        return see_other("profiles.show", member_id=current_user.id)
    return render_template("profiles/edit.html", form=form, profile=profile), form_status()
