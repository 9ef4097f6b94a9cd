"""Sign-up, organization settings, the organization switcher."""
import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, add_member, create_org, login
from webapp.extensions import db
from webapp.orgs.models import Membership, Organization

SIGNUP = {
    "name": "Kaveri Medicals", "legal_name": "Kaveri Medicals LLP", "country": "IN", "state": "29",
    "base_currency": "INR", "tax_regime": "gst_india", "fiscal_year_start_month": "4",
    "tax_id": "29AAGCB7383J1Z4", "address_line1": "5 MG Road", "city": "Bengaluru", "postal_code": "560001",
    "user_name": "Kavya Rao", "user_email": "Kavya@Example.com", "password": PASSWORD, "confirm": PASSWORD,
}


def test_signup_creates_organization_and_owner(app, client):
    r = client.post("/signup", data=SIGNUP)
    assert r.status_code == 303, r.data
    r = client.get("/home")
    assert b"Kaveri Medicals" in r.data and b"Owner" in r.data
    with app.app_context():
        org = db.session.scalars(sa.select(Organization)).one()
        assert (org.tax_regime, org.state, org.base_currency, org.fiscal_year_start_month) == ("gst_india", "29", "INR", 4)
        assert org.timezone == "Asia/Kolkata"
        m = db.session.scalars(sa.select(Membership)).one()
        assert m.role == "owner" and m.user.email == "kavya@example.com"


@pytest.mark.parametrize("change,field_message", [
    ({"name": ""}, b"Enter the business name"),
    ({"tax_id": "29AAGCB7383J1Z5"}, b"check character"),
    ({"tax_id": "27AAPFU0939F1ZV"}, b"registered in Maharashtra"),
    ({"state": ""}, b"Choose the state"),
    ({"country": "VN"}, b"India GST applies to organizations in India"),
    ({"base_currency": "XXX"}, b"Not a valid choice"),
    ({"password": "short", "confirm": "short"}, b"at least 10"),
    ({"confirm": "something-else-entirely"}, b"The two passwords differ"),
    ({"user_email": "not-an-email"}, b"valid e-mail"),
    ({"name": "A" * 500}, b"longer than 120"),
])
def test_signup_refuses_bad_input_and_writes_nothing(app, client, change, field_message):
    data = dict(SIGNUP, **change)
    r = client.post("/signup", data=data)
    assert r.status_code == 422
    assert field_message in r.data
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 0


def test_signup_with_an_existing_email_is_refused(app, client):
    with app.app_context():
        create_org(email="kavya@example.com")
    r = client.post("/signup", data=SIGNUP)
    assert r.status_code == 422 and b"already exists" in r.data
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1


def test_double_submit_of_signup_creates_one_organization(app, client, make_client):
    assert client.post("/signup", data=SIGNUP).status_code == 303
    other = make_client()
    assert other.post("/signup", data=SIGNUP).status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1


def test_vat_signup_in_vietnam(app, client):
    data = dict(SIGNUP, country="VN", state="", region="Hà Nội", base_currency="VND", tax_regime="vat",
                tax_id="0101234567", fiscal_year_start_month="1", user_email="lan@example.com")
    assert client.post("/signup", data=data).status_code == 303
    with app.app_context():
        org = db.session.scalars(sa.select(Organization)).one()
        assert (org.state, org.base_currency, org.tax_regime) == ("Hà Nội", "VND", "vat")


def test_switch_between_organizations(app, client):
    with app.app_context():
        a, _ = create_org("Alpha", email="multi@example.com")
        b, _ = create_org("Beta", email="beta-owner@example.com")
        add_member(b, "accountant", email="multi@example.com")
    login(client, "multi@example.com")
    assert b"Alpha" in client.get("/home").data
    r = client.post("/organizations/switch", data={"org_id": str(b)})
    assert r.status_code == 303
    page = client.get("/home").get_data(as_text=True)
    assert 'class="org-name">Beta<' in page and "Accountant" in page
    # An organization you do not belong to is not found.
    with app.app_context():
        c, _ = create_org("Gamma", email="gamma@example.com")
    assert client.post("/organizations/switch", data={"org_id": str(c)}).status_code == 404
    assert client.post("/organizations/switch", data={"org_id": "abc"}).status_code == 404
    assert client.post("/organizations/switch", data={"org_id": str(2**70)}).status_code == 404


def test_owner_adds_a_second_organization(app, client):
    with app.app_context():
        create_org("First", email="two@example.com")
    login(client, "two@example.com")
    data = {k: v for k, v in SIGNUP.items() if not k.startswith("user_") and k not in ("password", "confirm")}
    data["name"] = "Second Shop"
    r = client.post("/organizations/new", data=data)
    assert r.status_code == 303
    assert b"Second Shop" in client.get("/home").data


def test_settings_update_and_refusal(app, client):
    with app.app_context():
        create_org("Setty", email="set@example.com")
    login(client, "set@example.com")
    page = client.get("/settings/organization")
    assert page.status_code == 200
    data = dict(SIGNUP, name="Setty Renamed")
    r = client.post("/settings/organization", data=data)
    assert r.status_code == 303
    assert b"Setty Renamed" in client.get("/home").data
    r = client.post("/settings/organization", data=dict(data, tax_id="29AAGCB7383J1Z0"))
    assert r.status_code == 422
    with app.app_context():
        org = db.session.scalars(sa.select(Organization)).one()
        assert org.tax_id == "29AAGCB7383J1Z4"
