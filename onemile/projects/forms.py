"""Project forms. Amounts are text fields: services.parse_euros reads "12,50" as French
members type it, and says clearly what is wrong with anything else."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from ..forms import PublicPlaceFormMixin
from .services import (
    DESCRIPTION_MAX,
    MAX_TASKS,
    MESSAGE_MAX,
    REASON_MAX,
    SKILL_MAX,
    SUMMARY_MAX,
    TASK_TITLE_MAX,
    TITLE_MAX,
    UPDATE_MAX,
)

EMPTY_TASK_ROWS = 3


class TaskForm(Form):
    """One task row (a sub-form: the outer form carries the CSRF token)."""

    title = StringField(_l("Task"), validators=[Optional(), Length(max=TASK_TITLE_MAX)])
    skill = StringField(_l("Skill needed"), validators=[Optional(), Length(max=SKILL_MAX)])


class ProjectForm(PublicPlaceFormMixin, FlaskForm):
    """Propose a project, or edit a pending or rejected one."""

    title = StringField(_l("Title"), validators=[Length(max=TITLE_MAX)])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=SUMMARY_MAX)])
    description = TextAreaField(_l("Description"), validators=[Length(max=DESCRIPTION_MAX)])
    money_target = StringField(_l("Money target in euros (optional)"), validators=[Length(max=20)])
    tasks = FieldList(FormField(TaskForm), min_entries=EMPTY_TASK_ROWS, max_entries=MAX_TASKS)
    photo = FileField(_l("Photo (optional)"))
    remove_photo = BooleanField(_l("Remove the current photo"))
    charter = BooleanField(_l("I accept the charter: this project is non-profit and of local or general interest."))


class PledgeForm(FlaskForm):
    """Promise an amount of money."""

    amount = StringField(_l("Amount in euros"), validators=[Length(max=20)])
    message = TextAreaField(_l("Message to the project (optional)"), validators=[Length(max=MESSAGE_MAX)])
    key = HiddenField(id="pledge-key")  # new each time the form is shown: a double submit pledges once


class SmilesForm(FlaskForm):
    """Give smiles; `key` is new each time the form is shown, so a double submit pays once."""

    # Own ids: this form shares the project page with the pledge form.
    amount = StringField(_l("Number of smiles"), default="1", validators=[Length(max=6)], id="smiles-amount")
    key = HiddenField(id="smiles-key")


class VolunteerForm(FlaskForm):
    """Offer one's skill for a task."""

    message = TextAreaField(_l("What you can do"), validators=[Length(max=MESSAGE_MAX)])


class UpdateForm(FlaskForm):
    """News from the owner."""

    body = TextAreaField(_l("News for your supporters"), validators=[Length(max=UPDATE_MAX)])


class CloseForm(FlaskForm):
    """Close the project."""

    outcome = RadioField(
        _l("How did it end?"),
        choices=[SelectChoice("completed", _l("Completed")), SelectChoice("abandoned", _l("Abandoned"))],
        validators=[Optional()],
    )


class RejectForm(FlaskForm):
    """A moderator's refusal, with the reason the proposer reads."""

    reason = TextAreaField(_l("Reason, for the proposer"), validators=[Length(max=REASON_MAX)])
