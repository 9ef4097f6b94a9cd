"""Factories that build realistic rows through the services, never behind them."""
from __future__ import annotations

import itertools

from webapp.core import audit
from webapp.core.tenancy import no_tenant, tenant
from webapp.extensions import db
from webapp.orgs import services as org_services
from webapp.orgs.services import OrgDetails

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count(1)

GST_KA = dict(country="IN", base_currency="INR", tax_regime="gst_india", state="29",
              fiscal_year_start_month=4, tax_id="29AAGCB7383J1Z4")
VAT_VN = dict(country="VN", base_currency="VND", tax_regime="vat", state="Hà Nội",
              fiscal_year_start_month=1, tax_id="0101234567")
NO_TAX_US = dict(country="US", base_currency="USD", tax_regime="none", state="NY",
                 fiscal_year_start_month=1)


def create_org(name: str | None = None, *, email: str | None = None, owner_name: str = "Olivia Owner",
               password: str = PASSWORD, **details):
    """Sign up an organization and its owner; commits. Returns (org_id, user_id)."""
    n = next(_seq)
    fields = dict(GST_KA)
    fields.update(details)
    d = OrgDetails(name=name or f"Shop {n}", legal_name=f"{name or f'Shop {n}'} Pvt Ltd", **fields)
    with no_tenant(), audit.acting_as(None):
        org, user = org_services.sign_up(d, user_name=owner_name, email=email or f"owner{n}@example.com",
                                         password=password)
        db.session.commit()
        return org.id, user.id


def add_member(org_id: int, role: str, *, email: str | None = None, name: str | None = None,
               password: str = PASSWORD) -> int:
    """Invite and accept in one go; commits. Returns the user id."""
    from webapp.auth import services as auth
    from webapp.orgs.models import Organization
    n = next(_seq)
    email = email or f"{role}{n}@example.com"
    with tenant(org_id):
        org = db.session.get(Organization, org_id)
        owner = next(m.user for m in org_services.members(org_id) if m.role == "owner")
        inv, token = org_services.invite(org, email, role, owner)
        user = auth.user_by_email(email) or auth.create_user(email, name or role.title(), password)
        org_services.accept_invitation(inv, user)
        db.session.commit()
        return user.id


def login(client, email: str, password: str = PASSWORD, follow: bool = False):
    return client.post("/login", data={"email": email, "password": password}, follow_redirects=follow)
