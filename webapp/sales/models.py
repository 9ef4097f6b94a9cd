"""Quotes, sales orders and invoices: one table of sales documents.

A quote or an order is confirmed; an invoice is posted (numbered, journal
entry, stock issued) and then paid (through allocations of payments) or
cancelled (the journal and the stock reversed; nothing deleted). A quote or
order is converted into an invoice, all lines or some; an order tracks what
has been invoiced of each line.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.core.clock import now
from webapp.core.money import Money, Quantity
from webapp.core.tenancy import TenantScoped
from webapp.core.trade import TradeDocumentMixin, TradeLineMixin
from webapp.extensions import db

#: A search token: PostgreSQL compares it byte by byte (collation "C").
TOKEN = sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql")

QUOTE, ORDER, INVOICE = "quote", "order", "invoice"
DOC_TYPES = {QUOTE: "Quote", ORDER: "Sales order", INVOICE: "Invoice"}

DRAFT, CONFIRMED, POSTED, CANCELLED = "draft", "confirmed", "posted", "cancelled"
PARTLY_INVOICED, INVOICED = "partly_invoiced", "invoiced"
UNPAID, PARTLY_PAID, PAID = "unpaid", "partly_paid", "paid"

#: Allowed state transitions per document type.
TRANSITIONS = {
    QUOTE: {DRAFT: {CONFIRMED, CANCELLED}, CONFIRMED: {PARTLY_INVOICED, INVOICED, CANCELLED},
            PARTLY_INVOICED: {CONFIRMED, INVOICED, CANCELLED}, INVOICED: {PARTLY_INVOICED, CONFIRMED},
            CANCELLED: set()},
    ORDER: {DRAFT: {CONFIRMED, CANCELLED}, CONFIRMED: {PARTLY_INVOICED, INVOICED, CANCELLED},
            PARTLY_INVOICED: {CONFIRMED, INVOICED, CANCELLED}, INVOICED: {PARTLY_INVOICED, CONFIRMED},
            CANCELLED: set()},
    INVOICE: {DRAFT: {POSTED}, POSTED: {CANCELLED}, CANCELLED: set()},
}


class SalesDocument(TradeDocumentMixin, TenantScoped, db.Model):
    __tablename__ = "sales_document"
    __audited__ = True
    __org_index__ = False
    __table_args__ = (
        sa.Index("uq_sales_document_number", "org_id", "doc_type", "number", unique=True,
                 sqlite_where=sa.text("number IS NOT NULL"), postgresql_where=sa.text("number IS NOT NULL")),
        sa.Index("ix_sales_document_list", "org_id", "doc_type", "date", "id"),
        sa.Index("ix_sales_document_status", "org_id", "doc_type", "status", "payment_status", "due_date"),
        # The list filtered by status, newest first, read from the index alone (docs/performance.md, "Sales").
        sa.Index("ix_sales_document_status_date", "org_id", "doc_type", "status", "payment_status", "date", "id",
                 postgresql_include=["due_date"]),
        # Open invoices by customer and due date, with what aging needs beside: aged receivables read
        # the index alone (docs/performance.md, "Payments").
        sa.Index("ix_sales_document_open", "org_id", "doc_type", "customer_id", "due_date",
                 postgresql_include=["date", "grand_total", "amount_paid"],
                 postgresql_where=sa.text("status = 'posted' AND payment_status <> 'paid'"),
                 sqlite_where=sa.text("status = 'posted' AND payment_status <> 'paid'")),
        # Open invoices newest first, due date beside: the overdue list reads the index alone
        # (docs/performance.md, "Sales").
        sa.Index("ix_sales_document_open_date", "org_id", "doc_type", "date", "id", postgresql_include=["due_date"],
                 postgresql_where=sa.text("status = 'posted' AND payment_status <> 'paid'"),
                 sqlite_where=sa.text("status = 'posted' AND payment_status <> 'paid'")),
        # A customer's documents by date, ids beside: the list searched by customer name reads the
        # index alone (migration 0016).
        sa.Index("ix_sales_document_customer", "org_id", "customer_id", "doc_type", "date", "id"),
        sa.Index("uq_sales_document_idempotency", "org_id", "idempotency_key", unique=True,
                 sqlite_where=sa.text("idempotency_key IS NOT NULL"),
                 postgresql_where=sa.text("idempotency_key IS NOT NULL")),
        sa.CheckConstraint("doc_type IN ('quote', 'order', 'invoice')", name="doc_type"),
        sa.CheckConstraint("status IN ('draft', 'confirmed', 'posted', 'partly_invoiced', 'invoiced', 'cancelled')",
                           name="status"),
        sa.CheckConstraint("payment_status IN ('unpaid', 'partly_paid', 'paid')", name="payment_status"),
        sa.CheckConstraint("amount_paid >= 0", name="paid_not_negative"),
        # A document is never paid more than its total (allocations check it too).
        sa.CheckConstraint("amount_paid <= grand_total", name="not_overpaid"),
        sa.CheckConstraint("(doc_type = 'invoice' AND status IN ('posted', 'cancelled')) = (number IS NOT NULL) "
                           "OR doc_type <> 'invoice'", name="invoice_number_when_posted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(16), default=DRAFT)
    number: Mapped[str | None] = mapped_column(sa.String(40))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party.id"))
    due_date: Mapped[date | None]
    valid_until: Mapped[date | None]
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    terms: Mapped[str | None] = mapped_column(sa.Text)
    #: The customer as printed on the document when it was posted or confirmed.
    customer_snapshot: Mapped[dict | None] = mapped_column(sa.JSON)
    amount_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    payment_status: Mapped[str] = mapped_column(sa.String(12), default=UNPAID)
    cost_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    #: A one-time key from the form, so a double submit creates one document.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sales_document.id"))
    location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("location.id"))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    cancel_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(300))
    posted_at: Mapped[datetime | None]
    posted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    customer = relationship("Party", lazy="joined")
    source = relationship("SalesDocument", remote_side=[id])
    lines = relationship("SalesLine", back_populates="document", order_by="SalesLine.position",
                         cascade="all, delete-orphan", lazy="selectin")

    @property
    def amount_due(self) -> Decimal:
        return self.grand_total - self.amount_paid

    def overdue_on(self, day: date) -> bool:
        return (self.doc_type == INVOICE and self.status == POSTED and self.payment_status != PAID
                and self.due_date is not None and self.due_date < day)

    def badge(self, day: date) -> str:
        """draft, unpaid, partly_paid, paid, overdue, cancelled (invoices); the status otherwise."""
        if self.doc_type != INVOICE or self.status != POSTED:
            return self.status
        if self.payment_status != PAID and self.overdue_on(day):
            return "overdue"
        return self.payment_status


class SalesLine(TradeLineMixin, TenantScoped, db.Model):
    __tablename__ = "sales_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_document.id", ondelete="CASCADE"), index=True)
    #: A batch chosen for an invoice line (else first-expiry-first-out at posting).
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch.id"))
    #: The order or quote line this invoice line came from.
    source_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sales_line.id"), index=True)
    #: On order lines: how much has been invoiced so far.
    invoiced_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    #: On posted invoice lines: the cost of goods sold.
    cost: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))

    document = relationship(SalesDocument, back_populates="lines")
    product = relationship("Product", lazy="joined")
    batch = relationship("Batch")

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.invoiced_quantity


class SalesDocumentSearch(TenantScoped, db.Model):
    """Pieces of a quote's, order's or invoice's number and reference that a search can start with
    (see sales/search.py): found with a range of `>=` and `<` and `starts_with`, which PostgreSQL's
    row-level security lets use an index (LIKE and ILIKE it does not). Written whenever a number
    or reference is (an ORM event), in the same transaction; gone with the document."""
    __tablename__ = "sales_document_search"
    __org_index__ = False
    __table_args__ = (
        sa.Index("ix_sales_document_search_token", "org_id", "token", "document_id"),
    )

    document_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_document.id", ondelete="CASCADE"),
                                             primary_key=True)
    #: A lower-cased suffix of 3+ characters of the number or the reference. Compared byte by byte
    #: (collation "C") on PostgreSQL, so that the strings starting with a prefix are one range.
    token: Mapped[str] = mapped_column(TOKEN, primary_key=True)
