"""Payments received and made, and what they settle.

A payment is money into or out of a cash or bank account from one party. It
posts one journal entry (cash or bank against receivables or payables, with
the party on the line) and is then allocated, wholly or in part, to that
party's open invoices (or bills). What is not allocated stays on the party's
account as a credit.

The rules are kept by the service *and* the database: an allocation settles
an invoice or a bill, never both; `payment.allocated_amount` can never exceed
the payment, and an invoice's `amount_paid` never its total (CHECK
constraints on rows that the service locks before changing).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.core.clock import now
from webapp.core.money import Money
from webapp.core.tenancy import TenantScoped
from webapp.extensions import db

IN, OUT = "in", "out"
METHODS = {"cash": "Cash", "bank_transfer": "Bank transfer", "card": "Card", "upi": "UPI", "cheque": "Cheque"}
POSTED, CANCELLED = "posted", "cancelled"
#: A payment with some of it neither allocated nor refunded (the predicate of ix_payment_credit).
CREDIT_LEFT = "status = 'posted' AND refund_of_id IS NULL AND allocated_amount + refunded_amount < amount"
#: How a payment is spread over the party's open invoices (or bills).
POLICIES = {"fifo": "Oldest first (FIFO)", "lifo": "Newest first (LIFO)", "due": "Earliest due date first",
            "manual": "Manual: I type the amounts"}


class Payment(TenantScoped, db.Model):
    __tablename__ = "payment"
    __audited__ = True
    __org_index__ = False
    __table_args__ = (
        sa.UniqueConstraint("org_id", "number"),
        sa.Index("uq_payment_idempotency", "org_id", "idempotency_key", unique=True,
                 sqlite_where=sa.text("idempotency_key IS NOT NULL"),
                 postgresql_where=sa.text("idempotency_key IS NOT NULL")),
        sa.Index("ix_payment_party", "org_id", "party_id", "date"),
        sa.Index("ix_payment_list", "org_id", "direction", "date", "id"),
        # Payments with credit left on them (aged balances, the allocation screen).
        sa.Index("ix_payment_credit", "org_id", "direction", "party_id",
                 postgresql_include=["date", "amount", "allocated_amount", "refunded_amount"],
                 postgresql_where=sa.text(CREDIT_LEFT), sqlite_where=sa.text(CREDIT_LEFT)),
        # A payment's refunds (few: only those rows are in it).
        sa.Index("ix_payment_refund_of", "org_id", "refund_of_id",
                 postgresql_where=sa.text("refund_of_id IS NOT NULL"), sqlite_where=sa.text("refund_of_id IS NOT NULL")),
        sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("allocated_amount >= 0", name="allocated_not_negative"),
        sa.CheckConstraint("allocated_amount <= amount", name="not_over_allocated"),
        sa.CheckConstraint("refunded_amount >= 0", name="refunded_not_negative"),
        sa.CheckConstraint("allocated_amount + refunded_amount <= amount", name="not_over_used"),
        sa.CheckConstraint("method IN ('cash', 'bank_transfer', 'card', 'upi', 'cheque')", name="method"),
        sa.CheckConstraint("status IN ('posted', 'cancelled')", name="status"),
        # A refund settles nothing: all of it went back to the party.
        sa.CheckConstraint("refund_of_id IS NULL OR allocated_amount = 0", name="refund_not_allocated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40))
    direction: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(10), default=POSTED)
    date: Mapped[date]
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"))
    method: Mapped[str] = mapped_column(sa.String(16), default="cash")
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    memo: Mapped[str | None] = mapped_column(sa.String(300))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[Decimal] = mapped_column(Money())
    allocated_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    #: Part of an unallocated credit paid back to the party.
    refunded_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    #: For a refund: the payment whose credit it paid back.
    refund_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    party = relationship("Party", lazy="joined")
    account = relationship("Account", lazy="joined")
    allocations = relationship("Allocation", back_populates="payment", order_by="Allocation.id")

    @property
    def unallocated(self) -> Decimal:
        """The credit left on the party's account: nothing for a refund or a cancelled payment."""
        if self.refund_of_id is not None or self.status != POSTED:
            return Decimal(0)
        return self.amount - self.allocated_amount - self.refunded_amount


class Allocation(TenantScoped, db.Model):
    """Part of a payment settling one invoice or one bill."""

    __tablename__ = "allocation"
    __audited__ = True
    __org_index__ = False
    __table_args__ = (
        sa.Index("ix_allocation_payment", "org_id", "payment_id"),
        sa.Index("ix_allocation_invoice", "org_id", "invoice_id"),
        sa.Index("ix_allocation_bill", "org_id", "bill_id"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("(invoice_id IS NULL) <> (bill_id IS NULL)", name="invoice_xor_bill"),
        sa.CheckConstraint("(unallocated_at IS NULL) = (unallocated_on IS NULL)", name="undone_with_a_day"),
        sa.CheckConstraint("unallocated_on IS NULL OR unallocated_on >= date", name="undone_after_made"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payment.id"))
    invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sales_document.id"))
    bill_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_document.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=now)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    unallocated_at: Mapped[datetime | None]
    #: The business day an allocation was undone (the reports "as of" a day use it, not the clock).
    unallocated_on: Mapped[date | None]
    unallocated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    payment = relationship(Payment, back_populates="allocations")
    invoice = relationship("SalesDocument")
    bill = relationship("PurchaseDocument")

    @property
    def active(self) -> bool:
        return self.unallocated_at is None


class AgedDay(TenantScoped, db.Model):
    """The day whose aged balances `AgedPartySum` holds, per organization and kind ("customer",
    "supplier"); none (`as_of` NULL) until a report first needs them. See payments/aging.py.

    Database triggers on sales_document and purchase_document lock this row (FOR KEY SHARE) before
    they change the sums; bringing the sums to a new day locks it FOR UPDATE, so the two never
    interleave."""

    __tablename__ = "aged_day"
    __org_index__ = False
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "kind"),
        sa.CheckConstraint("kind IN ('customer', 'supplier')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(sa.String(10))
    as_of: Mapped[date | None]


class AgedPartySum(TenantScoped, db.Model):
    """A party's open invoices (or bills) by age at the end of its `AgedDay`: what the aged report
    of today reads instead of adding up every open document. Kept by database triggers on every
    change of a posted document; rebuilt from the documents when the day changes."""

    __tablename__ = "aged_party_sum"
    __org_index__ = False
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "kind", "party_id"),
        sa.CheckConstraint("kind IN ('customer', 'supplier')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(sa.String(10))
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))
    current: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    d1_30: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    d31_60: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    d61_90: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    over_90: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))


class AgedSnapshotDay(TenantScoped, db.Model):
    """A past day whose aged balances `AgedSnapshot` holds, per organization and kind (PostgreSQL).
    Built the first time a report of that day is asked for (payments/aging.py); kept true by
    database triggers when something dated on or before it changes later (migration 0013)."""

    __tablename__ = "aged_snapshot_day"
    __org_index__ = False
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "kind", "day"),
        sa.CheckConstraint("kind IN ('customer', 'supplier')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(sa.String(10))
    day: Mapped[date]


class AgedSnapshot(TenantScoped, db.Model):
    """A party's open invoices (or bills) by age and its unallocated credit at the end of one of
    the `AgedSnapshotDay`s: what the aged report of that day reads instead of adding up the
    documents and allocations of then."""

    __tablename__ = "aged_snapshot"
    __org_index__ = False
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "kind", "day", "party_id"),
        sa.CheckConstraint("kind IN ('customer', 'supplier')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(sa.String(10))
    day: Mapped[date]
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"))
    current: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    d1_30: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    d31_60: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    d61_90: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    over_90: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    #: The party's payments not allocated nor refunded by then (a positive amount).
    unallocated: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
