"""Sign-up, organization settings, invitations, roles and deactivation."""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from webapp.auth import services as auth
from webapp.auth.models import User
from webapp.core.clock import now
from webapp.core.errors import DomainError, NotAllowed
from webapp.core.money import CURRENCIES
from webapp.core.permissions import OWNER, ROLE_LABELS, ROLES
from webapp.core.regions import COUNTRIES, GST_INDIA, INDIA_STATES, TAX_REGIMES
from webapp.core.taxids import gstin_problem
from webapp.core.tenancy import MAX_ID, activate, tenant
from webapp.extensions import db
from webapp.orgs.models import Invitation, Membership, Organization

log = logging.getLogger(__name__)

INVITATION_LIFETIME = timedelta(days=7)

#: Called with the new organization inside the sign-up transaction, with the
#: new organization active; later domains register set-up steps here (the
#: chart of accounts, the default warehouse).
ORG_SETUP_STEPS: list = []


def org_setup_step(fn):
    ORG_SETUP_STEPS.append(fn)
    return fn


@dataclass
class OrgDetails:
    name: str
    legal_name: str
    country: str
    base_currency: str
    tax_regime: str
    fiscal_year_start_month: int = 1
    tax_id: str | None = None
    state: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    email: str | None = None


def check_org_details(d: OrgDetails) -> None:
    """Refuse details that would make tax or money wrong later."""
    if not d.name.strip():
        raise DomainError("Enter the organization's name.", field="name")
    if d.country not in COUNTRIES:
        raise DomainError("Choose a country from the list.", field="country")
    if d.base_currency not in CURRENCIES:
        raise DomainError("Choose a currency from the list.", field="base_currency")
    if d.tax_regime not in TAX_REGIMES:
        raise DomainError("Choose a tax regime from the list.", field="tax_regime")
    if not 1 <= int(d.fiscal_year_start_month) <= 12:
        raise DomainError("Choose the month the fiscal year starts.", field="fiscal_year_start_month")
    if d.tax_regime == GST_INDIA:
        if d.country != "IN":
            raise DomainError("India GST applies to organizations in India.", field="tax_regime")
        if d.state not in INDIA_STATES:
            raise DomainError("Choose the state you are registered in; it decides CGST/SGST or IGST.",
                              field="state")
        if d.tax_id:
            problem = gstin_problem(d.tax_id)
            if problem:
                raise DomainError(problem, field="tax_id")
            if d.tax_id[:2] != d.state:
                raise DomainError(f"This GSTIN is registered in {INDIA_STATES.get(d.tax_id[:2], 'another state')}, "
                                  f"not {INDIA_STATES[d.state]}.", field="tax_id")


def _apply(org: Organization, d: OrgDetails) -> None:
    org.name = d.name.strip()
    org.legal_name = (d.legal_name or d.name).strip()
    org.country = d.country
    org.base_currency = d.base_currency
    org.tax_regime = d.tax_regime
    org.fiscal_year_start_month = int(d.fiscal_year_start_month)
    org.tax_id = (d.tax_id or "").strip().upper() or None
    org.state = (d.state or "").strip() or None
    for field in ("address_line1", "address_line2", "city", "postal_code", "phone", "email"):
        setattr(org, field, (getattr(d, field) or "").strip() or None)


def sign_up(details: OrgDetails, *, user_name: str, email: str, password: str) -> tuple[Organization, User]:
    """Create an organization and its first user, an owner.

    Leaves the new organization active for the rest of the request.
    """
    check_org_details(details)
    user = auth.create_user(email, user_name, password)
    org = create_organization(details, owner=user)
    return org, user


def create_organization(details: OrgDetails, *, owner: User) -> Organization:
    check_org_details(details)
    org = Organization(timezone=COUNTRIES[details.country][3])
    _apply(org, details)
    db.session.add(org)
    db.session.flush()
    activate(org.id)
    db.session.add(Membership(user_id=owner.id, org_id=org.id, role=OWNER, active=True))
    db.session.flush()
    for step in ORG_SETUP_STEPS:
        step(org)
    db.session.flush()
    return org


def update_organization(org: Organization, details: OrgDetails) -> None:
    check_org_details(details)
    if details.base_currency != org.base_currency and _has_documents(org):
        raise DomainError("The base currency cannot change once documents exist.", field="base_currency")
    _apply(org, details)
    db.session.flush()


#: Predicates registered by domains that own documents ("is anything posted?").
DOCUMENT_CHECKS: list = []


def _has_documents(org: Organization) -> bool:
    return any(check(org) for check in DOCUMENT_CHECKS)


def memberships_of(user: User) -> list[Membership]:
    return sorted((m for m in user.memberships if m.active), key=lambda m: m.organization.name.lower())


def membership(user_id: int, org_id: int) -> Membership | None:
    return db.session.scalars(sa.select(Membership).where(
        Membership.user_id == user_id, Membership.org_id == org_id)).first()


def members(org_id: int) -> list[Membership]:
    return list(db.session.scalars(
        sa.select(Membership).join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id)
        .order_by(Membership.active.desc(), User.name)))


def _active_owners(org_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(
        Membership.org_id == org_id, Membership.role == OWNER, Membership.active.is_(True)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(org: Organization, email: str, role: str, invited_by: User) -> tuple[Invitation, str]:
    """Create an invitation; returns it and the raw token for the link."""
    email = auth.normalise_email(email)
    if role not in ROLES:
        raise DomainError("Choose a role from the list.", field="role")
    existing_user = auth.user_by_email(email)
    if existing_user is not None:
        m = membership(existing_user.id, org.id)
        if m is not None and m.active:
            raise DomainError(f"{email} is already a member of {org.name}.", field="email")
    # A new invitation replaces any pending one for the same address.
    db.session.execute(sa.update(Invitation)
                       .where(Invitation.email == email, Invitation.accepted_at.is_(None),
                              Invitation.revoked_at.is_(None))
                       .values(revoked_at=now()))
    token = f"{org.id}.{secrets.token_urlsafe(24)}"
    inv = Invitation(email=email, role=role, token_hash=_hash(token), invited_by_id=invited_by.id,
                     expires_at=now() + INVITATION_LIFETIME)
    db.session.add(inv)
    db.session.flush()
    return inv, token


def revoke_invitation(inv: Invitation) -> None:
    if inv.status != "pending":
        raise DomainError("Only a pending invitation can be withdrawn.")
    inv.revoked_at = now()
    db.session.flush()


def find_invitation(token: str) -> Invitation | None:
    """Look an invitation up by its raw token, under its own organization.

    The organization id in the token only chooses where to look; the token
    itself must match a stored hash there.
    """
    org_part, _, secret = (token or "").partition(".")
    if not org_part.isdigit() or not secret or len(token) > 100 or not 0 < int(org_part) <= MAX_ID:
        return None
    with tenant(int(org_part)):
        return db.session.scalars(sa.select(Invitation).where(Invitation.token_hash == _hash(token))).first()


def accept_invitation(inv: Invitation, user: User) -> Membership:
    if inv.status != "pending":
        raise DomainError({"accepted": "This invitation has already been used.",
                           "revoked": "This invitation was withdrawn. Ask for a new one.",
                           "expired": "This invitation has expired. Ask for a new one."}[inv.status])
    if user.email != inv.email:
        raise DomainError(f"This invitation is for {inv.email}; you are signed in as {user.email}.")
    m = membership(user.id, inv.org_id)
    if m is None:
        m = Membership(user_id=user.id, org_id=inv.org_id, role=inv.role, active=True)
        db.session.add(m)
    else:
        m.role, m.active, m.deactivated_at = inv.role, True, None
    inv.accepted_at = now()
    inv.accepted_by_id = user.id
    db.session.flush()
    return m


def change_role(m: Membership, role: str, by: User) -> None:
    if role not in ROLES:
        raise DomainError("Choose a role from the list.", field="role")
    if m.role == OWNER and role != OWNER and m.active and _active_owners(m.org_id) <= 1:
        raise DomainError("This is the only owner; make someone else an owner first.", field="role")
    m.role = role
    db.session.flush()


def deactivate(m: Membership, by: User) -> None:
    if m.user_id == by.id:
        raise NotAllowed("You cannot deactivate yourself.")
    if not m.active:
        raise DomainError("This user is already deactivated.")
    if m.role == OWNER and _active_owners(m.org_id) <= 1:
        raise DomainError("This is the only owner; make someone else an owner first.")
    m.active = False
    m.deactivated_at = now()
    # Logged out everywhere at once: every session of this user is revoked.
    auth.revoke_all_sessions(m.user_id)
    db.session.flush()


def reactivate(m: Membership) -> None:
    if m.active:
        raise DomainError("This user is already active.")
    m.active = True
    m.deactivated_at = None
    db.session.flush()


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def invitation_mail(org: Organization, inv: Invitation, link: str, inviter: User) -> tuple[str, str]:
    subject = f"{inviter.name} invited you to {org.name} on SME Pulse"
    body = (f"Hello,\n\n{inviter.name} ({inviter.email}) invited you to join {org.name} on SME Pulse "
            f"as {role_label(inv.role)}.\n\nAccept the invitation here (valid for 7 days):\n{link}\n\n"
            "If you were not expecting this, ignore this message.\n")
    return subject, body


MAX_LOGO_BYTES = 512 * 1024
_SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
CREDIT_POLICIES = {"block": "Refuse to post (an owner or accountant may override)",
                   "warn": "Post, with a warning", "off": "Ignore credit limits"}


def set_printing(org: Organization, *, invoice_prefix: str, invoice_terms: str | None,
                 credit_limit_policy: str) -> None:
    from webapp.core import numbering
    prefix = (invoice_prefix or "").strip()
    if not prefix or len(prefix) > 30 or any(c.isspace() for c in prefix.replace("{fy}", "").replace("{year}", "")):
        raise DomainError("A prefix is up to 30 characters without spaces, e.g. INV-{fy}-.", field="invoice_prefix")
    if credit_limit_policy not in CREDIT_POLICIES:
        raise DomainError("Choose what a credit limit does.", field="credit_limit_policy")
    numbering.set_series("invoice", prefix, 5)
    org.invoice_terms = (invoice_terms or "").strip() or None
    org.credit_limit_policy = credit_limit_policy
    org.print_version += 1
    db.session.flush()


def set_logo(org: Organization, data: bytes | None, mime: str | None) -> None:
    """Store a PNG or JPEG logo (checked by its first bytes, at most 512 KB); None removes it."""
    if data is None:
        org.logo, org.logo_mime = None, None
    else:
        if not data:
            raise DomainError("The file is empty.", field="logo")
        if len(data) > MAX_LOGO_BYTES:
            raise DomainError(f"A logo is at most {MAX_LOGO_BYTES // 1024} KB.", field="logo")
        kind = next((m for m, sig in _SIGNATURES.items() if data.startswith(sig)), None)
        if kind is None:
            raise DomainError("A logo is a PNG or JPEG image.", field="logo")
        org.logo, org.logo_mime = data, kind
    org.print_version += 1
    db.session.flush()
