"""The profile form: bio, skills, languages and an optional photo."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length

from .services import BIO_MAX, LANGUAGES_MAX, SKILLS_MAX


class ProfileForm(FlaskForm):
    """What a member tells the others about themself (never a place)."""

    bio = TextAreaField(_l("About me"), validators=[Length(max=BIO_MAX)])
    skills = StringField(_l("Skills"), validators=[Length(max=SKILLS_MAX)])
    languages = StringField(_l("Languages spoken"), validators=[Length(max=LANGUAGES_MAX)])
    photo = FileField(_l("Profile photo (optional)"))
    remove_photo = BooleanField(_l("Remove my photo"))
