from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from clinic.auth import bp, sessions
from clinic.auth.forms import ChangePasswordForm, LoginForm, LogoutForm
from clinic.models import ApiToken
from clinic.policy import guard
from clinic.services import ServiceError, accounts, tokens


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths, so the login form cannot redirect elsewhere.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@guard("public")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = accounts.authenticate(
            form.email.data, form.password.data, request.remote_addr
        )
        if result.user:
            sessions.start(result.user)
            login_user(result.user)
            flash(f"Welcome, {result.user.name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
        flash(result.error, "danger")
        status = 429 if result.locked else 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@guard("authenticated")
def logout():
    if LogoutForm().validate_on_submit():
        accounts.record_logout(current_user)
        logout_user()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@guard("authenticated")
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current.data, form.new.data)
            sessions.keep(current_user)  # the others end; this one goes on
        except ServiceError as error:
            form.current.errors.append(str(error))
        else:
            flash("Your password has been changed.", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)


class TokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired(), Length(max=100)],
        description="What the token is for, e.g. “grading script”.",
    )
    submit = SubmitField("Create token")


class RevokeTokenForm(FlaskForm):
    submit = SubmitField("Revoke")


def _render_tokens(form: TokenForm, status: int = 200):
    return render_template(
        "auth/tokens.html",
        form=form,
        revoke_form=RevokeTokenForm(),
        tokens=tokens.tokens_of(current_user),
    ), status


@bp.get("/tokens")
@guard("authenticated")
def api_tokens():
    return _render_tokens(TokenForm())


@bp.post("/tokens")
@guard("authenticated")
def create_api_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _render_tokens(form, 400)
    try:
        _token, plaintext = tokens.create_token(
            current_user, current_user, form.name.data
        )
    except ServiceError as error:
        form.name.errors.append(str(error))
        return _render_tokens(form, 400)
    flash(
        f"Your new API token (copy it now, it is not shown again): {plaintext}",
        "success",
    )
    return redirect(url_for("auth.api_tokens"))


@bp.post("/tokens/<int:token_id>/revoke")
@guard("token.revoke", token=ApiToken)
def revoke_api_token(token: ApiToken):
    if RevokeTokenForm().validate_on_submit():
        try:
            tokens.revoke_token(current_user, token)
        except ServiceError as error:
            flash(str(error), "warning")
        else:
            flash(f"The token “{token.name}” is revoked.", "success")
    else:
        flash(
            "The token could not be revoked; reload the page and try again.", "danger"
        )
    if token.user_id != current_user.id:
        return redirect(url_for("admin.users"))
    return redirect(url_for("auth.api_tokens"))
