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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from webapp.catalog.models import AVERAGE, FIFO, LIFO, Product
from webapp.core import audit
from webapp.core.errors import DomainError
from webapp.core.money import MAX_AMOUNT, ZERO, currency
from webapp.core.tx import atomic
from webapp.extensions import db, on_postgres
from webapp.inventory.models import (ADJUSTMENT_IN, ADJUSTMENT_OUT, INBOUND, ISSUE, MOVE_KINDS, OPENING,
                                     OUTBOUND, RECEIPT, RETURN_IN, RETURN_OUT, REVALUATION, TRANSFER, WRITE_OFF,
                                     Batch, CostLayer, Location, ProductStock, StockBalance, StockMove)
from webapp.ledger.services import Line, check_open
from webapp.orgs.queries import current_organization
from webapp.orgs.services import DOCUMENT_CHECKS, org_setup_step

QTY = Decimal("0.001")

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
    loc = db.session.scalars(sa.select(Location).where(Location.is_default.is_(True))).first()
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


@dataclass
class _Take:
    """Stock going out of one on-hand figure, for one line of a movement."""
    product: Product
    batch: Batch | None
    location: Location
    quantity: Decimal

    @property
    def key(self) -> tuple[int, int | None, int]:
        return self.product.id, self.batch.id if self.batch else None, self.location.id


#: Take from many on-hand figures at once, each only if it holds enough (PostgreSQL): one statement
#: whatever the number of lines, and the figures that could not give come back missing.
_TAKE_PG = sa.text(
    "UPDATE stock_balance AS b SET quantity = b.quantity - v.quantity "
    "FROM unnest(CAST(:product_ids AS bigint[]), CAST(:batch_ids AS bigint[]), CAST(:location_ids AS bigint[]), "
    "CAST(:quantities AS numeric[])) AS v(product_id, batch_id, location_id, quantity) "
    "WHERE b.org_id = :org_id AND b.product_id = v.product_id AND b.location_id = v.location_id "
    "AND coalesce(b.batch_id, 0) = coalesce(v.batch_id, 0) AND b.quantity >= v.quantity "
    "RETURNING b.product_id, b.batch_id, b.location_id")


def _take_balances(takes: list[_Take], *, allow_negative: bool) -> None:
    """Take each line's quantity from on hand, all lines in one statement; refuse (DomainError, naming
    the first line, in order, that finds too little) when a figure would go below zero.

    Lines taking from the same figure are added up first, so "enough" is judged on their sum, as
    taking them one after another would."""
    if not takes:
        return
    wanted: dict[tuple[int, int | None, int], Decimal] = defaultdict(lambda: ZERO)
    for take in takes:
        wanted[take.key] += take.quantity
    if allow_negative:
        _add_to_balances({key: -qty for key, qty in wanted.items()})
        return
    t = StockBalance.__table__
    org_id = current_organization().id
    keys = sorted(wanted, key=lambda k: (k[0], k[2], k[1] or 0))
    if on_postgres():
        done = {tuple(r) for r in db.session.execute(_TAKE_PG, {
            "org_id": org_id, "product_ids": [k[0] for k in keys], "batch_ids": [k[1] for k in keys],
            "location_ids": [k[2] for k in keys], "quantities": [wanted[k] for k in keys]})}
    else:
        done = set()
        for key in keys:
            pid, bid, loc = key
            row = db.session.execute(sa.update(t).where(
                t.c.org_id == org_id, t.c.product_id == pid, t.c.location_id == loc,
                sa.func.coalesce(t.c.batch_id, 0) == (bid or 0), t.c.quantity >= wanted[key])
                .values(quantity=t.c.quantity - wanted[key]).returning(t.c.id)).first()
            if row is not None:
                done.add(key)
    if len(done) == len(keys):
        return
    # A figure that could not give is unchanged: walk the lines in order to find the first short one.
    left = {}
    for take in takes:
        if take.key in done:
            continue
        if take.key not in left:
            left[take.key] = available(take.product, take.location, take.batch)
        if take.quantity > left[take.key]:
            have = left[take.key]
            raise DomainError(
                f"Insufficient stock: only {have.normalize():f} {take.product.unit} of {take.product.name}"
                + (f" (batch {take.batch.number})" if take.batch else "")
                + f" in {take.location.name}; you asked for {take.quantity.normalize():f}.", field="quantity")
        left[take.key] -= take.quantity
    raise RuntimeError("stock_balance refused a take that every line has room for")  # pragma: no cover


def _add_to_balances(deltas: dict[tuple[int, int | None, int], Decimal]) -> None:
    """Add to on hand, (product id, batch id, location id) → quantity, in one statement
    (unguarded: for stock coming in). Rows are taken in key order, so postings never deadlock."""
    if not deltas:
        return
    t = StockBalance.__table__
    org_id = current_organization().id
    insert = postgresql.insert if on_postgres() else sqlite.insert
    rows = [{"org_id": org_id, "product_id": pid, "batch_id": bid, "location_id": loc, "quantity": qty}
            for (pid, bid, loc), qty in sorted(deltas.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1] or 0))]
    db.session.execute(insert(t).on_conflict_do_update(
        index_elements=[t.c.org_id, t.c.product_id, t.c.location_id,
                        sa.func.coalesce(t.c.batch_id, sa.literal_column("0"))],
        set_={"quantity": t.c.quantity + sa.literal_column("excluded.quantity")}), rows)


def available(product: Product, location: Location, batch: Batch | None = None) -> Decimal:
    stmt = sa.select(sa.func.coalesce(sa.func.sum(StockBalance.quantity), 0)).where(
        StockBalance.product_id == product.id, StockBalance.location_id == location.id)
    if batch is not None:
        stmt = stmt.where(StockBalance.batch_id == batch.id)
    return Decimal(db.session.scalar(stmt))


def fefo_batches(product: Product, location: Location, on: date, *, include_expired: bool = False):
    """(batch, quantity) at a location, first expiry first; batches without expiry last."""
    stmt = (sa.select(Batch, StockBalance.quantity).join(StockBalance, StockBalance.batch_id == Batch.id)
            .where(StockBalance.product_id == product.id, StockBalance.location_id == location.id,
                   StockBalance.quantity > 0)
            .order_by(Batch.expiry_date.is_(None), Batch.expiry_date, Batch.id))
    rows = db.session.execute(stmt).all()
    return [(b, q) for b, q in rows if include_expired or not b.expired_on(on)]


def _allocate_batches(spec: MoveSpec, on: date, allow_expired: bool) -> list[tuple[Batch, Decimal]]:
    need, picks = spec.quantity, []
    for batch, qty in fefo_batches(spec.product, spec.from_location, on, include_expired=allow_expired):
        take = min(need, qty)
        picks.append((batch, take))
        need -= take
        if need == 0:
            return picks
    expired = sum((q for b, q in fefo_batches(spec.product, spec.from_location, on, include_expired=True)
                   if b.expired_on(on)), ZERO)
    have = spec.quantity - need
    message = (f"Insufficient stock: only {have.normalize():f} {spec.product.unit} of {spec.product.name} "
               f"in {spec.from_location.name}")
    if expired and not allow_expired:
        message += f" ({expired.normalize():f} more are in expired batches, which need an owner's override)"
    raise DomainError(message + ".", field="quantity")


def _consume_layers(ps: ProductStock, product: Product, quantity: Decimal) -> Decimal:
    order = CostLayer.id.asc() if product.costing_method == FIFO else CostLayer.id.desc()
    need, cost = quantity, ZERO
    layers = db.session.scalars(sa.select(CostLayer).where(CostLayer.product_id == product.id,
                                                           CostLayer.remaining_quantity > 0).order_by(order))
    for layer in layers:
        take = min(need, layer.remaining_quantity)
        c = layer.remaining_value if take == layer.remaining_quantity else min(
            layer.remaining_value, _money(take * layer.unit_cost))
        layer.remaining_quantity -= take
        layer.remaining_value -= c
        cost += c
        need -= take
        if need == 0:
            break
    if need != 0:  # the layers always hold the pool; anything else is a bug, not a user error
        raise RuntimeError(f"cost layers of product {product.id} hold less than its pool")
    return cost


def _issue_cost(ps: ProductStock, product: Product, quantity: Decimal) -> Decimal:
    from_pool = min(quantity, ps.pool_quantity)
    cost = ZERO
    if from_pool > 0:
        if product.costing_method == AVERAGE:
            cost = ps.pool_value if from_pool == ps.pool_quantity else _money(ps.pool_value * from_pool / ps.pool_quantity)
        else:
            cost = _consume_layers(ps, product, from_pool)
        ps.pool_quantity -= from_pool
        ps.pool_value -= cost
    excess = quantity - from_pool
    if excess > 0:
        charged = _money(excess * ps.last_unit_cost)
        ps.backlog_quantity += excess
        ps.backlog_value += charged
        cost += charged
    return cost


def _receive(ps: ProductStock, product: Product, quantity: Decimal, unit_cost: Decimal, value: Decimal,
             move: StockMove) -> tuple[Decimal, dict | None]:
    """Add to the pool; returns the true-up (cost found late for a backlog; + is more cost) and, for
    FIFO/LIFO, the new cost layer's values, for the caller to save once the move has its id."""
    true_up, layer = ZERO, None
    if ps.backlog_quantity > 0:
        covered = min(quantity, ps.backlog_quantity)
        covered_value = value if covered == quantity else _money(covered * unit_cost)
        charged = ps.backlog_value if covered == ps.backlog_quantity else _money(
            ps.backlog_value * covered / ps.backlog_quantity)
        true_up = covered_value - charged
        ps.backlog_quantity -= covered
        ps.backlog_value -= charged
        quantity -= covered
        value -= covered_value
    if quantity > 0:
        ps.pool_quantity += quantity
        ps.pool_value += value
        if product.costing_method in (FIFO, LIFO):
            layer = {"org_id": ps.org_id, "product_id": product.id,
                     "date": move.date, "quantity": quantity, "unit_cost": unit_cost,
                     "remaining_quantity": quantity, "remaining_value": value}
    ps.last_unit_cost = unit_cost
    return true_up, layer


def apply(specs: list[MoveSpec], *, on: date, source_type: str, source_id: int | None = None,
          source_number: str | None = None, allow_expired: bool = False) -> StockResult:
    """Move stock and value it. Refusals raise DomainError and leave nothing behind."""
    if not specs:
        raise DomainError("There is nothing to move.")
    check_open(on)
    org = current_organization()
    for n, spec in enumerate(specs, 1):
        _check_spec(n, spec)
    result = StockResult()
    actor = audit.current_actor().user_id
    value_by_role: dict[str, Decimal] = defaultdict(lambda: ZERO)
    with atomic():
        pools = _lock_pools(sorted({s.product.id for s in specs}))

        def add_move(spec, kind, quantity, batch, frm, to, unit_cost, value_change):
            move = StockMove(date=on, kind=kind, product_id=spec.product.id, batch_id=batch.id if batch else None,
                             from_location_id=frm.id if frm else None, to_location_id=to.id if to else None,
                             quantity=quantity, unit_cost=unit_cost, value_change=value_change,
                             source_type=source_type, source_id=source_id, source_number=source_number,
                             created_by_id=actor)
            db.session.add(move)
            result.moves.append(move)
            return move

        # Stock coming in is written in a few statements for all its lines (the moves, then
        # their cost layers, then one upsert of on hand) before anything reads it: before the
        # next outbound line, and at the end. A 20-line receipt is ~6 statements, not ~70.
        layers: list[tuple[StockMove, dict]] = []
        incoming: dict[tuple[int, int | None, int], Decimal] = defaultdict(lambda: ZERO)

        # Stock going out is taken from on hand in one statement for a run of lines (`take_all`):
        # before stock comes in, before a line reads batches this run takes from, and at the end.
        takes: list[_Take] = []

        def take_all():
            _take_balances(takes, allow_negative=org.allow_negative_stock)
            takes.clear()

        def write_incoming():
            if not incoming:
                return
            take_all()
            db.session.flush()  # the moves get their ids (and the pools are saved)
            if layers:  # nothing reads them back as objects: one executemany, no RETURNING
                db.session.execute(sa.insert(CostLayer.__table__),
                                   [{**layer, "move_id": move.id} for move, layer in layers])
            _add_to_balances(incoming)
            layers.clear()
            incoming.clear()

        for n, spec in enumerate(specs):
            product, ps = spec.product, pools[spec.product.id]
            if spec.kind in INBOUND:
                value = spec.value if spec.value is not None else _money(spec.quantity * spec.unit_cost)
                move = add_move(spec, spec.kind, spec.quantity, spec.batch, None, spec.to_location,
                                spec.unit_cost, value)
                true_up, layer = _receive(ps, product, spec.quantity, spec.unit_cost, value, move)
                if layer is not None:
                    layers.append((move, layer))
                incoming[(product.id, spec.batch.id if spec.batch else None, spec.to_location.id)] += spec.quantity
                value_by_role[spec.counter_role or COUNTER_ROLE[spec.kind]] += value
                if true_up:
                    add_move(spec, REVALUATION, ZERO, None, None, None, ZERO, -true_up)
                    value_by_role[COUNTER_ROLE[REVALUATION]] -= true_up
                continue
            write_incoming()
            # Outbound and transfers take named batches, or the first to expire.
            if product.tracks_batches and spec.batch is None:
                # The batches on hand are read from the database: what earlier lines take from this
                # product is taken first. A refusal names the first line that is short.
                if any(t.product.id == product.id for t in takes):
                    take_all()
                try:
                    # Only a sale keeps away from expired batches; a write-off or a
                    # transfer to quarantine is exactly what they are for.
                    picks = _allocate_batches(spec, on, allow_expired or spec.kind != ISSUE)
                except DomainError:
                    take_all()
                    raise
            else:
                picks = [(spec.batch, spec.quantity)]
            for batch, qty in picks:
                if batch is not None and batch.expired_on(on) and spec.kind == ISSUE:
                    if not allow_expired:
                        take_all()
                        raise DomainError(f"Batch {batch.number} of {product.name} expired on "
                                          f"{batch.expiry_date:%d %b %Y}; an owner can override.", field="batch")
                    audit.record_event("inventory.expired_batch_override", batch,
                                       new={"quantity": qty, "product": product.sku, "source": source_type,
                                            "source_number": source_number})
                takes.append(_Take(product, batch, spec.from_location, qty))
                if spec.kind == TRANSFER:
                    # What arrives may be read by a later line: taken and added now.
                    take_all()
                    _add_to_balances({(product.id, batch.id if batch else None, spec.to_location.id): qty})
                    add_move(spec, TRANSFER, qty, batch, spec.from_location, spec.to_location, ZERO, ZERO)
                    continue
                cost = _issue_cost(ps, product, qty)
                unit = (cost / qty).quantize(Decimal("0.000001")) if qty else ZERO
                add_move(spec, spec.kind, qty, batch, spec.from_location, None, unit, -cost)
                value_by_role[spec.counter_role or COUNTER_ROLE[spec.kind]] -= cost
                result.cost_by_spec[n] = result.cost_by_spec.get(n, ZERO) + cost
        take_all()
        write_incoming()
        db.session.flush()
    result.ledger_lines = _ledger_lines(value_by_role, source_number or source_type)
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
