"""Every change to stock: moves, balances, cost pools, and the ledger lines they cause.

`apply(specs, …)` is the one way stock changes. It locks the cost pool of
each product involved (in product-id order, so concurrent postings never
deadlock), checks everything, then in one savepoint writes the moves, updates
on-hand per product/batch/location with a guarded UPDATE (never below zero
unless the organization allows negative stock), consumes or adds cost layers
(FIFO, LIFO) or updates the moving average, and returns the moves with the
ledger lines that value them. The caller posts those lines in its own single
journal entry (a sale posts receivables, sales, tax and cost of goods sold
together); inventory documents (adjustments, transfers) post their own.

Negative stock (when allowed): what is issued beyond the pool is charged at
the last known unit cost and remembered as a backlog; the next receipt first
covers the backlog at its real cost and posts the difference as a true-up
(a `revaluation` move against cost of goods sold).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from webapp.catalog.models import FIFO, LIFO, Product
from webapp.core import audit
from webapp.core.errors import DomainError
from webapp.core.money import MAX_AMOUNT, ZERO, currency
from webapp.core.tx import atomic
from webapp.extensions import db, on_postgres
from webapp.inventory.engine import StockPlan
from webapp.inventory.models import (ADJUSTMENT_IN, ADJUSTMENT_OUT, INBOUND, ISSUE, MOVE_KINDS, OPENING,
                                     OUTBOUND, RECEIPT, RETURN_IN, RETURN_OUT, REVALUATION, TRANSFER, WRITE_OFF,
                                     Batch, CostLayer, Location, ProductStock, StockBalance, StockMove)
from webapp.ledger.services import Line, check_open
from webapp.orgs.queries import current_organization
from webapp.orgs.services import DOCUMENT_CHECKS, org_setup_step

QTY = Decimal("0.001")
UNIT_COST = Decimal("0.000001")

#: The account each kind of move is valued against (inventory is the other side).
COUNTER_ROLE = {
    RECEIPT: "grni", OPENING: "opening_balance_equity", ADJUSTMENT_IN: "stock_adjustments",
    ADJUSTMENT_OUT: "stock_adjustments", WRITE_OFF: "stock_adjustments", ISSUE: "cogs",
    RETURN_IN: "cogs", RETURN_OUT: "grni", REVALUATION: "cogs",
}


@dataclass(frozen=True)
class MoveSpec:
    """One requested movement. Inbound moves need a unit cost; batch-tracked
    products need a batch, except outbound moves, which are given batches
    first-expiry-first-out when none is named."""
    kind: str
    product: Product
    quantity: Decimal
    from_location: Location | None = None
    to_location: Location | None = None
    batch: Batch | None = None
    unit_cost: Decimal | None = None
    #: Overrides the usual counter account (e.g. "payables" for a return of billed goods).
    counter_role: str | None = None
    #: For stock coming back: its exact value (what it left at), instead of quantity × unit cost.
    value: Decimal | None = None


@dataclass
class StockResult:
    moves: list[StockMove] = field(default_factory=list)
    ledger_lines: list[Line] = field(default_factory=list)
    #: Cost of what went out (issues, write-offs…), by spec index, for documents that show margins.
    cost_by_spec: dict[int, Decimal] = field(default_factory=dict)

    @property
    def cost_out(self) -> Decimal:
        return -sum((m.value_change for m in self.moves if m.kind in OUTBOUND), ZERO)


# ---------------------------------------------------------------- set-up

DOCUMENT_CHECKS.append(lambda org: db.session.scalar(sa.select(sa.exists().where(StockMove.org_id == org.id))))

@org_setup_step
def create_default_location(org) -> None:
    db.session.add(Location(code="MAIN", name="Main warehouse", kind="warehouse", is_default=True))
    db.session.flush()


def default_location() -> Location:
    loc = db.session.scalars(sa.select(Location).where(Location.is_default.is_(True)).order_by(Location.id)).first()
    if loc is None:
        raise DomainError("There is no default location; add one under Stock → Locations.")
    return loc


def add_location(code: str, name: str, kind: str = "warehouse") -> Location:
    code, name = (code or "").strip().upper(), (name or "").strip()
    if not code or len(code) > 20 or not all(c.isalnum() or c in "-_" for c in code):
        raise DomainError("Use up to 20 letters, digits, dashes or underscores.", field="code")
    if not name:
        raise DomainError("Enter a name.", field="name")
    if kind not in ("warehouse", "store"):
        raise DomainError("Choose a kind.", field="kind")
    if db.session.scalar(sa.select(sa.exists().where(Location.code == code))):
        raise DomainError(f"Code {code} is already used.", field="code")
    loc = Location(code=code, name=name, kind=kind)
    db.session.add(loc)
    db.session.flush()
    return loc


def update_location(loc: Location, *, name: str, active: bool, is_default: bool) -> None:
    name = (name or "").strip()
    if not name:
        raise DomainError("Enter a name.", field="name")
    if not active and (is_default or loc.is_default):
        raise DomainError("The default location stays active; make another one the default first.", field="active")
    if not active and db.session.scalar(sa.select(sa.exists().where(
            StockBalance.location_id == loc.id, StockBalance.quantity != 0))):
        raise DomainError("This location still holds stock; transfer it out first.", field="active")
    if is_default and not loc.is_default:
        db.session.execute(sa.update(Location).where(Location.is_default.is_(True)).values(is_default=False))
    loc.name, loc.active, loc.is_default = name, active, is_default or (loc.is_default and active)
    db.session.flush()


def batch_for(product: Product, number: str, expiry: date | None = None, mrp: Decimal | None = None) -> Batch:
    """The product's batch with this number, created on first receipt."""
    number = (number or "").strip()
    if not number:
        raise DomainError(f"{product.name} is tracked by batch; enter the batch number.", field="batch")
    if len(number) > 40:
        raise DomainError("A batch number has at most 40 characters.", field="batch")
    batch = db.session.scalars(sa.select(Batch).where(Batch.product_id == product.id,
                                                      Batch.number == number)).first()
    if batch is None:
        batch = Batch(product_id=product.id, number=number, expiry_date=expiry, mrp=mrp)
        db.session.add(batch)
        db.session.flush()
    elif expiry is not None and batch.expiry_date is not None and batch.expiry_date != expiry:
        raise DomainError(f"Batch {number} of {product.name} expires on {batch.expiry_date:%d %b %Y}, "
                          f"not {expiry:%d %b %Y}. Check the label.", field="expiry")
    elif expiry is not None and batch.expiry_date is None:
        batch.expiry_date = expiry
    return batch


# ---------------------------------------------------------------- the one way stock changes

def _money(amount: Decimal) -> Decimal:
    return amount.quantize(currency(current_organization().base_currency).minor_unit, rounding=ROUND_HALF_UP)


def _lock_pools(product_ids: list[int]) -> dict[int, ProductStock]:
    """Lock each product's pool row, in product-id order, creating the missing ones first
    (inserted in product-id order too, so two postings never wait on each other in a circle)."""
    def lock(ids):
        return {r.product_id: r for r in db.session.scalars(
            sa.select(ProductStock).where(ProductStock.product_id.in_(ids))
            .order_by(ProductStock.product_id).with_for_update(of=ProductStock)
            .execution_options(populate_existing=True))}

    pools = lock(product_ids)
    missing = [pid for pid in product_ids if pid not in pools]
    if missing:
        table = ProductStock.__table__
        org_id = current_organization().id
        insert = postgresql.insert if on_postgres() else sqlite.insert
        # executemany of one cached statement (a multi-row VALUES is compiled afresh on every call)
        db.session.execute(insert(table).on_conflict_do_nothing(index_elements=["org_id", "product_id"]),
                           [{"org_id": org_id, "product_id": pid} for pid in sorted(missing)])
        pools.update(lock(missing))
    return pools


def lock_pools(product_ids: list[int]) -> None:
    """Lock these products' cost pools now, in product order (for a posting that changes stock a
    line at a time, such as a bill revaluing its receipts)."""
    if product_ids:
        _lock_pools(sorted(product_ids))


def _check_spec(n: int, spec: MoveSpec) -> None:
    org_id = current_organization().id
    for obj in (spec.product, spec.batch, spec.from_location, spec.to_location):
        if obj is not None and obj.org_id != org_id:
            raise DomainError(f"Line {n}: not found.")  # another organization's row: never here
    where = f"Line {n} ({spec.product.name})"
    if spec.kind not in MOVE_KINDS or spec.kind == REVALUATION:
        raise DomainError(f"{where}: unknown kind of movement.")
    if not spec.product.stocked:
        raise DomainError(f"{where}: a service has no stock.", field="product")
    q = spec.quantity
    if not isinstance(q, Decimal) or q <= 0:
        raise DomainError(f"{where}: the quantity must be more than zero.", field="quantity")
    if q != q.quantize(QTY) or q > MAX_AMOUNT:
        raise DomainError(f"{where}: use at most 3 decimal places and a sensible quantity.", field="quantity")
    if spec.kind in INBOUND:
        if spec.to_location is None or spec.from_location is not None:
            raise DomainError(f"{where}: stock coming in needs a destination only.")
        if spec.unit_cost is None or spec.unit_cost < 0:
            raise DomainError(f"{where}: enter the unit cost.", field="unit_cost")
        if spec.unit_cost != spec.unit_cost.quantize(UNIT_COST) or spec.unit_cost > MAX_AMOUNT:
            raise DomainError(f"{where}: a unit cost has at most 6 decimal places.", field="unit_cost")
        if spec.value is not None and (spec.value < 0 or spec.value != _money(spec.value)):
            raise DomainError(f"{where}: the value must be a non-negative amount of money.")
        if spec.product.tracks_batches and spec.batch is None:
            raise DomainError(f"{where}: this product is tracked by batch; enter the batch number and expiry.",
                              field="batch")
    elif spec.kind in OUTBOUND:
        if spec.from_location is None or spec.to_location is not None:
            raise DomainError(f"{where}: stock going out needs a source location only.")
    elif spec.kind == TRANSFER:
        if spec.from_location is None or spec.to_location is None:
            raise DomainError(f"{where}: a transfer needs both locations.")
        if spec.from_location.id == spec.to_location.id:
            raise DomainError(f"{where}: the two locations are the same.", field="to_location")
    for loc in (spec.from_location, spec.to_location):
        if loc is not None and not loc.active:
            raise DomainError(f"{where}: location {loc.name} is not active.", field="location")
    if spec.batch is not None and spec.batch.product_id != spec.product.id:
        raise DomainError(f"{where}: batch {spec.batch.number} belongs to another product.", field="batch")


def available(product: Product, location: Location, batch: Batch | None = None) -> Decimal:
    stmt = sa.select(sa.func.coalesce(sa.func.sum(StockBalance.quantity), 0)).where(
        StockBalance.product_id == product.id, StockBalance.location_id == location.id)
    if batch is not None:
        stmt = stmt.where(StockBalance.batch_id == batch.id)
    return Decimal(db.session.scalar(stmt))


def fefo_batches(product: Product, location: Location | None, on: date, *, include_expired: bool = False):
    """(batch, quantity) at a location (None: the default location, found by the same statement),
    first expiry first; batches without expiry last."""
    where = (StockBalance.location_id == location.id if location is not None else
             StockBalance.location_id == sa.select(Location.id).where(Location.is_default.is_(True))
             .order_by(Location.id).limit(1).scalar_subquery())
    stmt = (sa.select(Batch, StockBalance.quantity).join(StockBalance, StockBalance.batch_id == Batch.id)
            .where(StockBalance.product_id == product.id, where, StockBalance.quantity > 0)
            .order_by(Batch.expiry_date.is_(None), Batch.expiry_date, Batch.id))
    rows = db.session.execute(stmt).all()
    return [(b, q) for b, q in rows if include_expired or not b.expired_on(on)]


def apply(specs: list[MoveSpec], *, on: date, source_type: str, source_id: int | None = None,
          source_number: str | None = None, allow_expired: bool = False) -> StockResult:
    """Move stock and value it. Refusals raise DomainError and leave nothing behind."""
    from webapp.core.pipeline import Pipeline
    plan = plan_stock(specs, on=on, source_type=source_type, source_id=source_id, allow_expired=allow_expired)
    with atomic():
        reads = Pipeline()
        plan.read(reads)
        reads.run()
        if plan.postgres:
            plan.loaded()
        writes = Pipeline()
        result = finish_stock(plan, writes, source_number)
        writes.run()
    return result


def plan_stock(specs: list[MoveSpec], *, on: date, source_type: str, source_id: int | None = None,
               allow_expired: bool = False) -> StockPlan:
    """A movement checked and ready to read (`StockPlan.read`), for a caller that reads and writes
    its own things with the stock's (see `sales.services.post_invoice`)."""
    if not specs:
        raise DomainError("There is nothing to move.")
    check_open(on)
    for n, spec in enumerate(specs, 1):
        _check_spec(n, spec)
    return StockPlan(specs, on=on, org=current_organization(), counter_roles=COUNTER_ROLE, source_type=source_type,
                     source_id=source_id, allow_expired=allow_expired)


def finish_stock(plan: StockPlan, writes, source_number: str | None) -> StockResult:
    """Work a read movement out and queue (or run, on SQLite) its writes; the result's moves are
    there once `writes` has run."""
    planned = plan.compute()
    plan.write(writes, source_number)
    result = StockResult(moves=plan.moves, cost_by_spec=planned.cost_by_spec)
    result.ledger_lines = _ledger_lines(planned.value_by_role, source_number or plan.source_type)
    return result


def _ledger_lines(value_by_role: dict[str, Decimal], memo: str) -> list[Line]:
    """Inventory against each counter account: + values debit inventory."""
    lines = []
    for role, value in sorted(value_by_role.items()):
        if value > 0:
            lines += [Line("inventory", debit=value, memo=memo), Line(role, credit=value, memo=memo)]
        elif value < 0:
            lines += [Line(role, debit=-value, memo=memo), Line("inventory", credit=-value, memo=memo)]
    return lines


def set_allow_negative_stock(org, allowed: bool) -> None:
    with audit.action("inventory.negative_stock_setting"):
        org.allow_negative_stock = bool(allowed)
        db.session.flush()


def revalue_receipt(move: StockMove, units: Decimal, difference: Decimal, *, on: date, source_type: str,
                    source_id: int | None, source_number: str | None) -> list[Line]:
    """A bill priced `difference` above (+) or below (−) what `units` of a receipt were received at.

    The share of those units still on hand changes the stock's value (its
    cost layer, or the average pool); the share already sold goes to cost of
    goods sold. Returns the ledger lines (inventory and cost of goods sold);
    the caller posts the other side (the bill's payable).
    """
    if not difference or units <= 0:
        return []
    check_open(on)
    product = move.product
    with atomic():
        ps = _lock_pools([product.id])[product.id]
        layer = None
        if product.costing_method in (FIFO, LIFO):
            layer = db.session.scalars(sa.select(CostLayer).where(CostLayer.move_id == move.id)).first()
            on_hand = min(layer.remaining_quantity, units) if layer else ZERO
            pool_value = layer.remaining_value if layer else ZERO
        else:
            on_hand = min(ps.pool_quantity, units)
            pool_value = ps.pool_value
        in_stock = difference if on_hand == units else _money(difference * on_hand / units)
        in_stock = max(in_stock, -pool_value)  # a value never goes below zero
        if in_stock:
            if layer is not None:
                layer.remaining_value += in_stock
            ps.pool_value += in_stock
            db.session.add(StockMove(date=on, kind=REVALUATION, product_id=product.id, quantity=ZERO, unit_cost=ZERO,
                                     value_change=in_stock, source_type=source_type, source_id=source_id,
                                     source_number=source_number, created_by_id=audit.current_actor().user_id))
        db.session.flush()
    sold = difference - in_stock
    memo = f"{source_number or source_type}: price difference"
    lines = []
    for role, amount in (("inventory", in_stock), ("cogs", sold)):
        if amount > 0:
            lines.append(Line(role, debit=amount, memo=memo))
        elif amount < 0:
            lines.append(Line(role, credit=-amount, memo=memo))
    return lines
