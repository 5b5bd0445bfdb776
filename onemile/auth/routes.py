"""Account routes: thin wrappers around auth.services."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from ..extensions import limiter
from ..htmx import wants_fragment
from ..redirects import local_path
from ..security import minutes_to_wait, too_many
from ..web import see_other, see_other_to
from . import bp, services, sessions, throttle
from .forms import (
    LoginForm,
    ResendVerificationForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignInLinkForm,
    SignInLinkRequestForm,
    SignupForm,
)
from .gate import EmailNotVerified

# The session key of where a visitor was going when they signed up (a local path).
_AFTER_SIGNUP = "after_signup"
# The address just typed at sign-up, for the next page to show once (a typo is caught there);
# it is the visitor's own, in their own browser's cookie, and tells nothing of any account.
_SENT_TO = "signup_sent_to"


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour; 30 per day", methods=["POST"])
def signup():
    """Take a sign-up: the answer ("check your inbox") and its time are the same whether or
    not the address has an account; the e-mailed link finishes it."""
    if current_user.is_authenticated:
        return redirect(url_for("map.show"))
    going_to = local_path(request.args.get("next"))
    if going_to:
        # Where the visitor was going (an ad they want to answer): the e-mailed link, opened
        # in this browser, takes them there once they are in.
        session[_AFTER_SIGNUP] = going_to
    form = SignupForm()
    status = 200
    needs_point = False
    if form.validate_on_submit():
        place = form.chosen_place(form.country.data)
        if form.place.errors:  # several places by that name, or none: the form asks again
            status = 422
        else:
            status, needs_point = _request_signup(form, place)
            if status == 302:
                session.pop("referral_code", None)
                sessions.remember_signup(form.email.data)
                session[_SENT_TO] = form.email.data
                return see_other("auth.signup_sent")
    elif request.method == "POST":
        status = 422
    return render_template("auth/signup.html", form=form, needs_point=needs_point), status


def _request_signup(form: SignupForm, place) -> tuple[int, bool]:
    """Hand a valid form to the service: (302, False) when taken, else the status and
    whether the member must pick a point on the map, the refusal put on its field."""
    data = services.SignupData(
        email=form.email.data,
        password=form.password.data,
        first_name=form.first_name.data,
        last_name=form.last_name.data,
        postal_code=form.postal_code.data or "",
        country=form.country.data,
        kind=form.kind.data,
        organisation_name=form.organisation_name.data,
        language=str(get_locale() or "fr"),
        picked_point=form.point(),
        referral_code=session.get("referral_code"),
        place_point=place.point if place is not None else None,
        place_name=place.name if place is not None else "",
    )
    try:
        services.request_signup(data)
    except services.SignupError as error:
        getattr(form, error.field).errors.append(error.message)
        return 422, isinstance(error, services.UnknownPostalCode)
    return 302, False


def _logged_in(member, remember: bool, next_path: str | None = None):
    """Log the member in on this device and send them on, marking the browser as a known
    device of the account (see auth.throttle)."""
    sessions.log_in(member, remember=remember)
    response = see_other_to(local_path(next_path) or url_for("map.show"))
    throttle.remember_device(response, member.email)
    return response


@bp.get("/signup/sent")
def signup_sent():
    """After a sign-up: open the e-mailed link (the same page for every address, which it
    names once so that a mistyped one shows)."""
    return render_template("auth/signup_sent.html", sent_to=session.pop(_SENT_TO, None))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
@limiter.limit(throttle.account_limit, methods=["POST"], key_func=throttle.account_key,
               exempt_when=throttle.is_known_device)
@limiter.limit(throttle.pair_limit, methods=["POST"], key_func=throttle.pair_key)
def login():
    """Log in with e-mail and password; attempts are throttled per account and per account
    and address (auth.throttle)."""
    if current_user.is_authenticated:
        return redirect(url_for("map.show"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        member = services.authenticate(form.email.data, form.password.data)
        if member is not None and not member.is_suspended:
            return _logged_in(member, form.remember.data, request.args.get("next"))
        if member is not None:
            # Said only to whoever knows the password: it tells nothing about who has an account.
            form.password.errors.append(_("This account is suspended by the moderators."))
        else:
            form.password.errors.append(_("Wrong e-mail or password."))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Log out on this device (POST only, so that it carries a CSRF token): its session
    ends on the server, so copies of its cookies stop working too."""
    sessions.log_out(current_user)
    flash(_("You are logged out. See you soon!"), "info")
    return see_other("main.home")


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def reset_request():
    """Ask for a reset link by e-mail; the answer never tells whether the address exists."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(_("If an account uses this address, we have sent it a link to reset the password."), "info")
        return see_other("auth.login")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_request.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def reset_password(token: str):
    """Choose a new password from a valid link."""
    member = services.member_for_reset_token(token)
    if member is None:
        flash(_("This link is invalid or has expired. Ask for a new one."), "error")
        return redirect(url_for("auth.reset_request"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.set_password(member, form.password.data)
        flash(_("Your password has been changed. You can log in."), "success")
        return see_other("auth.login")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_password.html", form=form, token=token), status


# --- Sign-in links ---------------------------------------------------------------------------


def _typed_email_key() -> str:
    """Rate limits of sign-in links count per typed address too: nobody floods an inbox."""
    return f"sign-in-link:{throttle.account_key()}"


def _link_minutes() -> int:
    return current_app.config["SIGN_IN_LINK_MAX_AGE"] // 60


@bp.route("/sign-in-link", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("3 per hour; 10 per day", methods=["POST"], key_func=_typed_email_key)
def sign_in_link():
    """Ask for a one-time sign-in link by e-mail; the answer never tells whether the
    address has an account (the same page, in the same way, either way)."""
    form = SignInLinkRequestForm()
    if form.validate_on_submit():
        services.send_sign_in_link(form.email.data)
        flash(_("If an account uses this address, we have sent it a sign-in link. It works once, "
                "within %(n)d minutes.", n=_link_minutes()), "info")
        return see_other("auth.login")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/sign_in_link.html", form=form, minutes=_link_minutes()), status


def _dead_link():
    flash(_("This link is invalid, has expired or was already used. Ask for a new one."), "error")
    return redirect(url_for("auth.sign_in_link"))


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour")
def sign_in(token: str):
    """The link from the e-mail: a page with a button that uses it (opening the link alone
    changes nothing, so a mail scanner following links cannot use it up)."""
    found = services.member_for_sign_in_token(token)
    if found is None:
        return _dead_link()
    form = SignInLinkForm()
    if form.validate_on_submit():
        member = services.sign_in_with_link(token)
        if member is None:  # used by another request meanwhile
            return _dead_link()
        if current_user.is_authenticated:
            sessions.log_out(current_user)
        return _logged_in(member, form.remember.data)
    member, _serial = found
    return render_template("auth/sign_in.html", form=form, token=token, email=member.email)


@bp.errorhandler(429)
def too_many_attempts(error):
    """A throttled login says how long to wait and offers a sign-in link instead."""
    if request.endpoint != "auth.login":
        return too_many(error)
    minutes = minutes_to_wait(error)
    return (
        render_template("auth/throttled.html", minutes=minutes),
        429,
        {"Retry-After": str(minutes * 60)},
    )


# --- E-mail verification -------------------------------------------------------------------


def _member_key() -> str:
    """Rate limits of the re-send count per member (several members may share one address)."""
    return f"member:{current_user.id}" if current_user.is_authenticated else get_remote_address()


@bp.app_errorhandler(EmailNotVerified)
def not_verified(error):
    """Any action refused for want of verification lands on the page that explains it."""
    if wants_fragment():
        # htmx would not swap a 403: send the browser to the page instead.
        return "", 204, {"HX-Redirect": url_for("auth.verify_needed")}
    return render_template("auth/verify.html", form=ResendVerificationForm(), refused=True), 403


@bp.get("/verify")
@login_required
def verify_needed():
    """Why posting and answering wait, and a button to get the e-mail again."""
    if current_user.is_verified:
        return redirect(url_for("map.show"))
    return render_template("auth/verify.html", form=ResendVerificationForm(), refused=False)


@bp.post("/verify")
@login_required
@limiter.limit("3 per hour; 10 per day", key_func=_member_key)
def resend_verification():
    """Send the verification e-mail again (rate limited: it goes to someone's inbox)."""
    form = ResendVerificationForm()
    if current_user.is_verified:
        return see_other("map.show")
    if form.validate_on_submit():
        services.send_verification(current_user)
        flash(_("We sent the e-mail again to %(email)s.", email=current_user.email), "info")
    return see_other("auth.verify_needed")


@bp.get("/verify/<token>")
@limiter.limit("30 per hour")
def verify_email(token: str):
    """The link from the e-mail: the address is verified (once; the link then stops working)
    and, in the browser that signed up, the member is logged in; anywhere else they log in
    with their password (sessions.signed_up_here says why)."""
    member = services.verify_email(token)
    if member is None:
        flash(_("This link is invalid, has expired or was already used."), "error")
        if current_user.is_authenticated and not current_user.is_verified:
            return redirect(url_for("auth.verify_needed"))
        return redirect(url_for("map.show" if current_user.is_authenticated else "auth.login"))
    going_to = None
    if not current_user.is_authenticated:
        if not sessions.signed_up_here(member):
            flash(_("Your e-mail address is confirmed. Log in with your password to go on."), "success")
            return redirect(url_for("auth.login"))
        sessions.log_in(member)
        going_to = session.pop(_AFTER_SIGNUP, None)
        if not going_to:
            flash(_("Welcome to 1Mile! Here is your mile."), "success")
    flash(_("Thank you! Your e-mail address is confirmed: you can post, answer and message."), "success")
    return redirect(going_to or url_for("map.show"))
