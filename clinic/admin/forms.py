from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.models import CourseKind, Role
from clinic.services.text import CODE_MAX, LINE_MAX


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (easier than a multi-select box)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


ROLE_CHOICES = choices((r.value, r.label) for r in Role)
KIND_CHOICES = choices((k.value, k.value.capitalize()) for k in CourseKind)


class UserForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    name = StringField("Full name", validators=[DataRequired(), Length(max=LINE_MAX)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    submit = SubmitField("Save")


class NewUserForm(UserForm):
    password = PasswordField(
        "Initial password",
        validators=[Optional(), Length(min=10, message="Use at least 10 characters.")],
        description="Leave empty to generate one; it is shown once after saving.",
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Create user")


class ActionForm(FlaskForm):
    """A form with only a CSRF token, for POST buttons."""

    submit = SubmitField("Confirm")


class CourseForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=CODE_MAX)],
        description="For example NEPH 610.",
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=LINE_MAX)])
    kind = SelectField("Kind", choices=KIND_CHOICES)
    school = StringField("School", validators=[DataRequired(), Length(max=LINE_MAX)])
    directors = MultiCheckboxField("Directors", coerce=int, validate_choice=True)
    submit = SubmitField("Save course")


class ClinicForm(FlaskForm):
    course = SelectField("Course", coerce=int)
    academic_year = StringField(
        "Academic year",
        validators=[DataRequired(), Length(max=7)],
        description="For example 2026-27.",
    )
    coaches = MultiCheckboxField("Coaches", coerce=int, validate_choice=True)
    submit = SubmitField("Create clinic")


class ClinicCoachesForm(FlaskForm):
    coaches = MultiCheckboxField("Coaches", coerce=int, validate_choice=True)
    lead = SelectField(
        "Lead coach",
        coerce=lambda v: int(v) if v not in (None, "", "None") else None,
        validate_choice=True,
        description="Settles findings the coaches decided differently. "
        "By default, the first coach in the list.",
    )
    submit = SubmitField("Save coaches")
