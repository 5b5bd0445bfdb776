"""What the page script posts about the device's push subscription."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class SubscriptionForm(FlaskForm):
    """PushSubscription.toJSON(): the endpoint and the two keys."""

    endpoint = StringField(validators=[DataRequired(), Length(max=2048)])
    p256dh = StringField(validators=[DataRequired(), Length(max=128)])
    auth = StringField(validators=[DataRequired(), Length(max=64)])


class UnsubscribeForm(FlaskForm):
    """The endpoint of the device that turns notifications off."""

    endpoint = StringField(validators=[DataRequired(), Length(max=2048)])


class RenewalForm(FlaskForm):
    """What the service worker posts when the browser replaced the subscription: the old
    endpoint and auth secret (the proof), and the new subscription. No CSRF token: a worker
    has no page to read one from, and the old secret is a stronger proof than a cookie."""

    class Meta:
        csrf = False

    old_endpoint = StringField(validators=[DataRequired(), Length(max=2048)])
    old_auth = StringField(validators=[DataRequired(), Length(max=64)])
    endpoint = StringField(validators=[DataRequired(), Length(max=2048)])
    p256dh = StringField(validators=[DataRequired(), Length(max=128)])
    auth = StringField(validators=[DataRequired(), Length(max=64)])
