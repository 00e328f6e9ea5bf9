from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField

from clinic.admin.forms import choices
from clinic.models import Delivery, Notification, NotificationKind
from clinic.notifications import bp
from clinic.policy import guard
from clinic.services import ServiceError, notifications


class MarkReadForm(FlaskForm):
    submit = SubmitField("Mark read")


class PreferencesForm(FlaskForm):
    submit = SubmitField("Save")


for _kind in NotificationKind:
    setattr(
        PreferencesForm,
        _kind.value,
        SelectField(
            _kind.label,
            choices=choices((d.value, d.label) for d in Delivery),
            default=Delivery.IMMEDIATE.value,
        ),
    )


@bp.get("/notifications")
@guard("authenticated")
def index():
    return render_template(
        "notifications/index.html",
        entries=notifications.of_user(current_user),
        form=MarkReadForm(),
    )


@bp.post("/notifications/<int:notification_id>/read")
@guard("notification.own", notification=Notification)
def mark_read(notification: Notification):
    if MarkReadForm().validate_on_submit():
        notifications.mark_read(current_user, notification)
    return redirect(url_for("notifications.index"))


@bp.get("/notifications/<int:notification_id>/open")
@guard("notification.own", notification=Notification)
def open_notification(notification: Notification):
    """Follow a notification's link from the list, marking it read on the way."""
    notifications.mark_read(current_user, notification)
    link = notification.link
    # Links are the app's own paths; anything else goes to the list instead.
    if not link.startswith("/") or link.startswith("//"):
        link = url_for("notifications.index")
    return redirect(link)


@bp.post("/notifications/read-all")
@guard("authenticated")
def mark_all_read():
    if MarkReadForm().validate_on_submit():
        count = notifications.mark_all_read(current_user)
        flash(f"{count} notifications marked read.", "success")
    return redirect(url_for("notifications.index"))


@bp.route("/auth/notifications", methods=["GET", "POST"])
@guard("authenticated")
def settings():
    form = PreferencesForm()
    if form.validate_on_submit():
        try:
            notifications.set_preferences(
                current_user, {k.value: form[k.value].data for k in NotificationKind}
            )
        except ServiceError as error:
            flash(str(error), "danger")
        else:
            flash("Your notification settings are saved.", "success")
            return redirect(url_for("notifications.settings"))
    elif not form.is_submitted():
        for kind, delivery in notifications.preferences(current_user).items():
            form[kind.value].data = delivery.value
    return render_template(
        "notifications/settings.html",
        form=form,
        fields=[k.value for k in NotificationKind],
    )
