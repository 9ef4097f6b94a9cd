"""Reads about organizations."""
from __future__ import annotations

from webapp.core.tenancy import current_org_id
from webapp.extensions import db
from webapp.orgs.models import Organization


def current_organization() -> Organization:
    """The active organization (from the identity map after the first call)."""
    return db.session.get(Organization, current_org_id())
