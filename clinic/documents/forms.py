from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from clinic.admin.forms import choices
from clinic.models import DismissReason
from clinic.services.text import TEXT_MAX

SEVERITY_CHOICES = choices([("high", "High"), ("medium", "Medium"), ("low", "Low")])
DECISIONS = ("confirm", "dismiss", "reopen", "severity")


class UploadForm(FlaskForm):
    files = MultipleFileField(
        "Files",
        validators=[FileRequired("Choose at least one file.")],
        description="PDF, PowerPoint (.pptx), Word (.docx), text or Markdown. You can choose several.",
        render_kw={"accept": ".pdf,.pptx,.docx,.txt,.md,.markdown"},
    )
    submit = SubmitField("Upload and analyse")


class RevisionForm(FlaskForm):
    files = MultipleFileField(
        "New version", validators=[FileRequired("Choose the revised file.")]
    )
    submit = SubmitField("Upload revision")


class DecisionForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])
    reason = SelectField(
        "Reason",
        choices=choices(
            [("", "Choose a reason")] + [(r.value, r.label) for r in DismissReason]
        ),
        validators=[Optional()],
    )
    comment = TextAreaField(
        "Comment (optional)", validators=[Optional(), Length(max=TEXT_MAX)]
    )
    severity = SelectField(
        "Severity", choices=SEVERITY_CHOICES, validators=[Optional()]
    )
    # Checked against the rubric in the view (the rubric is data, read at run time).
    criterion = StringField("Criterion", validators=[Optional(), Length(max=64)])
    submit = SubmitField("Save")


class ManualFindingForm(FlaskForm):
    segment_id = IntegerField(validators=[InputRequired()])
    start = IntegerField(validators=[InputRequired(), NumberRange(min=0)])
    end = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    quote = StringField("Selected text", render_kw={"readonly": True})
    criterion = SelectField("Criterion", validators=[DataRequired()])
    note = TextAreaField("Note", validators=[Optional(), Length(max=TEXT_MAX)])
    submit = SubmitField("Add finding")
