"""What happens around every request: who, which organization, may they, commit.

Order per request:
1. `load_context`: the signed-in user (from the server-side session), the
   actor for the audit trail, and the current organization from the user's
   active membership, activated as the tenant.
2. `enforce_permission`: the view's declared permission against the role.
3. the view, which calls services (they flush, never commit);
4. `finish`: one commit for a successful non-GET request; a GET, HEAD or OPTIONS
   request ran read-only on PostgreSQL and ends with COMMIT too, unless something
   is pending in the session (`core.readonly`); a rollback for everything else;
   then jobs created in that transaction are dispatched.
5. security headers on every response;
6. `teardown`: the request's context undone; after the process's 10th, 100th, 1,000th and
   10,000th request (GC_FREEZE_AFTER), its live objects are frozen out of the garbage
   collector's sight (`settle_objects`).
"""
from __future__ import annotations

import gc
import itertools
import logging

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.core import audit, jobs, readonly
from webapp.core import sqlite as sqlite_setup
from webapp.core.errors import DomainError
from webapp.core.permissions import AUTHENTICATED, MEMBER, PUBLIC, allowed, permission_of
from webapp.core.tenancy import activate, deactivate
from webapp.extensions import db, login_manager

log = logging.getLogger(__name__)

READS = ("GET", "HEAD", "OPTIONS")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def client_ip() -> str | None:
    return request.remote_addr


@login_manager.user_loader
def _load_user(token: str):
    from webapp.auth.services import load_session
    return load_session(token, session.get("org_id"))


@login_manager.unauthorized_handler
def _unauthorized():
    from webapp.core.urls import login_url
    target = login_url(request.full_path if request.query_string else request.path)
    if request.headers.get("HX-Request") == "true":
        response = current_app.response_class("", 401)
        response.headers["HX-Redirect"] = target
        return response
    flash("Please log in to continue.", "info")
    return redirect(target)


def load_context():
    reads = request.method in READS
    g.sqlite_token = sqlite_setup.set_write_intent(not reads)
    g.reading_token = readonly.set_reading(reads)
    g.org = g.membership = g.role = None
    user_id = current_user.id if current_user.is_authenticated else None
    g.actor_token = audit.set_actor(user_id, client_ip(), request.headers.get("User-Agent"))
    org_id = None
    if user_id is not None:
        active = [m for m in current_user.memberships if m.active]
        chosen = next((m for m in active if m.org_id == session.get("org_id")), None)
        if chosen is None and active:
            chosen = sorted(active, key=lambda m: m.id)[0]
            session["org_id"] = chosen.org_id
        if chosen is not None:
            g.membership, g.org, g.role = chosen, chosen.organization, chosen.role
            org_id = chosen.org_id
    g.tenant_token = activate(org_id)


def enforce_permission():
    if request.endpoint is None:
        return None  # 404s and the like
    view = current_app.view_functions.get(request.endpoint)
    needed = "@public" if request.endpoint == "static" else permission_of(view)
    if needed is None:
        log.error("View %s declares no permission; refusing.", request.endpoint)
        abort(403)
    if needed == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if needed == AUTHENTICATED:
        return None
    if g.membership is None:
        return redirect(url_for("orgs.no_organization"))
    if needed == MEMBER or allowed(g.role, needed):
        return None
    abort(403)


def finish(response):
    reads = request.method in READS
    if reads and response.status_code < 400 and readonly.ends_by_commit(db.session()):
        db.session.commit()         # a read-only transaction: core.readonly says why not ROLLBACK
        jobs.discard_pending()
    elif reads or response.status_code >= 400:
        db.session.rollback()
        jobs.discard_pending()
    else:
        db.session.commit()
        jobs.dispatch_pending()
    return response


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def security_headers(response):
    """Each header unless the view set its own. (The names present are read once: werkzeug's
    `setdefault` and `in` raise and catch an exception for every header that is not there.)"""
    h = response.headers
    present = {name.lower() for name in h.keys()}
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            h.add(name, value)
    if current_app.config.get("SESSION_COOKIE_SECURE") and "strict-transport-security" not in present:
        h.add(*HSTS)
    if request.endpoint != "static" and "cache-control" not in present:
        h.add("Cache-Control", "no-store")
    return response


def teardown(exc):
    token = g.pop("tenant_token", None)
    if token is not None:
        deactivate(token)
    token = g.pop("actor_token", None)
    if token is not None:
        audit.reset_actor(token)
    token = g.pop("sqlite_token", None)
    if token is not None:
        sqlite_setup.reset_write_intent(token)
    token = g.pop("reading_token", None)
    if token is not None:
        readonly.reset_reading(token)


def settle_objects(app) -> None:
    """wsgi.py freezes the objects of the loaded app (gc.freeze: the cyclic collector no longer
    walks them). The first requests add many more that live as long as the process: compiled
    statements, templates, the navigation's HTML, connections. Until frozen too, a full collection
    walks them all, about every fortieth request early on (~11 ms for 40,000 objects: the p99 of a
    list page). Freezing after the 10th, 100th, 1,000th and 10,000th request (GC_FREEZE_AFTER)
    costs no pause (it moves lists; cyclic garbage not yet collected then is kept, a few
    objects)."""
    after = app.config["GC_FREEZE_AFTER"]
    if not after:
        return
    counter = app.extensions.setdefault("smepulse_requests", itertools.count(1))
    if next(counter) in after and gc.isenabled():
        gc.freeze()


def _error_page(status: int, title: str, message: str):
    db.session.rollback()
    jobs.discard_pending()
    if request.headers.get("HX-Request") == "true":
        return render_template("errors/_message.html", title=title, message=message), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register(app):
    app.before_request(load_context)
    app.before_request(enforce_permission)
    app.after_request(finish)
    app.after_request(security_headers)
    app.teardown_request(teardown)
    app.teardown_request(lambda exc: settle_objects(app))

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        # Views catch DomainError to re-render their form with the message
        # beside the field; this is the safety net for those that do not.
        return _error_page(exc.status_code, "That could not be done", exc.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        return _error_page(400, "This form has expired",
                           "The page was open too long or was sent from elsewhere. "
                           "Go back, reload the page and try again.")

    @app.errorhandler(404)
    def _not_found(exc):
        return _error_page(404, "Not found",
                           "There is nothing here. It may have been removed, or the link is wrong.")

    @app.errorhandler(403)
    def _forbidden(exc):
        return _error_page(403, "Not allowed",
                           "Your role in this organization does not allow this. Ask an owner if you need it.")

    @app.errorhandler(405)
    def _method(exc):
        return _error_page(405, "Not allowed here", "This address does not accept that kind of request.")

    @app.errorhandler(413)
    def _too_large(exc):
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return _error_page(413, "File too large", f"Uploads are limited to {limit} MB.")

    @app.errorhandler(429)
    def _too_many(exc):
        return _error_page(429, "Too many attempts",
                           "There were too many attempts in a short time. Wait 15 minutes and try again.")

    @app.errorhandler(400)
    def _bad_request(exc):
        return _error_page(400, "Bad request", "The request could not be understood. Reload the page and try again.")

    @app.errorhandler(Exception)
    def _unexpected(exc):
        if isinstance(exc, HTTPException):
            return _error_page(exc.code or 500, exc.name, exc.description or "")
        log.exception("Unhandled error on %s %s", request.method, request.path)
        if app.config.get("TESTING") and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise exc
        return _error_page(500, "Something went wrong",
                           "The error was logged and nothing was saved. Try again; if it happens again, tell us what you did.")
