"""Reads of stock: the shop-floor lookup, on hand, valuation, movements, reorder, expiry.

Current figures come from `StockBalance` (per product/batch/location) and
`ProductStock` (per product: quantity and value). Figures "as of" a past day
are the current ones minus the moves dated after that day, so the cost of a
report grows with the moves since the day asked for, not with all history.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from webapp.catalog.models import STOCKED, Product
from webapp.core.money import ZERO
from webapp.extensions import db
from webapp.inventory.models import Batch, Location, ProductStock, StockBalance, StockMove


def locations(active_only: bool = True) -> list[Location]:
    stmt = sa.select(Location).order_by(Location.is_default.desc(), Location.name)
    if active_only:
        stmt = stmt.where(Location.active.is_(True))
    return list(db.session.scalars(stmt))


def _like(q: str) -> str:
    return "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"


@dataclass
class LookupHit:
    product: Product
    on_hand: Decimal = ZERO
    rows: list[tuple[Location, Batch | None, Decimal]] = field(default_factory=list)


def find_by_code(code: str) -> Product | None:
    """Exact barcode or SKU (what a scanner types)."""
    code = (code or "").strip()
    if not code or len(code) > 40:
        return None
    return db.session.scalars(sa.select(Product).where(sa.or_(Product.barcode == code, Product.sku == code))
                              .order_by(Product.barcode.is_(None))).first()


def lookup(q: str, limit: int = 10) -> list[LookupHit]:
    """Products whose name, SKU, barcode or batch number contains `q`, with stock per place."""
    q = (q or "").strip()[:60]
    if len(q) < 2:
        return []
    like = _like(q)
    by_batch = sa.select(Batch.product_id).where(Batch.number.ilike(like))
    ids = list(db.session.scalars(
        sa.select(Product.id).where(Product.active.is_(True),
                                    sa.or_(Product.name.ilike(like), Product.sku.ilike(like),
                                           Product.barcode == q, Product.id.in_(by_batch)))
        .order_by(Product.name).limit(limit)))
    if not ids:
        return []
    products = {p.id: p for p in db.session.scalars(sa.select(Product).where(Product.id.in_(ids)))}
    hits = {pid: LookupHit(products[pid]) for pid in ids}
    rows = db.session.execute(
        sa.select(StockBalance.product_id, Location, Batch, StockBalance.quantity)
        .join(Location, Location.id == StockBalance.location_id)
        .outerjoin(Batch, Batch.id == StockBalance.batch_id)
        .where(StockBalance.product_id.in_(ids), StockBalance.quantity != 0)
        .order_by(Location.name, Batch.expiry_date)).all()
    for pid, loc, batch, qty in rows:
        hits[pid].rows.append((loc, batch, qty))
        hits[pid].on_hand += qty
    return [hits[pid] for pid in ids]


def stock_of(product: Product) -> list[tuple[Location, Batch | None, Decimal]]:
    return db.session.execute(
        sa.select(Location, Batch, StockBalance.quantity)
        .join(StockBalance, StockBalance.location_id == Location.id)
        .outerjoin(Batch, Batch.id == StockBalance.batch_id)
        .where(StockBalance.product_id == product.id, StockBalance.quantity != 0)
        .order_by(Location.name, Batch.expiry_date)).all()


def product_stock(product: Product) -> ProductStock | None:
    return db.session.scalars(sa.select(ProductStock).where(ProductStock.product_id == product.id)).first()


def on_hand_by_product(product_ids: list[int]) -> dict[int, Decimal]:
    if not product_ids:
        return {}
    rows = db.session.execute(sa.select(StockBalance.product_id, sa.func.sum(StockBalance.quantity))
                              .where(StockBalance.product_id.in_(product_ids))
                              .group_by(StockBalance.product_id)).all()
    return {pid: q or ZERO for pid, q in rows}


@dataclass
class ValuationRow:
    product: Product
    quantity: Decimal
    value: Decimal

    @property
    def unit_cost(self) -> Decimal | None:
        return (self.value / self.quantity).quantize(Decimal("0.01")) if self.quantity else None


def valuation(as_of: date, *, category: str | None = None, include_zero: bool = False) -> tuple[list[ValuationRow], Decimal]:
    """Quantity and value of every stocked product at the end of `as_of`."""
    current = {pid: (pq - bq, pv - bv) for pid, pq, bq, pv, bv in db.session.execute(
        sa.select(ProductStock.product_id, ProductStock.pool_quantity, ProductStock.backlog_quantity,
                  ProductStock.pool_value, ProductStock.backlog_value))}
    t = StockMove
    qty_in = sa.case((t.to_location_id.is_not(None) & t.from_location_id.is_(None), t.quantity), else_=0)
    qty_out = sa.case((t.from_location_id.is_not(None) & t.to_location_id.is_(None), t.quantity), else_=0)
    later = db.session.execute(
        sa.select(t.product_id, sa.func.sum(qty_in), sa.func.sum(qty_out), sa.func.sum(t.value_change))
        .where(t.date > as_of).group_by(t.product_id)).all()
    for pid, qin, qout, value in later:
        q, v = current.get(pid, (ZERO, ZERO))
        current[pid] = (q - Decimal(qin or 0) + Decimal(qout or 0), v - Decimal(value or 0))
    stmt = sa.select(Product).where(Product.kind == STOCKED).order_by(Product.name)
    if category:
        stmt = stmt.where(Product.category == category)
    rows, total = [], ZERO
    for p in db.session.scalars(stmt):
        q, v = current.get(p.id, (ZERO, ZERO))
        if q or v or include_zero:
            rows.append(ValuationRow(p, q, v))
            total += v
    return rows, total


def valuation_total(as_of: date) -> Decimal:
    current = db.session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(ProductStock.pool_value), 0),
        sa.func.coalesce(sa.func.sum(ProductStock.backlog_value), 0))).one()
    later = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockMove.value_change), 0))
                              .where(StockMove.date > as_of))
    return Decimal(current[0]) - Decimal(current[1]) - Decimal(later)


def movements(product: Product, date_from: date, date_to: date, limit: int = 200):
    """A product's moves in a period with the running organization-wide quantity."""
    t = StockMove
    signed = sa.case((t.to_location_id.is_not(None) & t.from_location_id.is_(None), t.quantity),
                     (t.from_location_id.is_not(None) & t.to_location_id.is_(None), -t.quantity), else_=0)
    opening = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(signed), 0))
                                .where(t.product_id == product.id, t.date < date_from))
    moves = db.session.scalars(sa.select(StockMove).where(t.product_id == product.id, t.date >= date_from,
                                                          t.date <= date_to).order_by(t.date, t.id).limit(limit)
                               .options(sa.orm.joinedload(StockMove.batch),
                                        sa.orm.joinedload(StockMove.from_location),
                                        sa.orm.joinedload(StockMove.to_location))).all()
    running, rows = Decimal(opening), []
    for m in moves:
        if m.to_location_id and not m.from_location_id:
            running += m.quantity
        elif m.from_location_id and not m.to_location_id:
            running -= m.quantity
        rows.append((m, running))
    return Decimal(opening), rows


@dataclass
class ReorderRow:
    product: Product
    on_hand: Decimal
    suggested: Decimal


def reorder() -> list[ReorderRow]:
    """Products at or below their reorder point, with how much to order."""
    on_hand = sa.func.coalesce(sa.select(sa.func.sum(StockBalance.quantity))
                               .where(StockBalance.product_id == Product.id).scalar_subquery(), 0)
    rows = db.session.execute(sa.select(Product, on_hand.label("on_hand"))
                              .where(Product.active.is_(True), Product.kind == STOCKED,
                                     Product.reorder_point.is_not(None))
                              .order_by(Product.name)).all()
    out = []
    for p, qty in rows:
        qty = Decimal(qty or 0)
        if qty <= p.reorder_point:
            # The reorder quantity, but never less than what brings stock back to
            # the reorder point; without one, enough for twice the reorder point.
            gap = p.reorder_point - qty
            suggested = max(p.reorder_quantity, gap) if p.reorder_quantity else p.reorder_point + gap
            out.append(ReorderRow(p, qty, max(suggested, Decimal(1))))
    return out


@dataclass
class ExpiringRow:
    batch: Batch
    product: Product
    location: Location
    quantity: Decimal
    days_left: int


def expiring(within_days: int, today: date) -> list[ExpiringRow]:
    """Batches on hand that expire within `within_days` (or already have)."""
    limit = today + timedelta(days=within_days)
    rows = db.session.execute(
        sa.select(Batch, Product, Location, StockBalance.quantity)
        .join(StockBalance, StockBalance.batch_id == Batch.id)
        .join(Product, Product.id == Batch.product_id)
        .join(Location, Location.id == StockBalance.location_id)
        .where(StockBalance.quantity > 0, Batch.expiry_date.is_not(None), Batch.expiry_date <= limit)
        .order_by(Batch.expiry_date, Product.name)).all()
    return [ExpiringRow(b, p, loc, q, (b.expiry_date - today).days) for b, p, loc, q in rows]


def categories() -> list[str]:
    return list(db.session.scalars(sa.select(Product.category).where(Product.category.is_not(None))
                                   .distinct().order_by(Product.category)))
