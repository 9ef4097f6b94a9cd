"""Tenant isolation and the permission matrix, over the whole URL map."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from tests.factories import add_member, create_org, login
from tests.route_cases import CASES, EXEMPT, EXEMPT_ARGS, load_all_cases
from webapp.core.permissions import AUTHENTICATED, MEMBER, PERMISSIONS, PUBLIC, ROLES, permission_of
from webapp.core.tenancy import tenant
from webapp.extensions import db

load_all_cases()


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _fingerprint(app, org_ids) -> str:
    """A hash of every row of every table, read under each organization."""
    h = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            scoped = "org_id" in table.c and table.name not in ("membership",)
            for org_id in (org_ids if scoped else [None]):
                with db.engine.connect() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.exec_driver_sql("SELECT set_config('app.org_id', %s, false)",
                                             (str(org_id) if org_id else "",))
                    rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                    h.update(f"{table.name}:{org_id}:{rows!r}".encode())
    return h.hexdigest()


def test_every_route_with_an_argument_has_an_isolation_case(app):
    missing = [r.endpoint for r in _rules(app)
               if r.arguments and r.endpoint not in CASES and r.endpoint not in EXEMPT]
    assert not missing, f"Add a case in tests/*/cases.py (or an exemption) for: {missing}"


def test_every_view_declares_a_permission(app):
    undeclared = [r.endpoint for r in _rules(app) if permission_of(app.view_functions[r.endpoint]) is None]
    assert not undeclared


def test_another_organizations_ids_are_not_found_and_change_nothing(app, client):
    with app.app_context():
        org_a, owner_a = create_org("Alpha Traders", email="alpha@example.com")
        org_b, owner_b = create_org("Beta Traders", email="beta@example.com")
    urls = []
    with app.app_context():
        for rule in _rules(app):
            if rule.endpoint in EXEMPT or not rule.arguments:
                continue
            with tenant(org_a):
                values = CASES[rule.endpoint](org_a, owner_a)
                db.session.commit()
            with app.test_request_context():
                from flask import url_for
                urls.append((rule, url_for(rule.endpoint, **values)))
    assert urls
    login(client, "beta@example.com")
    before = _fingerprint(app, [org_a, org_b])
    for rule, url in urls:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(url, method=method, data={"role": "owner"})
            assert r.status_code == 404, f"{method} {url} ({rule.endpoint}) gave {r.status_code}"
    assert _fingerprint(app, [org_a, org_b]) == before


def _needs(app, rule):
    return permission_of(app.view_functions[rule.endpoint])


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(app, make_client, role):
    """Each role against each protected view, as declared in PERMISSIONS."""
    with app.app_context():
        org_id, owner_id = create_org("Matrix Mart", email=f"matrix-{role}@example.com")
        user_email = f"matrix-{role}@example.com" if role == "owner" else f"{role}-m@example.com"
        if role != "owner":
            add_member(org_id, role, email=user_email)
    client = make_client()
    login(client, user_email)
    checked = 0
    for rule in _rules(app):
        needed = _needs(app, rule)
        if needed in (PUBLIC, AUTHENTICATED, MEMBER):
            continue
        values = dict(EXEMPT_ARGS.get(rule.endpoint, {}))
        if rule.arguments and not values:
            with app.app_context(), tenant(org_id):
                values = CASES[rule.endpoint](org_id, owner_id)
                db.session.commit()
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **values)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        r = client.open(url, method=method, data={})
        if role in PERMISSIONS[needed].roles:
            assert r.status_code != 403, f"{role} should reach {method} {url} ({needed})"
            assert r.status_code < 500
            if method == "GET" and r.status_code == 200 and r.mimetype == "text/html":
                assert not _nested_form(r.get_data(as_text=True)), f"{url} has a form inside a form"
        else:
            assert r.status_code == 403, f"{role} must not reach {method} {url} ({needed}): {r.status_code}"
        checked += 1
    assert checked > 0


def test_member_views_need_an_active_membership(app, client):
    with app.app_context():
        org_id, _ = create_org("Solo", email="solo@example.com")
        uid = add_member(org_id, "sales", email="gone@example.com")
    c = client
    login(c, "gone@example.com")
    assert c.get("/home").status_code == 200
    with app.app_context():
        from webapp.orgs import services
        from webapp.orgs.models import Membership
        from webapp.auth.models import User
        with tenant(org_id):
            m = db.session.scalars(sa.select(Membership).where(Membership.user_id == uid)).one()
            owner = db.session.scalars(sa.select(User).where(User.email == "solo@example.com")).one()
            services.deactivate(m, owner)
            db.session.commit()
    # Signed out everywhere at once: the old cookie no longer works.
    r = c.get("/home")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def _nested_form(html: str) -> bool:
    """Whether a <form> opens inside another: the browser drops the inner one, and its fields and
    buttons then submit the outer form (an export's POST became the filters' GET, CSRF token in the
    URL)."""
    from html.parser import HTMLParser

    class Forms(HTMLParser):
        depth = 0
        nested = False

        def handle_starttag(self, tag, attrs):
            if tag == "form":
                self.nested = self.nested or self.depth > 0
                self.depth += 1

        def handle_endtag(self, tag):
            if tag == "form":
                self.depth = max(0, self.depth - 1)

    parser = Forms()
    parser.feed(html)
    return parser.nested


def test_nested_form_check():
    assert _nested_form('<form method="get"><input><form method="post"></form></form>')
    assert not _nested_form('<form method="get"></form><form method="post"><button></button></form>')
