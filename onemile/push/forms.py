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
