"""Organizations, memberships (a user's role in one organization), invitations."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from webapp.core.clock import now
from webapp.core.permissions import ROLES
from webapp.core.regions import GST_INDIA, NO_TAX, VAT
from webapp.core.tenancy import TenantScoped
from webapp.extensions import db

_role_check = "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"


class Organization(db.Model):
    """A business using SME Pulse. Not tenant-scoped: it *is* the tenant."""

    __tablename__ = "organization"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint(f"tax_regime IN ('{GST_INDIA}', '{VAT}', '{NO_TAX}')", name="tax_regime"),
        sa.CheckConstraint("fiscal_year_start_month BETWEEN 1 AND 12", name="fiscal_month"),
        sa.CheckConstraint("default_allocation_policy IN ('fifo', 'lifo', 'due', 'manual')", name="allocation_policy"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    legal_name: Mapped[str] = mapped_column(sa.String(200))
    tax_id: Mapped[str | None] = mapped_column(sa.String(40))
    country: Mapped[str] = mapped_column(sa.String(2))
    #: GST state code ("29") for India; free text elsewhere.
    state: Mapped[str | None] = mapped_column(sa.String(60))
    base_currency: Mapped[str] = mapped_column(sa.String(3))
    tax_regime: Mapped[str] = mapped_column(sa.String(20))
    fiscal_year_start_month: Mapped[int] = mapped_column(default=1)
    timezone: Mapped[str] = mapped_column(sa.String(60), default="UTC")
    address_line1: Mapped[str | None] = mapped_column(sa.String(200))
    address_line2: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=now)
    #: Nothing dated on or before this day may be posted, cancelled or reversed.
    lock_date: Mapped[date | None]
    #: Allow issuing more than is on hand (valued at the last cost, trued up on arrival).
    allow_negative_stock: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: Allow receiving more than a purchase order asked for.
    allow_over_receipt: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: What posting an invoice over a customer's credit limit does: block, warn or off.
    credit_limit_policy: Mapped[str] = mapped_column(sa.String(5), default="block", server_default="block")
    #: fifo, lifo, due or manual: how the payment screen first spreads a payment.
    default_allocation_policy: Mapped[str] = mapped_column(sa.String(6), default="fifo", server_default="fifo")
    #: Printed at the foot of every invoice.
    invoice_terms: Mapped[str | None] = mapped_column(sa.Text)
    logo: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    logo_mime: Mapped[str | None] = mapped_column(sa.String(30))
    #: Bumped when the logo or printed details change, so cached PDFs are redrawn.
    print_version: Mapped[int] = mapped_column(default=1, server_default="1")

    @property
    def org_id(self) -> int:
        # Lets the audit trail file changes to the organization under itself.
        return self.id

    @property
    def address_lines(self) -> list[str]:
        from webapp.core.regions import state_name
        tail = " ".join(x for x in [self.city, self.postal_code] if x)
        lines = [self.address_line1, self.address_line2, tail,
                 state_name(self.country, self.state)]
        return [line for line in lines if line]

    def __repr__(self):
        return f"<Organization {self.id} {self.name}>"


class Membership(db.Model):
    """A user's role in one organization.

    Not tenant-scoped by the ORM filter: it is what decides the tenant, and
    the organization switcher lists a user's memberships across organizations.
    """

    __tablename__ = "membership"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("user_id", "org_id"),
        sa.CheckConstraint(_role_check, name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    deactivated_at: Mapped[datetime | None]

    user = relationship("User", back_populates="memberships", foreign_keys=[user_id])
    organization = relationship(Organization, lazy="joined")


class Invitation(TenantScoped, db.Model):
    """An invitation to join one organization with a role, by e-mail address."""

    __tablename__ = "invitation"
    __audited__ = True
    __table_args__ = (sa.CheckConstraint(_role_check, name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[str] = mapped_column(sa.String(20))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None]

    invited_by = relationship("User", foreign_keys=[invited_by_id])

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at < now():
            return "expired"
        return "pending"
