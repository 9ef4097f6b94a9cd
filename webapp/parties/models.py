"""Customers and suppliers: one party model (a business can be both)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.core.clock import now
from webapp.core.money import Money
from webapp.core.tenancy import TenantScoped
from webapp.extensions import db


class Party(TenantScoped, db.Model):
    __tablename__ = "party"
    __audited__ = True
    __org_index__ = False
    __table_args__ = (
        sa.UniqueConstraint("org_id", "code"),
        sa.Index("ix_party_org_name", "org_id", "name"),
        sa.CheckConstraint("credit_limit IS NULL OR credit_limit >= 0", name="credit_limit_not_negative"),
        sa.CheckConstraint("payment_terms_days >= 0", name="terms_not_negative"),
        sa.CheckConstraint("is_customer OR is_supplier", name="customer_or_supplier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(30))
    name: Mapped[str] = mapped_column(sa.String(200))
    is_customer: Mapped[bool] = mapped_column(default=True)
    is_supplier: Mapped[bool] = mapped_column(default=False)
    #: The counter sale's "walk-in customer" (one per organization).
    is_walk_in: Mapped[bool] = mapped_column(default=False)
    tax_id: Mapped[str | None] = mapped_column(sa.String(40))
    contact_name: Mapped[str | None] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    billing_address: Mapped[str | None] = mapped_column(sa.String(500))
    billing_city: Mapped[str | None] = mapped_column(sa.String(100))
    billing_postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    #: GST state code ("29") for India; free text elsewhere. Decides the place of supply.
    state: Mapped[str | None] = mapped_column(sa.String(60))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    shipping_address: Mapped[str | None] = mapped_column(sa.String(500))
    shipping_state: Mapped[str | None] = mapped_column(sa.String(60))
    credit_limit: Mapped[Decimal | None] = mapped_column(Money())
    payment_terms_days: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    version: Mapped[int] = mapped_column(default=1)

    @property
    def place_of_supply(self) -> str | None:
        """Where goods go: the shipping state, else the billing state."""
        return self.shipping_state or self.state

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"
