"""Sign-up, organization settings, users and invitations, switching."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user

from webapp.auth import services as auth
from webapp.core.errors import DomainError
from webapp.core.forms import form_error, status_for
from webapp.core.htmx import render
from webapp.core.mail import mail_configured, send_mail
from webapp.core.permissions import login_only, member, public, requires
from webapp.core.regions import COUNTRIES
from webapp.core.tenancy import MAX_ID, get_or_404, tenant
from webapp.extensions import db
from webapp.orgs import bp, services
from webapp.orgs.forms import AcceptForm, InviteForm, NoteForm, OrgDetailsForm, RoleForm, SignupForm
from webapp.orgs.models import Invitation, Membership, Organization

log = logging.getLogger(__name__)


def _start(user, org_id: int) -> None:
    session.clear()
    auth.start_session(user, ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))
    login_user(user)
    session.permanent = True
    session["org_id"] = org_id


@bp.route("/signup", methods=["GET", "POST"])
@public
def signup():
    """Create an organization and its owner."""
    if current_user.is_authenticated:
        return redirect(url_for("orgs.new_organization"))
    form = SignupForm()
    if request.method == "GET":
        form.country.data, form.base_currency.data, form.tax_regime.data = "IN", "INR", "gst_india"
    if form.validate_on_submit():
        try:
            org, user = services.sign_up(form.details(), user_name=form.user_name.data,
                                         email=form.user_email.data, password=form.password.data)
        except DomainError as exc:
            if exc.field in ("email", "password"):
                exc.field = "user_" + exc.field if exc.field == "email" else exc.field
            form_error(form, exc)
        else:
            _start(user, org.id)
            flash(f"Welcome to SME Pulse. {org.name} is ready.", "success")
            return redirect(url_for("dashboard.home"), 303)
    return render("orgs/signup.html", form=form, countries=COUNTRIES, status=status_for(form))


@bp.route("/organizations/new", methods=["GET", "POST"])
@login_only
def new_organization():
    """Add another organization to your account (you become its owner)."""
    form = OrgDetailsForm()
    if request.method == "GET":
        form.country.data, form.base_currency.data, form.tax_regime.data = "IN", "INR", "gst_india"
    if form.validate_on_submit():
        try:
            org = services.create_organization(form.details(), owner=current_user)
        except DomainError as exc:
            form_error(form, exc)
        else:
            session["org_id"] = org.id
            flash(f"{org.name} is ready; you are its owner.", "success")
            return redirect(url_for("dashboard.home"), 303)
    return render("orgs/new.html", form=form, countries=COUNTRIES, status=status_for(form))


@bp.route("/no-organization")
@login_only
def no_organization():
    """Shown to a signed-in user with no active membership."""
    if g.membership is not None:
        return redirect(url_for("dashboard.home"))
    return render("orgs/no_org.html")


@bp.route("/organizations/switch", methods=["POST"])
@login_only
def switch():
    """Make another of your organizations the current one."""
    try:
        org_id = int(request.form.get("org_id", ""))
    except ValueError:
        abort(404)
    m = services.membership(current_user.id, org_id) if 0 < org_id <= MAX_ID else None
    if m is None or not m.active:
        abort(404)
    session["org_id"] = org_id
    flash(f"You are now working in {m.organization.name}.", "info")
    return redirect(url_for("dashboard.home"), 303)


@bp.route("/settings/organization", methods=["GET", "POST"])
@requires("org.settings")
def settings():
    """Organization details."""
    org = g.org
    form = OrgDetailsForm(obj=org)
    if request.method == "GET":
        form.state.data = org.state if org.country == "IN" else ""
        form.region.data = org.state if org.country != "IN" else ""
    if form.validate_on_submit():
        try:
            services.update_organization(org, form.details())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash("Organization details saved.", "success")
            return redirect(url_for("orgs.settings"), 303)
    return render("orgs/settings.html", form=form, countries=COUNTRIES, status=status_for(form))


def _membership_or_404(membership_id: int) -> Membership:
    # Memberships are not filtered by the tenant scope, so check here.
    m = db.session.get(Membership, membership_id) if 0 < membership_id <= MAX_ID else None
    if m is None or m.org_id != g.org.id:
        abort(404)
    return m


def _users_page(invite_form=None, status=200):
    invitations = db.session.scalars(sa.select(Invitation).order_by(Invitation.created_at.desc()).limit(50)).all()
    return render("orgs/users.html", members=services.members(g.org.id), invitations=invitations,
                  invite_form=invite_form or InviteForm(), role_form=RoleForm, action_form=NoteForm(),
                  mail=mail_configured(), status=status)


@bp.route("/settings/users")
@requires("users.manage")
def users():
    """Members, roles and invitations."""
    return _users_page()


def _send_invitation(inv: Invitation, token: str) -> None:
    link = url_for("orgs.accept", token=token, _external=True)
    log.info("Invitation link for %s to %s: %s", inv.email, g.org.name, link)
    subject, body = services.invitation_mail(g.org, inv, link, current_user)
    if mail_configured() and send_mail(inv.email, subject, body):
        flash(f"Invitation e-mailed to {inv.email}.", "success")
    else:
        flash(link, "invite-link")


@bp.route("/settings/users/invite", methods=["POST"])
@requires("users.manage")
def invite():
    """Invite someone by e-mail with a role."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            inv, token = services.invite(g.org, form.email.data, form.role.data, current_user)
        except DomainError as exc:
            form_error(form, exc)
        else:
            _send_invitation(inv, token)
            return redirect(url_for("orgs.users"), 303)
    return _users_page(form, status=422)


@bp.route("/settings/invitations/<int:invitation_id>/renew", methods=["POST"])
@requires("users.manage")
def renew_invitation(invitation_id: int):
    """Make a new link for an invitation (the old link stops working)."""
    old = get_or_404(Invitation, invitation_id)
    if not NoteForm().validate_on_submit():
        abort(400)
    if old.status == "accepted":
        flash("That invitation has already been accepted.", "error")
        return redirect(url_for("orgs.users"), 303)
    inv, token = services.invite(g.org, old.email, old.role, current_user)
    _send_invitation(inv, token)
    return redirect(url_for("orgs.users"), 303)


@bp.route("/settings/invitations/<int:invitation_id>/revoke", methods=["POST"])
@requires("users.manage")
def revoke_invitation(invitation_id: int):
    """Withdraw a pending invitation."""
    inv = get_or_404(Invitation, invitation_id)
    if not NoteForm().validate_on_submit():
        abort(400)
    try:
        services.revoke_invitation(inv)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Invitation to {inv.email} withdrawn.", "info")
    return redirect(url_for("orgs.users"), 303)


@bp.route("/settings/users/<int:membership_id>/role", methods=["POST"])
@requires("users.manage")
def change_role(membership_id: int):
    """Change a member's role."""
    m = _membership_or_404(membership_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            services.change_role(m, form.role.data, current_user)
        except DomainError as exc:
            flash(exc.message, "error")
            return _users_page(status=422)
        flash(f"{m.user.name} is now {services.role_label(m.role)}.", "success")
    else:
        flash("Choose a role from the list.", "error")
        return _users_page(status=422)
    return redirect(url_for("orgs.users"), 303)


@bp.route("/settings/users/<int:membership_id>/deactivate", methods=["POST"])
@requires("users.manage")
def deactivate(membership_id: int):
    """Deactivate a member: they are signed out everywhere at once."""
    m = _membership_or_404(membership_id)
    if not NoteForm().validate_on_submit():
        abort(400)
    try:
        services.deactivate(m, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
        return _users_page(status=exc.status_code)
    flash(f"{m.user.name} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("orgs.users"), 303)


@bp.route("/settings/users/<int:membership_id>/reactivate", methods=["POST"])
@requires("users.manage")
def reactivate(membership_id: int):
    """Give a deactivated member access again."""
    m = _membership_or_404(membership_id)
    if not NoteForm().validate_on_submit():
        abort(400)
    try:
        services.reactivate(m)
    except DomainError as exc:
        flash(exc.message, "error")
        return _users_page(status=422)
    flash(f"{m.user.name} can sign in again.", "success")
    return redirect(url_for("orgs.users"), 303)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def accept(token: str):
    """Accept an invitation: sign up, or join with the account you have."""
    inv = services.find_invitation(token)
    if inv is None:
        return render("orgs/accept.html", problem="This invitation link is not valid. Ask for a new one.",
                      status=404)
    with tenant(inv.org_id):
        org = db.session.get(Organization, inv.org_id)
        existing = auth.user_by_email(inv.email)
        form = AcceptForm()
        problem = None
        if inv.status != "pending":
            problem = {"accepted": "This invitation has already been used. Log in instead.",
                       "revoked": "This invitation was withdrawn. Ask for a new one.",
                       "expired": "This invitation has expired. Ask for a new one."}[inv.status]
        elif existing is not None:
            if not current_user.is_authenticated:
                return render("orgs/accept.html", inv=inv, org=org, existing=existing, form=form)
            if current_user.id != existing.id:
                problem = f"This invitation is for {inv.email}, but you are signed in as {current_user.email}. Log out first."
            elif request.method == "POST" and form.is_submitted() and NoteForm().validate_on_submit():
                services.accept_invitation(inv, current_user)
                session["org_id"] = inv.org_id
                flash(f"You joined {org.name}.", "success")
                return redirect(url_for("dashboard.home"), 303)
        elif form.validate_on_submit():
            try:
                user = auth.create_user(inv.email, form.name.data, form.password.data)
                services.accept_invitation(inv, user)
            except DomainError as exc:
                form_error(form, exc)
            else:
                _start(user, inv.org_id)
                flash(f"Welcome to {org.name}.", "success")
                return redirect(url_for("dashboard.home"), 303)
        status = 410 if problem else status_for(form)
        return render("orgs/accept.html", inv=inv, org=org, existing=existing, form=form, problem=problem,
                      status=status)


@bp.route("/settings/printing", methods=["GET", "POST"])
@requires("org.settings")
def printing():
    """Invoice numbering, terms, credit limits and the logo on documents."""
    from webapp.core.numbering import series_for
    from webapp.orgs.forms import LogoForm, PrintingForm
    org = g.org
    form = PrintingForm(prefix="p", invoice_prefix=series_for("invoice")[0], invoice_terms=org.invoice_terms,
                        credit_limit_policy=org.credit_limit_policy)
    form.credit_limit_policy.choices = services.CREDIT_POLICIES
    logo = LogoForm(prefix="l")
    if request.method == "POST" and "p-invoice_prefix" in request.form and form.validate():
        try:
            services.set_printing(org, invoice_prefix=form.invoice_prefix.data, invoice_terms=form.invoice_terms.data,
                                  credit_limit_policy=form.credit_limit_policy.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash("Saved.", "success")
            return redirect(url_for("orgs.printing"), 303)
    if request.method == "POST" and ("l-logo" in request.files or request.form.get("remove")) and logo.validate():
        upload = logo.logo.data
        try:
            services.set_logo(org, None if request.form.get("remove") else (upload.read() if upload else b""),
                              upload.mimetype if upload else None)
        except DomainError as exc:
            form_error(logo, exc)
        else:
            flash("Logo saved." if org.logo_mime else "Logo removed.", "success")
            return redirect(url_for("orgs.printing"), 303)
    return render("orgs/printing.html", form=form, logo_form=logo, status=max(status_for(form), status_for(logo)))


@bp.route("/settings/organization/logo")
@member
def logo():
    """The organization's logo, for the pages that show it."""
    data = db.session.scalar(sa.select(Organization.logo).where(Organization.id == g.org.id))
    if not data:
        abort(404)
    response = current_app.response_class(data, mimetype=g.org.logo_mime)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
