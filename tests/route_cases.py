"""Every route that takes an id, and how to make a real row for it.

The tenant-isolation test and the permission matrix walk the app's URL map.
A route with a URL argument must have a case here (a factory that creates a
row in the given organization and returns the URL values) or an exemption
with its reason; a new route with neither fails the suite.

Domains add their cases with `@case("endpoint", ...)`.
"""
from __future__ import annotations

from typing import Callable

CASES: dict[str, Callable] = {}

#: Routes whose argument is not a record of an organization.
EXEMPT = {
    "static": "static files",
    "orgs.accept": "the token is the credential; tested in test_invitations",
    "soon.page": "a slug naming a page, not a record",
    "sales.new_document": "a kind of document (invoice, quote, order), not a record",
}


#: URL values for exempt routes that the permission matrix still has to call.
EXEMPT_ARGS = {"sales.new_document": {"doc_type": "invoice"}}


def case(*endpoints: str):
    def decorator(factory):
        for endpoint in endpoints:
            CASES[endpoint] = factory
        return factory
    return decorator


@case("orgs.renew_invitation", "orgs.revoke_invitation")
def _invitation(org_id, owner_id):
    from webapp.auth.models import User
    from webapp.extensions import db
    from webapp.orgs import services
    from webapp.orgs.models import Organization
    org, owner = db.session.get(Organization, org_id), db.session.get(User, owner_id)
    inv, _ = services.invite(org, "someone.invited@example.com", "sales", owner)
    return {"invitation_id": inv.id}


@case("orgs.change_role", "orgs.deactivate", "orgs.reactivate")
def _membership(org_id, owner_id):
    from webapp.auth import services as auth
    from webapp.extensions import db
    from webapp.orgs.models import Membership
    n = next(_counter)
    user = auth.create_user(f"member{n}@example.com", "A Member", "correct-horse-battery-9")
    m = Membership(user_id=user.id, org_id=org_id, role="sales", active=True)
    db.session.add(m)
    db.session.flush()
    return {"membership_id": m.id}


@case("jobs.status", "jobs.download")
def _job(org_id, owner_id):
    from webapp.core import audit, jobs
    from webapp.extensions import db
    with audit.acting_as(owner_id):
        job = jobs.enqueue("audit_export", {}, title="Audit trail export", key=f"case-{next(_counter)}")
    jobs.discard_pending()
    job.status, job.progress = jobs.DONE, 100
    job.result_name, job.result_mime, job.result = "audit.csv", "text/csv", b"id\r\n"
    db.session.flush()
    return {"job_id": job.id}


import itertools  # noqa: E402
_counter = itertools.count(1)


def load_all_cases() -> None:
    """Import every domain's test cases module (they register with @case)."""
    import importlib
    import pkgutil
    import tests
    for mod in pkgutil.walk_packages(tests.__path__, "tests."):
        if mod.name.endswith(".cases"):
            importlib.import_module(mod.name)
