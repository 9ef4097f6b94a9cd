"""Purchase orders, goods receipts, supplier bills, and attachments.

A purchase order is sent, then received (in one or several goods receipts,
each with batches and expiry where the product needs them), then billed.
Receiving moves stock in at the receiving cost and posts inventory against
goods received not invoiced (GRNI). The supplier's bill clears GRNI at what
the goods were received at, posts input tax and the payable, and sends any
price difference to inventory (goods still on hand) or cost of goods sold
(goods already sold). The purchase order page matches, line by line, what
was ordered, received and billed.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from webapp.core.clock import now
from webapp.core.money import Money, Quantity, UnitPrice
from webapp.core.tenancy import TenantScoped
from webapp.core.trade import TradeDocumentMixin, TradeLineMixin
from webapp.extensions import db

ORDER, BILL = "order", "bill"
DRAFT, SENT, PARTLY_RECEIVED, RECEIVED, BILLED, POSTED, CANCELLED = (
    "draft", "sent", "partly_received", "received", "billed", "posted", "cancelled")
UNPAID, PARTLY_PAID, PAID = "unpaid", "partly_paid", "paid"

TRANSITIONS = {
    ORDER: {DRAFT: {SENT, CANCELLED}, SENT: {PARTLY_RECEIVED, RECEIVED, CANCELLED},
            PARTLY_RECEIVED: {RECEIVED, CANCELLED}, RECEIVED: {BILLED}, BILLED: set(), CANCELLED: set()},
    BILL: {DRAFT: {POSTED}, POSTED: {CANCELLED}, CANCELLED: set()},
}


class PurchaseDocument(TradeDocumentMixin, TenantScoped, db.Model):
    """A purchase order or a supplier bill."""

    __tablename__ = "purchase_document"
    #: The whole-rupee round-off is the seller's to choose: a bill carries the
    #: supplier's own (typed as the printed total), never ours.
    round_total_to_whole = False
    __audited__ = True
    __org_index__ = False
    __table_args__ = (
        sa.Index("uq_purchase_document_number", "org_id", "doc_type", "number", unique=True,
                 sqlite_where=sa.text("number IS NOT NULL"), postgresql_where=sa.text("number IS NOT NULL")),
        # The same supplier bill number twice for the same supplier is refused among posted bills.
        sa.Index("uq_purchase_document_supplier_bill", "org_id", "supplier_id", "supplier_reference", unique=True,
                 sqlite_where=sa.text("doc_type = 'bill' AND status = 'posted' AND supplier_reference IS NOT NULL"),
                 postgresql_where=sa.text("doc_type = 'bill' AND status = 'posted' "
                                          "AND supplier_reference IS NOT NULL")),
        sa.Index("ix_purchase_document_list", "org_id", "doc_type", "date", "id"),
        sa.Index("ix_purchase_document_supplier", "org_id", "supplier_id", "doc_type", "status"),
        # Open bills by supplier and due date (aged payables read the index alone).
        sa.Index("ix_purchase_document_open", "org_id", "doc_type", "supplier_id", "due_date",
                 postgresql_include=["date", "grand_total", "amount_paid"],
                 postgresql_where=sa.text("status = 'posted' AND payment_status <> 'paid'"),
                 sqlite_where=sa.text("status = 'posted' AND payment_status <> 'paid'")),
        sa.CheckConstraint("doc_type IN ('order', 'bill')", name="doc_type"),
        sa.CheckConstraint("status IN ('draft', 'sent', 'partly_received', 'received', 'billed', 'posted', "
                           "'cancelled')", name="status"),
        sa.CheckConstraint("payment_status IN ('unpaid', 'partly_paid', 'paid')", name="payment_status"),
        sa.CheckConstraint("amount_paid >= 0", name="paid_not_negative"),
        sa.CheckConstraint("amount_paid <= grand_total", name="not_overpaid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(16), default=DRAFT)
    number: Mapped[str | None] = mapped_column(sa.String(40))
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party.id"))
    #: The supplier's own bill number and date, as printed on their bill.
    supplier_reference: Mapped[str | None] = mapped_column(sa.String(60))
    supplier_date: Mapped[date | None]
    due_date: Mapped[date | None]
    expected_date: Mapped[date | None]
    location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("location.id"))
    supplier_snapshot: Mapped[dict | None] = mapped_column(sa.JSON)
    #: Tax typed from the supplier's bill; the difference to the computed tax goes to rounding.
    typed_tax: Mapped[Decimal | None] = mapped_column(Money())
    tax_difference: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    #: The total as printed on the supplier's bill; the difference (their round-off) goes to rounding.
    typed_total: Mapped[Decimal | None] = mapped_column(Money())
    amount_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    payment_status: Mapped[str] = mapped_column(sa.String(12), default=UNPAID)
    #: A bill made from a purchase order.
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_document.id"))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    cancel_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(300))
    cancelled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    supplier = relationship("Party", lazy="joined")
    lines = relationship("PurchaseLine", back_populates="document", order_by="PurchaseLine.position",
                         cascade="all, delete-orphan", lazy="selectin")

    @property
    def payable_total(self) -> Decimal:
        return self.grand_total

    @property
    def amount_due(self) -> Decimal:
        return self.grand_total - self.amount_paid

    def overdue_on(self, day: date) -> bool:
        return (self.doc_type == BILL and self.status == POSTED and self.payment_status != PAID
                and self.due_date is not None and self.due_date < day)

    def badge(self, day: date) -> str:
        if self.doc_type != BILL or self.status != POSTED:
            return self.status
        return "overdue" if self.overdue_on(day) else self.payment_status


class PurchaseLine(TradeLineMixin, TenantScoped, db.Model):
    __tablename__ = "purchase_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_document.id", ondelete="CASCADE"), index=True)
    #: Bill lines without a product: the expense account they are booked to.
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    #: Bill line → the order line it bills.
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_line.id"), index=True)
    #: Bill line → the goods receipt line it bills.
    receipt_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("goods_receipt_line.id", use_alter=True), index=True)  # the two line tables refer to each other
    #: Order lines: how much has arrived and how much has been billed.
    received_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    billed_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    #: Posted bill lines of received goods: what they cleared from GRNI.
    cleared_value: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))

    document = relationship(PurchaseDocument, back_populates="lines")
    product = relationship("Product", lazy="joined")
    account = relationship("Account")
    batch_id = None  # purchase lines take batches on the goods receipt

    @property
    def net_unit_price(self) -> Decimal:
        """Price per unit after discount, before tax: what a receipt costs the goods at."""
        return (self.taxable / self.quantity).quantize(Decimal("0.000001")) if self.quantity else self.unit_price


class GoodsReceipt(TenantScoped, db.Model):
    __tablename__ = "goods_receipt"
    __audited__ = True
    __table_args__ = (
        sa.Index("uq_goods_receipt_number", "org_id", "number", unique=True,
                 sqlite_where=sa.text("number IS NOT NULL"), postgresql_where=sa.text("number IS NOT NULL")),
        sa.CheckConstraint("status IN ('draft', 'posted')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(10), default=DRAFT)
    date: Mapped[date]
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party.id"))
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_document.id"), index=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    supplier_reference: Mapped[str | None] = mapped_column(sa.String(60))
    memo: Mapped[str | None] = mapped_column(sa.String(300))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    posted_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    version: Mapped[int] = mapped_column(default=1)

    supplier = relationship("Party", lazy="joined")
    order = relationship(PurchaseDocument)
    location = relationship("Location")
    lines = relationship("GoodsReceiptLine", back_populates="receipt", order_by="GoodsReceiptLine.position",
                         cascade="all, delete-orphan", lazy="selectin")


class GoodsReceiptLine(TenantScoped, db.Model):
    __tablename__ = "goods_receipt_line"
    __table_args__ = (sa.CheckConstraint("billed_quantity <= quantity", name="not_overbilled"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(sa.ForeignKey("goods_receipt.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product.id"))
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_line.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    unit_cost: Mapped[Decimal] = mapped_column(UnitPrice(), default=Decimal(0))
    batch_number: Mapped[str | None] = mapped_column(sa.String(40))
    expiry_date: Mapped[date | None]
    mrp: Mapped[Decimal | None] = mapped_column(UnitPrice())
    #: What this line was received at (set on posting): GRNI is cleared at this value.
    value: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    move_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_move.id"))
    billed_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    #: How much of `value` bills have cleared from GRNI so far.
    billed_value: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))

    receipt = relationship(GoodsReceipt, back_populates="lines")
    product = relationship("Product", lazy="joined")
    order_line = relationship(PurchaseLine, foreign_keys=[order_line_id])

    @property
    def unbilled_quantity(self) -> Decimal:
        return self.quantity - self.billed_quantity


class Attachment(TenantScoped, db.Model):
    """A file attached to a document, stored under a generated name (never the uploaded one)."""

    __tablename__ = "attachment"
    __audited__ = True
    __table_args__ = (sa.Index("ix_attachment_owner", "org_id", "owner_type", "owner_id"),
                      sa.CheckConstraint("size > 0", name="size_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(sa.String(30))
    owner_id: Mapped[int]
    stored_name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    #: Shown to people, never used as a file name anywhere.
    original_name: Mapped[str] = mapped_column(sa.String(200))
    mime: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    data: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
