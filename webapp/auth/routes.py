"""Login, logout, change password."""
from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from webapp.auth import bp, services
from webapp.auth.forms import ChangePasswordForm, LoginForm, ProfileForm
from webapp.core import audit
from webapp.core.errors import DomainError
from webapp.core.forms import form_error, status_for
from webapp.core.htmx import render
from webapp.core.permissions import login_only, public
from webapp.core.urls import safe_next
from webapp.extensions import limiter


def _failed_login(response) -> bool:
    # Only failed attempts count towards the limit; a success redirects.
    return response.status_code not in (302, 303)


def _account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:254]


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_login, scope="login-ip")
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed_login,
               scope="login-account")
@public
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            # A fresh session: nothing from before the login survives.
            session.clear()
            services.start_session(user, remember=form.remember.data, ip=request.remote_addr,
                                   user_agent=request.headers.get("User-Agent"))
            login_user(user, remember=form.remember.data)
            session.permanent = True
            return redirect(safe_next(request.args.get("next")), 303)
    return render("auth/login.html", form=form, status=status_for(form))


@bp.route("/logout", methods=["POST"])
@login_only
def logout():
    """Sign out and end this session on the server."""
    services.revoke_session(current_user.session_token)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/account", methods=["GET", "POST"])
@login_only
def account():
    """Your name and password."""
    profile = ProfileForm(prefix="profile", obj=current_user)
    password = ChangePasswordForm(prefix="pw")
    if request.method == "POST" and "profile-name" in request.form and profile.validate():
        services.rename_user(current_user, profile.name.data)
        flash("Your name is saved.", "success")
        return redirect(url_for("auth.account"), 303)
    if request.method == "POST" and "pw-current_password" in request.form and password.validate():
        try:
            services.change_password(current_user, password.current_password.data,
                                     password.new_password.data, password.confirm.data)
        except DomainError as exc:
            form_error(password, exc)
        else:
            audit.record_event("user.password_changed", record_type="user_account", record_id=current_user.id)
            flash("Password changed. Other devices have been signed out.", "success")
            return redirect(url_for("auth.account"), 303)
    status = max(status_for(profile), status_for(password))
    return render("auth/account.html", profile=profile, password=password, status=status)
