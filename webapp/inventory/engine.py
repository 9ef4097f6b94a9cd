"""The stock engine behind `services.apply`: read once, work it out in Python, write once.

A movement of stock (a sale of five lines, a receipt of twenty) touches, per
product, the cost pool (the row every movement of the product locks first),
the on-hand figures per batch and location, the FIFO/LIFO cost layers, and
adds moves. `StockPlan` does it in three steps:

1. `read`: lock the pools of the products involved (in product order, so two
   postings never wait on each other in a circle; missing pools are created
   first), then read the on-hand figures at the locations involved (with
   their batches' numbers and expiry dates) and the open cost layers of the
   FIFO/LIFO products going out (as many as the quantity going out can
   use). Under the pool locks none of these can change until the
   transaction ends: every change of stock goes through here.
2. `compute`: walk the lines in order in memory: batches first-expiry-first-
   out, refusals naming the first line that is short (exactly as taking the
   stock line by line would), costs from the layers or the moving average,
   negative-stock backlogs and their true-ups, and the ledger lines.
3. `write`: on-hand by one upsert of the net change per figure, the moves
   and their new cost layers, the consumed layers and the pools, each one
   statement.

On PostgreSQL each step's statements go in one pipeline (`core.pipeline`),
shared with the caller's own reads and writes when it passes its pipelines
(posting an invoice reads its number and accounts with the stock, and writes
its journal entry and itself with it). On SQLite they run one by one.

The guard on on-hand stays in the database too: the upsert returns the new
figures and a figure below zero where negative stock is not allowed stops
the transaction (it would be a bug here, not a user's mistake).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from webapp.catalog.models import AVERAGE, FIFO, LIFO
from webapp.core import audit
from webapp.core.clock import now
from webapp.core.errors import DomainError
from webapp.core.money import ZERO, currency
from webapp.extensions import db
from webapp.inventory.models import (INBOUND, ISSUE, OUTBOUND, REVALUATION, TRANSFER, Batch, CostLayer,
                                     ProductStock, StockBalance, StockMove)

UNIT = Decimal("0.000001")


@dataclass
class _Pool:
    id: int
    product_id: int
    pool_quantity: Decimal
    pool_value: Decimal
    backlog_quantity: Decimal
    backlog_value: Decimal
    last_unit_cost: Decimal
    changed: bool = False


@dataclass
class _Layer:
    id: int | None              # None: made by this movement
    product_id: int
    quantity: Decimal
    unit_cost: Decimal
    remaining_quantity: Decimal
    remaining_value: Decimal
    move: int | None = None     # the index of the move that made it (new layers)
    changed: bool = False


@dataclass
class _BatchInfo:
    id: int
    number: str
    expiry_date: date | None

    def expired_on(self, d: date) -> bool:
        return self.expiry_date is not None and self.expiry_date < d


@dataclass
class _Move:
    kind: str
    product_id: int
    batch_id: int | None
    from_location_id: int | None
    to_location_id: int | None
    quantity: Decimal
    unit_cost: Decimal
    value_change: Decimal


@dataclass
class Planned:
    """What `compute` worked out: moves, ledger values by counter account, cost per line."""
    moves: list[_Move] = field(default_factory=list)
    value_by_role: dict = field(default_factory=lambda: defaultdict(lambda: ZERO))
    cost_by_spec: dict[int, Decimal] = field(default_factory=dict)
    overrides: list[tuple[_BatchInfo, Decimal, str]] = field(default_factory=list)


class StockPlan:
    """One movement of stock: `read` (queue or run the reads), `compute`, `write`."""

    def __init__(self, specs, *, on: date, org, counter_roles: dict, source_type: str, source_id: int | None,
                 allow_expired: bool):
        self.specs, self.on, self.org = specs, on, org
        self.counter_roles = counter_roles
        self.source_type, self.source_id, self.allow_expired = source_type, source_id, allow_expired
        self.postgres = db.session.get_bind().dialect.name == "postgresql"
        self.product_ids = sorted({s.product.id for s in specs})
        self.pools: dict[int, _Pool] = {}
        # on hand per (product, batch, location): [quantity now (in memory), quantity read]
        self.on_hand: dict[tuple, list] = {}
        self.batches: dict[int, _BatchInfo] = {}
        self.layers: dict[int, list[_Layer]] = defaultdict(list)     # DB layers, in consumption order
        self.new_layers: dict[int, list[_Layer]] = defaultdict(list)
        self._handles = None
        self.planned: Planned | None = None
        self.moves: list[StockMove] = []

    # ------------------------------------------------------------ 1. reads

    def _locations(self) -> list[tuple[int, int]]:
        pairs = set()
        for s in self.specs:
            for loc in (s.from_location, s.to_location):
                if loc is not None:
                    pairs.add((s.product.id, loc.id))
        return sorted(pairs)

    def _layer_needs(self) -> list[tuple[int, Decimal, bool]]:
        need: dict[int, Decimal] = defaultdict(lambda: ZERO)
        method = {}
        for s in self.specs:
            if s.kind in OUTBOUND and s.product.costing_method in (FIFO, LIFO):
                need[s.product.id] += s.quantity
                method[s.product.id] = s.product.costing_method == LIFO
        return [(pid, need[pid], method[pid]) for pid in sorted(need)]

    def read(self, pipe) -> None:
        """Queue the reads on `pipe` (PostgreSQL; `loaded()` once it has run) or run them now."""
        org_id, ids, pairs, needs = self.org.id, self.product_ids, self._locations(), self._layer_needs()
        if self.postgres:
            pipe.add(_CREATE_POOLS_PG, {"org_id": org_id, "ids": ids}, returns=False)
            self._handles = (
                pipe.add(_LOCK_POOLS_PG, {"org_id": org_id, "ids": ids}),
                pipe.add(_ON_HAND_PG, {"org_id": org_id, "product_ids": [p for p, _ in pairs],
                                       "location_ids": [loc for _, loc in pairs]}) if pairs else None,
                pipe.add(_LAYERS_PG, {"org_id": org_id, "product_ids": [n[0] for n in needs],
                                      "needs": [n[1] for n in needs], "lifo": [n[2] for n in needs]})
                if needs else None)
            return
        self._load(*_read_sqlite(org_id, ids, pairs, needs))

    def loaded(self) -> None:
        """Take in what the queued reads returned (PostgreSQL)."""
        pools, on_hand, layers = self._handles
        self._load(pools.rows, on_hand.rows if on_hand else [], layers.rows if layers else [])

    def _load(self, pools, on_hand, layers) -> None:
        self.pools = {r[1]: _Pool(*r) for r in pools}
        for product_id, batch_id, location_id, quantity, number, expiry in on_hand:
            self.on_hand[(product_id, batch_id, location_id)] = [quantity, quantity]
            if batch_id is not None:
                self.batches[batch_id] = _BatchInfo(batch_id, number, expiry)
        for r in layers:
            self.layers[r[1]].append(_Layer(*r))

    # ------------------------------------------------------------ 2. compute

    def _money(self, amount: Decimal) -> Decimal:
        return amount.quantize(currency(self.org.base_currency).minor_unit, rounding=ROUND_HALF_UP)

    def _batch(self, batch) -> _BatchInfo | None:
        if batch is None:
            return None
        info = self.batches.get(batch.id)
        if info is None:
            info = self.batches[batch.id] = _BatchInfo(batch.id, batch.number, batch.expiry_date)
        return info

    def _have(self, key) -> Decimal:
        found = self.on_hand.get(key)
        return found[0] if found else ZERO

    def _add(self, key, quantity: Decimal) -> None:
        found = self.on_hand.get(key)
        if found is None:
            self.on_hand[key] = [quantity, None]
        else:
            found[0] += quantity

    def compute(self) -> Planned:
        """Work out every move and its value, in the lines' order; DomainError on a refusal."""
        p = self.planned = Planned()
        allow_negative = self.org.allow_negative_stock
        for n, spec in enumerate(self.specs):
            product, pool = spec.product, self.pools[spec.product.id]
            role = spec.counter_role or self.counter_roles.get(spec.kind)
            if spec.kind in INBOUND:
                value = spec.value if spec.value is not None else self._money(spec.quantity * spec.unit_cost)
                batch = self._batch(spec.batch)
                p.moves.append(_Move(spec.kind, product.id, batch.id if batch else None, None, spec.to_location.id,
                                     spec.quantity, spec.unit_cost, value))
                true_up = self._receive(pool, product, spec.quantity, spec.unit_cost, value, len(p.moves) - 1)
                self._add((product.id, batch.id if batch else None, spec.to_location.id), spec.quantity)
                p.value_by_role[role] += value
                if true_up:
                    p.moves.append(_Move(REVALUATION, product.id, None, None, None, ZERO, ZERO, -true_up))
                    p.value_by_role[self.counter_roles[REVALUATION]] -= true_up
                continue
            loc = spec.from_location
            if product.tracks_batches and spec.batch is None:
                # Only a sale keeps away from expired batches; a write-off or a transfer to
                # quarantine is exactly what they are for.
                picks = self._fefo(spec, self.allow_expired or spec.kind != ISSUE)
            else:
                picks = [(self._batch(spec.batch), spec.quantity)]
            for batch, qty in picks:
                if batch is not None and batch.expired_on(self.on) and spec.kind == ISSUE:
                    if not self.allow_expired:
                        raise DomainError(f"Batch {batch.number} of {product.name} expired on "
                                          f"{batch.expiry_date:%d %b %Y}; an owner can override.", field="batch")
                    p.overrides.append((batch, qty, product.sku))
                key = (product.id, batch.id if batch else None, loc.id)
                have = self._have(key)
                if qty > have and not allow_negative:
                    raise DomainError(
                        f"Insufficient stock: only {have.normalize():f} {product.unit} of {product.name}"
                        + (f" (batch {batch.number})" if batch else "")
                        + f" in {loc.name}; you asked for {qty.normalize():f}.", field="quantity")
                self._add(key, -qty)
                if spec.kind == TRANSFER:
                    self._add((product.id, key[1], spec.to_location.id), qty)
                    p.moves.append(_Move(TRANSFER, product.id, key[1], loc.id, spec.to_location.id, qty, ZERO, ZERO))
                    continue
                cost = self._issue_cost(pool, product, qty)
                unit = (cost / qty).quantize(UNIT) if qty else ZERO
                p.moves.append(_Move(spec.kind, product.id, key[1], loc.id, None, qty, unit, -cost))
                p.value_by_role[role] -= cost
                p.cost_by_spec[n] = p.cost_by_spec.get(n, ZERO) + cost
        return p

    def _fefo(self, spec, include_expired: bool) -> list[tuple[_BatchInfo, Decimal]]:
        """Batches on hand at the location, first expiry first (none last), as much as needed."""
        product, loc = spec.product, spec.from_location
        held = []
        for (pid, batch_id, loc_id), (qty, _) in self.on_hand.items():
            if pid == product.id and loc_id == loc.id and batch_id is not None and qty > 0:
                b = self.batches[batch_id]
                held.append((b.expiry_date is None, b.expiry_date or date.min, b.id, b, qty))
        held.sort(key=lambda h: h[:3])
        need, picks = spec.quantity, []
        for *_, batch, qty in held:
            if batch.expired_on(self.on) and not include_expired:
                continue
            take = min(need, qty)
            picks.append((batch, take))
            need -= take
            if need == 0:
                return picks
        expired = sum((h[-1] for h in held if h[3].expired_on(self.on)), ZERO)
        message = (f"Insufficient stock: only {(spec.quantity - need).normalize():f} {product.unit} of "
                   f"{product.name} in {loc.name}")
        if expired and not include_expired:
            message += f" ({expired.normalize():f} more are in expired batches, which need an owner's override)"
        raise DomainError(message + ".", field="quantity")

    def _open_layers(self, product) -> list[_Layer]:
        """The product's layers in the order they are consumed: oldest first (FIFO), newest first (LIFO)."""
        if product.costing_method == FIFO:
            return self.layers[product.id] + self.new_layers[product.id]
        return self.new_layers[product.id][::-1] + self.layers[product.id]

    def _consume_layers(self, product, quantity: Decimal) -> Decimal:
        need, cost = quantity, ZERO
        for layer in self._open_layers(product):
            if layer.remaining_quantity <= 0:
                continue
            take = min(need, layer.remaining_quantity)
            c = layer.remaining_value if take == layer.remaining_quantity else min(
                layer.remaining_value, self._money(take * layer.unit_cost))
            layer.remaining_quantity -= take
            layer.remaining_value -= c
            layer.changed = True
            cost += c
            need -= take
            if need == 0:
                break
        if need != 0:  # the layers always hold the pool; anything else is a bug, not a user error
            raise RuntimeError(f"cost layers of product {product.id} hold less than its pool")
        return cost

    def _issue_cost(self, ps: _Pool, product, quantity: Decimal) -> Decimal:
        from_pool = min(quantity, ps.pool_quantity)
        cost = ZERO
        if from_pool > 0:
            if product.costing_method == AVERAGE:
                cost = ps.pool_value if from_pool == ps.pool_quantity else self._money(
                    ps.pool_value * from_pool / ps.pool_quantity)
            else:
                cost = self._consume_layers(product, from_pool)
            ps.pool_quantity -= from_pool
            ps.pool_value -= cost
        excess = quantity - from_pool
        if excess > 0:
            charged = self._money(excess * ps.last_unit_cost)
            ps.backlog_quantity += excess
            ps.backlog_value += charged
            cost += charged
        ps.changed = True
        return cost

    def _receive(self, ps: _Pool, product, quantity: Decimal, unit_cost: Decimal, value: Decimal,
                 move: int) -> Decimal:
        """Add to the pool (and a new cost layer for FIFO/LIFO); returns the true-up: cost found late
        for a backlog (+ is more cost)."""
        true_up = ZERO
        if ps.backlog_quantity > 0:
            covered = min(quantity, ps.backlog_quantity)
            covered_value = value if covered == quantity else self._money(covered * unit_cost)
            charged = ps.backlog_value if covered == ps.backlog_quantity else self._money(
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
                self.new_layers[product.id].append(_Layer(None, product.id, quantity, unit_cost, quantity, value,
                                                          move=move))
        ps.last_unit_cost = unit_cost
        ps.changed = True
        return true_up

    # ------------------------------------------------------------ 3. writes

    def _deltas(self) -> list[tuple]:
        out = []
        for key, (now_qty, read) in self.on_hand.items():
            delta = now_qty - (read or ZERO)
            if delta:
                out.append((*key, delta))
        # Rows in key order, so concurrent postings lock them in the same order (no deadlocks).
        return sorted(out, key=lambda r: (r[0], r[2], r[1] or 0))

    def write(self, pipe, source_number: str | None) -> None:
        """Queue the writes on `pipe` (PostgreSQL) or run them now; `done()` when they have run."""
        p, org_id = self.planned, self.org.id
        actor = audit.current_actor().user_id
        self._meta = {"org_id": org_id, "date": self.on, "source_type": self.source_type,
                      "source_id": self.source_id, "source_number": source_number, "created_at": now(),
                      "created_by_id": actor}
        deltas = self._deltas()
        new_layers = [l for ls in self.new_layers.values() for l in ls]
        used = [l for ls in self.layers.values() for l in ls if l.changed]
        pools = [ps for ps in self.pools.values() if ps.changed]
        for batch, qty, sku in p.overrides:
            audit.record_event("inventory.expired_batch_override", record_type="batch", record_id=batch.id,
                               new={"quantity": qty, "product": sku, "source": self.source_type,
                                    "source_number": source_number})
        if self.postgres:
            self._write_pg(pipe, deltas, new_layers, used, pools)
        else:
            self._write_sqlite(deltas, new_layers, used, pools)

    def _write_pg(self, pipe, deltas, new_layers, used, pools) -> None:
        p, org_id = self.planned, self.org.id
        handles = {}
        if deltas:
            handles["on_hand"] = pipe.add(_ON_HAND_UPSERT_PG, {
                "org_id": org_id, "product_ids": [d[0] for d in deltas], "batch_ids": [d[1] for d in deltas],
                "location_ids": [d[2] for d in deltas], "quantities": [d[3] for d in deltas]})
        moves = p.moves
        handles["moves"] = pipe.add(_MOVES_PG, {
            **self._meta, "kinds": [m.kind for m in moves], "product_ids": [m.product_id for m in moves],
            "batch_ids": [m.batch_id for m in moves], "from_ids": [m.from_location_id for m in moves],
            "to_ids": [m.to_location_id for m in moves], "quantities": [m.quantity for m in moves],
            "unit_costs": [m.unit_cost for m in moves], "values": [m.value_change for m in moves],
            "layer_moves": [l.move + 1 for l in new_layers], "layer_products": [l.product_id for l in new_layers],
            "layer_quantities": [l.quantity for l in new_layers], "layer_costs": [l.unit_cost for l in new_layers],
            "layer_left": [l.remaining_quantity for l in new_layers],
            "layer_values": [l.remaining_value for l in new_layers]})
        if used:
            pipe.add(_LAYERS_UPDATE_PG, {"org_id": org_id, "ids": [l.id for l in used],
                                         "left": [l.remaining_quantity for l in used],
                                         "values": [l.remaining_value for l in used]}, returns=False)
        if pools:
            pipe.add(_POOLS_UPDATE_PG, {
                "org_id": org_id, "ids": [ps.id for ps in pools], "pq": [ps.pool_quantity for ps in pools],
                "pv": [ps.pool_value for ps in pools], "bq": [ps.backlog_quantity for ps in pools],
                "bv": [ps.backlog_value for ps in pools], "lc": [ps.last_unit_cost for ps in pools]},
                returns=False)

        def done():
            if "on_hand" in handles:
                self._check_on_hand(handles["on_hand"].rows, deltas)
            ids = dict(handles["moves"].rows)
            self._made([ids[k + 1] for k in range(len(moves))])
        pipe.then(done)

    def _write_sqlite(self, deltas, new_layers, used, pools) -> None:
        conn = db.session.connection()
        org_id = self.org.id
        if deltas:
            t = StockBalance.__table__
            stmt = sqlite.insert(t)
            stmt = stmt.on_conflict_do_update(
                index_elements=[t.c.org_id, t.c.product_id, t.c.location_id,
                                sa.func.coalesce(t.c.batch_id, sa.literal_column("0"))],
                set_={"quantity": t.c.quantity + stmt.excluded.quantity})
            conn.execute(stmt, [{"org_id": org_id, "product_id": d[0], "batch_id": d[1], "location_id": d[2],
                                 "quantity": d[3]} for d in deltas])
            rows = conn.execute(sa.select(t.c.product_id, t.c.batch_id, t.c.location_id, t.c.quantity).where(
                t.c.org_id == org_id, t.c.product_id.in_({d[0] for d in deltas}))).all()
            keys = {d[:3] for d in deltas}
            self._check_on_hand([r for r in rows if tuple(r[:3]) in keys], deltas)
        m = StockMove.__table__
        ids = [conn.execute(sa.insert(m).values(
            **self._meta, kind=mv.kind, product_id=mv.product_id, batch_id=mv.batch_id,
            from_location_id=mv.from_location_id, to_location_id=mv.to_location_id, quantity=mv.quantity,
            unit_cost=mv.unit_cost, value_change=mv.value_change)).inserted_primary_key[0]
            for mv in self.planned.moves]
        if new_layers:
            conn.execute(sa.insert(CostLayer.__table__), [
                {"org_id": org_id, "product_id": l.product_id, "move_id": ids[l.move], "date": self.on,
                 "quantity": l.quantity, "unit_cost": l.unit_cost, "remaining_quantity": l.remaining_quantity,
                 "remaining_value": l.remaining_value} for l in new_layers])
        c = CostLayer.__table__
        for l in used:
            conn.execute(sa.update(c).where(c.c.id == l.id, c.c.org_id == org_id).values(
                remaining_quantity=l.remaining_quantity, remaining_value=l.remaining_value))
        s = ProductStock.__table__
        for ps in pools:
            conn.execute(sa.update(s).where(s.c.id == ps.id, s.c.org_id == org_id).values(
                pool_quantity=ps.pool_quantity, pool_value=ps.pool_value, backlog_quantity=ps.backlog_quantity,
                backlog_value=ps.backlog_value, last_unit_cost=ps.last_unit_cost))
        self._made(ids)

    def _check_on_hand(self, rows, deltas) -> None:
        """A figure this movement lowered below zero, where negative stock is not allowed, stops
        the transaction. (A figure already below zero, left from a time negative stock was allowed,
        may come back up, and must be able to.)"""
        if self.org.allow_negative_stock:
            return
        lowered = {d[:3] for d in deltas if d[3] < 0}
        for product_id, batch_id, location_id, quantity in rows:
            if quantity < 0 and (product_id, batch_id, location_id) in lowered:
                raise RuntimeError(f"on hand of product {product_id} (batch {batch_id}) at location "
                                   f"{location_id} went below zero: the pool lock did not hold")

    def _made(self, ids: list[int]) -> None:
        """The moves as objects of the session (no statement: every column is known), and any object
        of the rows written here that the session held before is refreshed when next read."""
        session = db.session()
        for move_id, mv in zip(ids, self.planned.moves):
            obj = StockMove(id=move_id, **self._meta, kind=mv.kind, product_id=mv.product_id, batch_id=mv.batch_id,
                            from_location_id=mv.from_location_id, to_location_id=mv.to_location_id,
                            quantity=mv.quantity, unit_cost=mv.unit_cost, value_change=mv.value_change)
            sa.orm.make_transient_to_detached(obj)
            session.add(obj)
            self.moves.append(obj)
        products = set(self.product_ids)
        for obj in list(session.identity_map.values()):
            if type(obj) in (ProductStock, CostLayer, StockBalance) and \
                    sa.inspect(obj).dict.get("product_id") in products:
                session.expire(obj)


def _read_sqlite(org_id, ids, pairs, needs):
    conn = db.session.connection()
    s = ProductStock.__table__
    have = set(conn.execute(sa.select(s.c.product_id).where(s.c.org_id == org_id, s.c.product_id.in_(ids))).scalars())
    missing = [pid for pid in ids if pid not in have]
    if missing:
        conn.execute(sa.insert(s), [{"org_id": org_id, "product_id": pid} for pid in missing])
    pools = conn.execute(sa.select(s.c.id, s.c.product_id, s.c.pool_quantity, s.c.pool_value, s.c.backlog_quantity,
                                   s.c.backlog_value, s.c.last_unit_cost)
                         .where(s.c.org_id == org_id, s.c.product_id.in_(ids)).order_by(s.c.product_id)).all()
    on_hand = []
    if pairs:
        b, t = StockBalance.__table__, Batch.__table__
        rows = conn.execute(sa.select(b.c.product_id, b.c.batch_id, b.c.location_id, b.c.quantity, t.c.number,
                                      t.c.expiry_date)
                            .select_from(b.outerjoin(t, t.c.id == b.c.batch_id))
                            .where(b.c.org_id == org_id, b.c.product_id.in_({p for p, _ in pairs}))).all()
        wanted = set(pairs)
        on_hand = [r for r in rows if (r[0], r[2]) in wanted]
    layers = []
    c = CostLayer.__table__
    for product_id, need, lifo in needs:
        got = ZERO
        for r in conn.execute(sa.select(c.c.id, c.c.product_id, c.c.quantity, c.c.unit_cost, c.c.remaining_quantity,
                                        c.c.remaining_value)
                              .where(c.c.org_id == org_id, c.c.product_id == product_id, c.c.remaining_quantity > 0)
                              .order_by(c.c.id.desc() if lifo else c.c.id)):
            if got >= need:
                break
            layers.append(r)
            got += r[4]
    return pools, on_hand, layers


_CREATE_POOLS_PG = sa.text(
    "INSERT INTO product_stock (org_id, product_id, pool_quantity, pool_value, backlog_quantity, backlog_value, "
    "last_unit_cost) SELECT :org_id, p, 0, 0, 0, 0, 0 FROM unnest(CAST(:ids AS bigint[])) AS p ORDER BY p "
    "ON CONFLICT (org_id, product_id) DO NOTHING")

_LOCK_POOLS_PG = sa.text(
    "SELECT id, product_id, pool_quantity, pool_value, backlog_quantity, backlog_value, last_unit_cost "
    "FROM product_stock WHERE org_id = :org_id AND product_id = ANY(CAST(:ids AS bigint[])) "
    "ORDER BY product_id FOR UPDATE")

_ON_HAND_PG = sa.text(
    "SELECT b.product_id, b.batch_id, b.location_id, b.quantity, t.number, t.expiry_date "
    "FROM stock_balance b LEFT JOIN batch t ON t.id = b.batch_id AND t.org_id = :org_id "
    "WHERE b.org_id = :org_id AND (b.product_id, b.location_id) IN "
    "(SELECT * FROM unnest(CAST(:product_ids AS bigint[]), CAST(:location_ids AS bigint[])))")

#: The open layers each FIFO (oldest first) or LIFO (newest first) product consumes, as many as the
#: quantity going out can use (each layer holds at least one unit's worth, so the rest are not needed).
_LAYERS_PG = sa.text("""
SELECT id, product_id, quantity, unit_cost, remaining_quantity, remaining_value FROM (
  SELECT l.id, l.product_id, l.quantity, l.unit_cost, l.remaining_quantity, l.remaining_value, v.need,
         v.lifo, sum(l.remaining_quantity) OVER (PARTITION BY l.product_id
             ORDER BY CASE WHEN v.lifo THEN -l.id ELSE l.id END ROWS UNBOUNDED PRECEDING) - l.remaining_quantity
             AS before
  FROM unnest(CAST(:product_ids AS bigint[]), CAST(:needs AS numeric[]), CAST(:lifo AS boolean[]))
       AS v(product_id, need, lifo)
  JOIN cost_layer l ON l.org_id = :org_id AND l.product_id = v.product_id AND l.remaining_quantity > 0
) x WHERE before < need
ORDER BY product_id, CASE WHEN lifo THEN -id ELSE id END
""")

_ON_HAND_UPSERT_PG = sa.text("""
INSERT INTO stock_balance (org_id, product_id, batch_id, location_id, quantity)
SELECT :org_id, v.product_id, v.batch_id, v.location_id, v.quantity
FROM unnest(CAST(:product_ids AS bigint[]), CAST(:batch_ids AS bigint[]), CAST(:location_ids AS bigint[]),
            CAST(:quantities AS numeric[])) WITH ORDINALITY AS v(product_id, batch_id, location_id, quantity, n)
ORDER BY v.n
ON CONFLICT (org_id, product_id, location_id, coalesce(batch_id, 0))
DO UPDATE SET quantity = stock_balance.quantity + excluded.quantity
RETURNING product_id, batch_id, location_id, quantity
""")

#: The moves (ids taken from the sequence in the lines' order) and the cost layers of those that
#: brought stock in, in one statement; returns each move's place (1, 2, …) and id.
_MOVES_PG = sa.text("""
WITH v AS (
  SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:product_ids AS bigint[]), CAST(:batch_ids AS bigint[]),
                       CAST(:from_ids AS bigint[]), CAST(:to_ids AS bigint[]), CAST(:quantities AS numeric[]),
                       CAST(:unit_costs AS numeric[]), CAST(:values AS numeric[])) WITH ORDINALITY
       AS v(kind, product_id, batch_id, from_id, to_id, quantity, unit_cost, value_change, n)
), ids AS (
  SELECT n, nextval('stock_move_id_seq') AS id FROM (SELECT n FROM v ORDER BY n) o
), m AS (
  INSERT INTO stock_move (id, org_id, date, kind, product_id, batch_id, from_location_id, to_location_id, quantity,
                          unit_cost, value_change, source_type, source_id, source_number, created_at, created_by_id)
  SELECT ids.id, :org_id, :date, v.kind, v.product_id, v.batch_id, v.from_id, v.to_id, v.quantity, v.unit_cost,
         v.value_change, :source_type, :source_id, :source_number, :created_at, :created_by_id
  FROM v JOIN ids ON ids.n = v.n
), l AS (
  INSERT INTO cost_layer (org_id, product_id, move_id, date, quantity, unit_cost, remaining_quantity, remaining_value)
  SELECT :org_id, c.product_id, ids.id, :date, c.quantity, c.unit_cost, c.remaining_quantity, c.remaining_value
  FROM unnest(CAST(:layer_moves AS bigint[]), CAST(:layer_products AS bigint[]), CAST(:layer_quantities AS numeric[]),
              CAST(:layer_costs AS numeric[]), CAST(:layer_left AS numeric[]), CAST(:layer_values AS numeric[]))
       AS c(n, product_id, quantity, unit_cost, remaining_quantity, remaining_value)
  JOIN ids ON ids.n = c.n
)
SELECT n, id FROM ids
""")

_LAYERS_UPDATE_PG = sa.text(
    "UPDATE cost_layer AS c SET remaining_quantity = v.left_q, remaining_value = v.left_v "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:left AS numeric[]), CAST(:values AS numeric[])) AS v(id, left_q, left_v) "
    "WHERE c.org_id = :org_id AND c.id = v.id")

_POOLS_UPDATE_PG = sa.text(
    "UPDATE product_stock AS p SET pool_quantity = v.pq, pool_value = v.pv, backlog_quantity = v.bq, "
    "backlog_value = v.bv, last_unit_cost = v.lc "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:pq AS numeric[]), CAST(:pv AS numeric[]), CAST(:bq AS numeric[]), "
    "CAST(:bv AS numeric[]), CAST(:lc AS numeric[])) AS v(id, pq, pv, bq, bv, lc) "
    "WHERE p.org_id = :org_id AND p.id = v.id")
