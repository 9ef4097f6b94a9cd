"""`flask demo`: a demo organization a newcomer can log in to at once.

Domains add their demo data with `@demo_step`; each step runs inside the demo
organization's tenant, in order, and must be idempotent (the command can run
again on an existing demo).
"""
from __future__ import annotations

import sqlalchemy as sa

from webapp.core import audit
from webapp.core.tenancy import no_tenant, tenant
from webapp.extensions import db

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-pulse-2026"
DEMO_ORG_NAME = "Pulse Demo Traders"

DEMO_STEPS: list = []
#: Modules whose @demo_step functions make up the demo, in order.
DEMO_MODULES = ["webapp.ledger.demo", "webapp.inventory.demo", "webapp.sales.demo", "webapp.purchases.demo",
               "webapp.payments.demo"]


def demo_step(fn):
    DEMO_STEPS.append(fn)
    return fn


def build_demo():
    from importlib import import_module
    for module in DEMO_MODULES:
        import_module(module)
    from webapp.auth.services import user_by_email
    from webapp.orgs.models import Membership, Organization
    from webapp.orgs.services import OrgDetails, sign_up

    with no_tenant():
        user = user_by_email(DEMO_EMAIL)
        org = None
        if user is not None:
            org = db.session.scalars(sa.select(Organization).join(Membership, Membership.org_id == Organization.id)
                                     .where(Membership.user_id == user.id,
                                            Organization.name == DEMO_ORG_NAME)).first()
        if org is None:
            details = OrgDetails(
                name=DEMO_ORG_NAME, legal_name="Pulse Demo Traders Private Limited", country="IN",
                base_currency="INR", tax_regime="gst_india", fiscal_year_start_month=4,
                tax_id="29AAGCB7383J1Z4", state="29", address_line1="12, 4th Cross, Jayanagar",
                city="Bengaluru", postal_code="560011", phone="+91 80 4000 1234",
                email="accounts@example.com")
            with audit.acting_as(None, "cli", "flask demo"):
                org, user = sign_up(details, user_name="Asha Rao (demo owner)", email=DEMO_EMAIL,
                                    password=DEMO_PASSWORD)
            db.session.commit()
    with tenant(org.id), audit.acting_as(user.id, "cli", "flask demo"):
        for step in DEMO_STEPS:
            step(org, user)
            db.session.commit()
    return org
