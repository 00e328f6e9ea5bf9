from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from clinic.admin.forms import MultiCheckboxField, choices
from clinic.models import ActionStatus
from clinic.services.text import LINE_MAX, TEXT_MAX


class TransitionForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    confirm = HiddenField(default="")
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=TEXT_MAX)])
    override_reason = TextAreaField(
        "Reason for overriding the quality gate",
        validators=[Optional(), Length(max=TEXT_MAX)],
    )


class NoteForm(FlaskForm):
    body = TextAreaField(
        "Internal note", validators=[DataRequired(), Length(max=TEXT_MAX)]
    )
    submit = SubmitField("Add note")


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", validators=[DataRequired(), Length(max=TEXT_MAX)])
    parent_id = IntegerField(validators=[Optional()])
    submit = SubmitField("Post comment")


class RevisedForm(FlaskForm):
    revised = HiddenField(default="1")


class ActionItemForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=LINE_MAX)])
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=TEXT_MAX)]
    )
    owner = SelectField(
        "Owner (a course director)", coerce=int, validators=[Optional()]
    )
    due_date = DateField("Due date", validators=[Optional()])
    findings = MultiCheckboxField("Linked findings", coerce=int, validate_choice=True)
    submit = SubmitField("Save action item")


class ActionStatusForm(FlaskForm):
    status = SelectField(
        "Status", choices=choices((s.value, s.label) for s in ActionStatus)
    )
    drop_reason = StringField(
        "Reason (when dropped)", validators=[Optional(), Length(max=2000)]
    )
    submit = SubmitField("Update")


class SessionForm(FlaskForm):
    held_on = DateField("Date", validators=[DataRequired()])
    attendees = StringField("Attendees", validators=[DataRequired(), Length(max=2000)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=TEXT_MAX)])
    findings = MultiCheckboxField(
        "Findings discussed", coerce=int, validate_choice=True
    )
    submit = SubmitField("Log session")


class PedagogyForm(FlaskForm):
    """The CSRF token of the pedagogy form; its per-criterion fields are named
    `score-<id>`, `notes-<id>` and `evidence-<id>` (see workflow.routes.score_pedagogy)."""

    submit = SubmitField("Save scores")


class ShareForm(FlaskForm):
    clinic = SelectField("Clinic", coerce=int)
    submit = SubmitField("Add to clinic")
