"""Products: what a business sells, stocks or provides as a service."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.core.clock import now
from webapp.core.money import Quantity, Rate, UnitPrice
from webapp.core.tenancy import TenantScoped
from webapp.extensions import db

STOCKED, SERVICE = "stocked", "service"
KINDS = {STOCKED: "Stocked product", SERVICE: "Service"}
FIFO, LIFO, AVERAGE = "fifo", "lifo", "average"
COSTING_METHODS = {FIFO: "FIFO (first in, first out)", LIFO: "LIFO (last in, first out)",
                   AVERAGE: "Moving weighted average"}
UNITS = ["pcs", "box", "strip", "bottle", "pack", "kg", "g", "l", "ml", "m", "dozen", "hour", "service"]


class Product(TenantScoped, db.Model):
    __tablename__ = "product"
    __audited__ = True
    __org_index__ = False
    __table_args__ = (
        sa.UniqueConstraint("org_id", "sku"),
        sa.Index("uq_product_org_barcode", "org_id", "barcode", unique=True,
                 sqlite_where=sa.text("barcode IS NOT NULL"), postgresql_where=sa.text("barcode IS NOT NULL")),
        sa.Index("ix_product_org_name", "org_id", "name"),
        # SKU prefix search (`starts_with`, usable under row-level security; see inventory.queries.lookup).
        sa.Index("ix_product_org_sku_prefix", "org_id", "sku", postgresql_ops={"sku": "text_pattern_ops"}),
        sa.CheckConstraint("kind IN ('stocked', 'service')", name="kind"),
        sa.CheckConstraint("costing_method IN ('fifo', 'lifo', 'average')", name="costing_method"),
        sa.CheckConstraint("sale_price >= 0", name="sale_price_not_negative"),
        # Only comparisons with zero: on SQLite the column holds scaled integers
        # (see core/money.py), so "<= 100" would compare against 100 × 10⁴.
        sa.CheckConstraint("tax_rate >= 0", name="tax_rate_not_negative"),
        sa.CheckConstraint("kind = 'stocked' OR tracks_batches = false", name="service_has_no_batches"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(40))
    barcode: Mapped[str | None] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    unit: Mapped[str] = mapped_column(sa.String(20), default="pcs")
    category: Mapped[str | None] = mapped_column(sa.String(80), index=True)
    hsn_code: Mapped[str | None] = mapped_column(sa.String(10))
    tax_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal(0))
    sale_price: Mapped[Decimal] = mapped_column(UnitPrice(), default=Decimal(0))
    kind: Mapped[str] = mapped_column(sa.String(10), default=STOCKED)
    tracks_batches: Mapped[bool] = mapped_column(default=False)
    costing_method: Mapped[str] = mapped_column(sa.String(10), default=FIFO)
    reorder_point: Mapped[Decimal | None] = mapped_column(Quantity())
    reorder_quantity: Mapped[Decimal | None] = mapped_column(Quantity())
    active: Mapped[bool] = mapped_column(default=True)
    #: Who the reorder report orders from, and the price a purchase order starts at.
    preferred_supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party.id"))
    purchase_price: Mapped[Decimal | None] = mapped_column(UnitPrice())
    created_at: Mapped[datetime] = mapped_column(default=now)
    #: Bumped on every edit; a form carrying an older value is stale.
    version: Mapped[int] = mapped_column(default=1)

    @property
    def stocked(self) -> bool:
        return self.kind == STOCKED

    @property
    def label(self) -> str:
        return f"{self.name} ({self.sku})"


class ProductSearch(TenantScoped, db.Model):
    """Pieces of product names that a name search can start with (see catalog/search.py): found
    with equality and `starts_with`, which PostgreSQL's row-level security lets use an index (LIKE
    and ILIKE it does not). Rewritten with the product, in the same transaction."""
    __tablename__ = "product_search"
    __org_index__ = False
    __table_args__ = (
        # One key's matches come out in the lookup's order (name, id), with all the search reads.
        sa.Index("ix_product_search_key", "org_id", "key", "name", "product_id",
                 postgresql_include=["token", "active"]),
    )

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), primary_key=True)
    #: Lower-cased word suffix of 3+ characters, or " " + a whole word (a word start).
    token: Mapped[str] = mapped_column(sa.String(201), primary_key=True)
    #: The token's first three characters (a suffix) or its space and first letter (a word start).
    key: Mapped[str] = mapped_column(sa.String(3))
    name: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool]
