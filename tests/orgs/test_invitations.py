"""Invitations, roles and deactivation, end to end through the pages."""
import logging
import re

import sqlalchemy as sa

from tests.factories import PASSWORD, add_member, create_org, login
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.orgs.models import Invitation, Membership


def _invite(client, email, role):
    r = client.post("/settings/users/invite", data={"email": email, "role": role})
    assert r.status_code == 303, r.data
    page = client.get("/settings/users").get_data(as_text=True)
    match = re.search(r'value="(http://[^"]+/invite/[^"]+)"', page)
    assert match, "the invitation link is shown to the owner when no mail server is set"
    return match.group(1).replace("http://localhost", "")


def test_invite_accept_as_new_user_and_log_in(app, client, make_client, caplog):
    caplog.set_level(logging.INFO, logger="webapp.orgs.routes")
    with app.app_context():
        org_id, _ = create_org("Inviting Co", email="boss@example.com")
    login(client, "boss@example.com")
    link = _invite(client, "Clerk@Example.com", "sales")
    assert "Invitation link for clerk@example.com" in caplog.text
    invitee = make_client()
    page = invitee.get(link)
    assert page.status_code == 200 and b"Join Inviting Co" in page.data
    r = invitee.post(link, data={"name": "Chandra Clerk", "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 303
    home = invitee.get("/home").get_data(as_text=True)
    assert "Inviting Co" in home and "Sales" in home
    # The link works once.
    again = make_client().post(link, data={"name": "X", "password": PASSWORD, "confirm": PASSWORD})
    assert again.status_code == 410 and b"already been used" in again.data
    # And the new user can log in later.
    fresh = make_client()
    assert login(fresh, "clerk@example.com").status_code == 303


def test_existing_user_joins_a_second_organization(app, client, make_client):
    with app.app_context():
        create_org("Home Org", email="worker@example.com")
        create_org("Other Org", email="boss2@example.com")
    login(client, "boss2@example.com")
    link = _invite(client, "worker@example.com", "storekeeper")
    worker = make_client()
    r = worker.get(link)
    assert b"Log in to accept" in r.data
    login(worker, "worker@example.com")
    assert worker.post(link).status_code == 303
    assert b"Other Org" in worker.get("/home").data
    page = worker.get("/home").get_data(as_text=True)
    assert "Home Org" in page  # in the switcher


def test_bad_invitation_links(app, client):
    for link in ["/invite/garbage", "/invite/1.nope", f"/invite/{'9' * 30}.x", "/invite/..", "/invite/" + "a" * 500]:
        r = client.get(link)
        assert r.status_code in (404, 410), link
        assert b"not valid" in r.data


def test_withdrawn_and_renewed_invitations(app, client, make_client):
    with app.app_context():
        org_id, _ = create_org("Revoker", email="rev@example.com")
    login(client, "rev@example.com")
    old_link = _invite(client, "temp@example.com", "sales")
    with app.app_context(), tenant(org_id):
        inv = db.session.scalars(sa.select(Invitation)).one()
    assert client.post(f"/settings/invitations/{inv.id}/renew").status_code == 303
    assert make_client().get(old_link).status_code == 410  # superseded
    with app.app_context(), tenant(org_id):
        newest = db.session.scalars(sa.select(Invitation).order_by(Invitation.id.desc())).first()
    assert client.post(f"/settings/invitations/{newest.id}/revoke").status_code == 303
    assert client.post(f"/settings/invitations/{newest.id}/revoke").status_code == 303  # explained, not a 500
    with app.app_context(), tenant(org_id):
        assert db.session.get(Invitation, newest.id).status == "revoked"


def test_inviting_a_current_member_is_refused(app, client):
    with app.app_context():
        org_id, _ = create_org("Dup", email="dup@example.com")
        add_member(org_id, "sales", email="already@example.com")
    login(client, "dup@example.com")
    r = client.post("/settings/users/invite", data={"email": "already@example.com", "role": "sales"})
    assert r.status_code == 422 and b"already a member" in r.data
    r = client.post("/settings/users/invite", data={"email": "x@example.com", "role": "emperor"})
    assert r.status_code == 422


def _membership(app, org_id, email):
    from webapp.auth.models import User
    with app.app_context():
        return db.session.scalars(sa.select(Membership).join(User, User.id == Membership.user_id)
                                  .where(User.email == email, Membership.org_id == org_id)).one().id


def test_role_change_takes_effect_at_once(app, client, make_client):
    with app.app_context():
        org_id, _ = create_org("Roles", email="roles@example.com")
        add_member(org_id, "sales", email="seller@example.com")
    seller = make_client()
    login(seller, "seller@example.com")
    assert seller.get("/audit/").status_code == 403
    login(client, "roles@example.com")
    mid = _membership(app, org_id, "seller@example.com")
    assert client.post(f"/settings/users/{mid}/role", data={"role": "accountant"}).status_code == 303
    assert seller.get("/audit/").status_code == 200


def test_last_owner_cannot_be_demoted_or_deactivated(app, client):
    with app.app_context():
        org_id, _ = create_org("Lonely", email="lonely@example.com")
    login(client, "lonely@example.com")
    mid = _membership(app, org_id, "lonely@example.com")
    r = client.post(f"/settings/users/{mid}/role", data={"role": "sales"})
    assert r.status_code == 422 and b"only owner" in r.data
    r = client.post(f"/settings/users/{mid}/deactivate")
    assert r.status_code == 403 and b"cannot deactivate yourself" in r.data
    with app.app_context():
        m = db.session.get(Membership, mid)
        assert m.role == "owner" and m.active


def test_deactivated_user_is_logged_out_everywhere_and_can_be_reactivated(app, client, make_client):
    with app.app_context():
        org_id, _ = create_org("Deact", email="deact@example.com")
        add_member(org_id, "storekeeper", email="keeper@example.com")
    phone, desk = make_client(), make_client()
    login(phone, "keeper@example.com")
    login(desk, "keeper@example.com")
    login(client, "deact@example.com")
    mid = _membership(app, org_id, "keeper@example.com")
    assert client.post(f"/settings/users/{mid}/deactivate").status_code == 303
    for c in (phone, desk):
        assert c.get("/home").status_code == 302
    assert login(make_client(), "keeper@example.com").status_code == 422
    assert client.post(f"/settings/users/{mid}/reactivate").status_code == 303
    assert login(make_client(), "keeper@example.com").status_code == 303


def test_users_page_lists_members_and_invitations(app, client):
    with app.app_context():
        org_id, _ = create_org("Listy", email="listy@example.com")
        add_member(org_id, "accountant", email="acc@example.com", name="Anil Accountant")
    login(client, "listy@example.com")
    client.post("/settings/users/invite", data={"email": "pending@example.com", "role": "sales"})
    page = client.get("/settings/users").get_data(as_text=True)
    assert "Anil Accountant" in page and "pending@example.com" in page and "Pending" in page
