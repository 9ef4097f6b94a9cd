"""Stock: locations, batches, the append-only ledger of moves, and what it adds up to.

- `StockMove`: one movement of a quantity of one product (and batch) from a
  location to another. `from_location_id` is empty for stock coming in
  (receipt, return from a customer, a positive adjustment) and
  `to_location_id` is empty for stock going out (sale, return to supplier,
  write-off). A transfer has both. `value_change` is what the move did to the
  inventory value (+ in, − out, 0 for transfers); a `revaluation` move has no
  quantity and only a value change (the true-up after negative stock).
  Moves are never changed: triggers refuse UPDATE and DELETE.
- `StockBalance`: on hand per product, batch and location, updated in the
  same transaction as the move with a guarded UPDATE, so it cannot go below
  zero unless the organization allows negative stock.
- `ProductStock`: one row per stocked product holding the organization-wide
  quantity and value, the last unit cost, and the backlog of quantity issued
  while there was none (negative stock) with the value already charged for
  it. Every stock operation locks this row first, so one product's moves are
  applied one at a time.
- `CostLayer`: FIFO/LIFO layers (what came in, at what cost, what is left).
  Moving-average products use ProductStock's quantity and value only.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.core.clock import now
from webapp.core.money import Money, Quantity, UnitPrice
from webapp.core.tenancy import TenantScoped
from webapp.extensions import db

WAREHOUSE, STORE = "warehouse", "store"

RECEIPT, ISSUE, TRANSFER = "receipt", "issue", "transfer"
ADJUSTMENT_IN, ADJUSTMENT_OUT, WRITE_OFF = "adjustment_in", "adjustment_out", "write_off"
RETURN_IN, RETURN_OUT, OPENING, REVALUATION = "return_in", "return_out", "opening", "revaluation"
MOVE_KINDS = {
    RECEIPT: "Receipt", ISSUE: "Issue", TRANSFER: "Transfer", ADJUSTMENT_IN: "Adjustment (in)",
    ADJUSTMENT_OUT: "Adjustment (out)", WRITE_OFF: "Write-off", RETURN_IN: "Return from customer",
    RETURN_OUT: "Return to supplier", OPENING: "Opening stock", REVALUATION: "Cost true-up",
}
INBOUND = {RECEIPT, ADJUSTMENT_IN, RETURN_IN, OPENING}
OUTBOUND = {ISSUE, ADJUSTMENT_OUT, WRITE_OFF, RETURN_OUT}


class Location(TenantScoped, db.Model):
    __tablename__ = "location"
    __audited__ = True
    __org_index__ = False
    __table_args__ = (sa.UniqueConstraint("org_id", "code"),
                      sa.CheckConstraint("kind IN ('warehouse', 'store')", name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(10), default=WAREHOUSE)
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Batch(TenantScoped, db.Model):
    """A lot of one product: its number, expiry and printed MRP / list price."""

    __tablename__ = "batch"
    __audited__ = True
    __org_index__ = False
    __table_args__ = (sa.UniqueConstraint("org_id", "product_id", "number"),
                      sa.Index("ix_batch_org_expiry", "org_id", "expiry_date"),
                      # Batch-number prefix search (`starts_with`, usable under row-level security).
                      sa.Index("ix_batch_org_number_prefix", "org_id", "number",
                               postgresql_ops={"number": "text_pattern_ops"}))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    number: Mapped[str] = mapped_column(sa.String(40))
    expiry_date: Mapped[date | None]
    mrp: Mapped[Decimal | None] = mapped_column(UnitPrice())
    created_at: Mapped[datetime] = mapped_column(default=now)

    product = relationship("Product")

    def expired_on(self, d: date) -> bool:
        return self.expiry_date is not None and self.expiry_date < d


class StockMove(TenantScoped, db.Model):
    __tablename__ = "stock_move"
    __org_index__ = False
    __table_args__ = (
        sa.Index("ix_stock_move_product_date", "org_id", "product_id", "date", "id"),
        sa.Index("ix_stock_move_org_date", "org_id", "date"),
        sa.Index("ix_stock_move_source", "org_id", "source_type", "source_id"),
        sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        sa.CheckConstraint("(kind = 'revaluation' AND quantity = 0) OR (kind <> 'revaluation' AND quantity > 0)",
                           name="quantity_positive"),
        sa.CheckConstraint("from_location_id IS NULL OR to_location_id IS NULL "
                           "OR from_location_id <> to_location_id", name="from_is_not_to"),
        sa.CheckConstraint("kind = 'revaluation' OR from_location_id IS NOT NULL OR to_location_id IS NOT NULL",
                           name="has_a_location"),
        sa.CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[date]
    kind: Mapped[str] = mapped_column(sa.String(20))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch.id"))
    from_location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("location.id"))
    to_location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("location.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_cost: Mapped[Decimal] = mapped_column(UnitPrice(), default=Decimal(0))
    #: What this move did to the inventory value: + in, − out, 0 for a transfer.
    value_change: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    source_type: Mapped[str] = mapped_column(sa.String(40))
    source_id: Mapped[int | None]
    source_number: Mapped[str | None] = mapped_column(sa.String(60))
    created_at: Mapped[datetime] = mapped_column(default=now)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    product = relationship("Product")
    batch = relationship(Batch)
    from_location = relationship(Location, foreign_keys=[from_location_id])
    to_location = relationship(Location, foreign_keys=[to_location_id])


class StockBalance(TenantScoped, db.Model):
    __tablename__ = "stock_balance"
    __org_index__ = False
    __table_args__ = (
        # One row per product, batch (or none) and location.
        sa.Index("uq_stock_balance_key", "org_id", "product_id", "location_id",
                 sa.text("coalesce(batch_id, 0)"), unique=True),
        sa.Index("ix_stock_balance_location", "org_id", "location_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch.id"))
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))

    batch = relationship(Batch)
    location = relationship(Location)


class ProductStock(TenantScoped, db.Model):
    """Organization-wide quantity and value of one product; the row every move locks."""

    __tablename__ = "product_stock"
    __org_index__ = False
    __table_args__ = (
        sa.UniqueConstraint("org_id", "product_id"),
        sa.CheckConstraint("pool_quantity >= 0 AND pool_value >= 0", name="pool_not_negative"),
        sa.CheckConstraint("backlog_quantity >= 0 AND backlog_value >= 0", name="backlog_not_negative"),
        sa.CheckConstraint("backlog_quantity = 0 OR pool_quantity = 0", name="backlog_only_when_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    #: Units held and what they cost (for FIFO/LIFO the sum of the layers).
    pool_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    pool_value: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    #: Units issued while there were none, and the value already charged for them.
    backlog_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    backlog_value: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    last_unit_cost: Mapped[Decimal] = mapped_column(UnitPrice(), default=Decimal(0))

    @property
    def on_hand(self) -> Decimal:
        return self.pool_quantity - self.backlog_quantity

    @property
    def value(self) -> Decimal:
        return self.pool_value - self.backlog_value


class CostLayer(TenantScoped, db.Model):
    __tablename__ = "cost_layer"
    __org_index__ = False
    __table_args__ = (
        sa.Index("ix_cost_layer_open", "org_id", "product_id", "remaining_quantity", "id"),
        sa.CheckConstraint("remaining_quantity >= 0 AND remaining_value >= 0", name="remaining_not_negative"),
        sa.CheckConstraint("remaining_quantity <= quantity", name="remaining_at_most_received"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    move_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_move.id"))
    date: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_cost: Mapped[Decimal] = mapped_column(UnitPrice())
    remaining_quantity: Mapped[Decimal] = mapped_column(Quantity())
    remaining_value: Mapped[Decimal] = mapped_column(Money())


# ---------------------------------------------------------------- stock documents

DRAFT, POSTED, CANCELLED = "draft", "posted", "cancelled"
ADJUSTMENT, WRITE_OFF_DOC, OPENING_DOC = "adjustment", "write_off", "opening"
REASONS = {"count": "Count difference", "damage": "Damage", "expiry": "Expiry", "theft": "Theft",
           "opening": "Opening stock", "other": "Other"}


class StockAdjustment(TenantScoped, db.Model):
    """Quantities added or removed at one location for a reason; approved, then posted."""

    __tablename__ = "stock_adjustment"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'posted', 'cancelled')", name="status"),
        sa.CheckConstraint("kind IN ('adjustment', 'write_off', 'opening')", name="kind"),
        sa.CheckConstraint("reason IN ('count', 'damage', 'expiry', 'theft', 'opening', 'other')", name="reason"),
    )
    TRANSITIONS = {DRAFT: {POSTED, CANCELLED}, POSTED: set(), CANCELLED: set()}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(12), default=ADJUSTMENT)
    reason: Mapped[str] = mapped_column(sa.String(12), default="count")
    status: Mapped[str] = mapped_column(sa.String(10), default=DRAFT)
    date: Mapped[date]
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    memo: Mapped[str] = mapped_column(sa.String(300), default="")
    stocktake_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stocktake.id"))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    version: Mapped[int] = mapped_column(default=1)

    location = relationship(Location)
    lines = relationship("StockAdjustmentLine", back_populates="adjustment", cascade="all, delete-orphan",
                         order_by="StockAdjustmentLine.position", lazy="selectin")


class StockAdjustmentLine(TenantScoped, db.Model):
    __tablename__ = "stock_adjustment_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    adjustment_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_adjustment.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product.id"))
    batch_number: Mapped[str | None] = mapped_column(sa.String(40))
    expiry_date: Mapped[date | None]
    #: + adds stock, − removes it.
    quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    #: For additions: the cost per unit (empty = the product's current cost).
    unit_cost: Mapped[Decimal | None] = mapped_column(UnitPrice())

    adjustment = relationship(StockAdjustment, back_populates="lines")
    product = relationship("Product", lazy="joined")


class StockTransfer(TenantScoped, db.Model):
    __tablename__ = "stock_transfer"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'posted', 'cancelled')", name="status"),
        sa.CheckConstraint("from_location_id <> to_location_id", name="from_is_not_to"),
    )
    TRANSITIONS = {DRAFT: {POSTED, CANCELLED}, POSTED: set(), CANCELLED: set()}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(10), default=DRAFT)
    date: Mapped[date]
    from_location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    to_location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    memo: Mapped[str] = mapped_column(sa.String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    version: Mapped[int] = mapped_column(default=1)

    from_location = relationship(Location, foreign_keys=[from_location_id])
    to_location = relationship(Location, foreign_keys=[to_location_id])
    lines = relationship("StockTransferLine", back_populates="transfer", cascade="all, delete-orphan",
                         order_by="StockTransferLine.position", lazy="selectin")


class StockTransferLine(TenantScoped, db.Model):
    __tablename__ = "stock_transfer_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_transfer.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product.id"))
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))

    transfer = relationship(StockTransfer, back_populates="lines")
    product = relationship("Product", lazy="joined")
    batch = relationship(Batch, lazy="joined")


COUNTING, DONE = "counting", "done"


class Stocktake(TenantScoped, db.Model):
    """A count sheet for one location: what the books say, what was counted."""

    __tablename__ = "stocktake"
    __audited__ = True
    __table_args__ = (sa.CheckConstraint("status IN ('counting', 'done', 'cancelled')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(40))
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id"))
    date: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(10), default=COUNTING)
    memo: Mapped[str] = mapped_column(sa.String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    location = relationship(Location)
    lines = relationship("StocktakeLine", back_populates="stocktake", cascade="all, delete-orphan",
                         order_by="StocktakeLine.position", lazy="selectin")


class StocktakeLine(TenantScoped, db.Model):
    __tablename__ = "stocktake_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(sa.ForeignKey("stocktake.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch.id"))
    #: On hand in the books when the sheet was made.
    expected: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    counted: Mapped[Decimal | None] = mapped_column(Quantity())
    counted_at: Mapped[datetime | None]

    stocktake = relationship(Stocktake, back_populates="lines")
    product = relationship("Product", lazy="joined")
    batch = relationship(Batch, lazy="joined")

    @property
    def difference(self) -> Decimal | None:
        return None if self.counted is None else self.counted - self.expected
