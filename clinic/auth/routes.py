from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from clinic.auth import bp
from clinic.auth.forms import ChangePasswordForm, LoginForm, LogoutForm
from clinic.policy import guard
from clinic.services import ServiceError, accounts


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
        except ServiceError as error:
            form.current.errors.append(str(error))
        else:
            flash("Your password has been changed.", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)
