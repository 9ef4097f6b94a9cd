"""Inventory documents: adjustments (and write-offs, opening stock), transfers,
stocktakes. Drafts are edited freely; posting numbers them, moves the stock
through `inventory.services.apply` and posts one journal entry."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from webapp.catalog.models import Product
from webapp.core import audit, numbering
from webapp.core.clock import now
from webapp.core.errors import DomainError, StaleData
from webapp.core.money import ZERO
from webapp.core.tx import atomic
from webapp.extensions import db
from webapp.inventory import services
from webapp.inventory.models import (ADJUSTMENT, ADJUSTMENT_IN, ADJUSTMENT_OUT, CANCELLED, COUNTING, DONE, DRAFT,
                                     OPENING, OPENING_DOC, POSTED, REASONS, TRANSFER, WRITE_OFF, WRITE_OFF_DOC, Batch,
                                     Location, ProductStock, StockAdjustment, StockAdjustmentLine, StockBalance,
                                     Stocktake, StocktakeLine, StockTransfer, StockTransferLine)
from webapp.inventory.services import MoveSpec
from webapp.ledger.services import post_entry
from webapp.orgs.queries import current_organization

MAX_LINES = 500


def _fy() -> int:
    return current_organization().fiscal_year_start_month


def _lock(model, doc_id: int):
    return db.session.scalars(sa.select(model).where(model.id == doc_id).with_for_update(of=model)
                              .execution_options(populate_existing=True)).one()


def _editable(doc, version: int | None) -> None:
    if doc.status != DRAFT:
        raise DomainError("This document is no longer a draft; it cannot be edited.")
    if version is not None and int(version) != doc.version:
        raise StaleData("Someone else changed this document since you opened it. Reload the page.")
    doc.version += 1


def current_unit_cost(product: Product) -> Decimal:
    ps = db.session.scalars(sa.select(ProductStock).where(ProductStock.product_id == product.id)).first()
    if ps is None:
        return ZERO
    if ps.pool_quantity > 0:
        return (ps.pool_value / ps.pool_quantity).quantize(Decimal("0.000001"))
    return ps.last_unit_cost


# ---------------------------------------------------------------- adjustments

@atomic()
def create_adjustment(*, location: Location, on: date, kind: str = ADJUSTMENT, reason: str = "count",
                      memo: str = "", stocktake: Stocktake | None = None) -> StockAdjustment:
    if kind not in (ADJUSTMENT, WRITE_OFF_DOC, OPENING_DOC):
        raise DomainError("Choose adjustment, write-off or opening stock.", field="kind")
    if reason not in REASONS:
        raise DomainError("Choose a reason.", field="reason")
    if not location.active:
        raise DomainError(f"{location.name} is not active.", field="location_id")
    adj = StockAdjustment(location_id=location.id, date=on, kind=kind, memo=(memo or "").strip()[:300],
                          reason="opening" if kind == OPENING_DOC else reason,
                          stocktake_id=stocktake.id if stocktake else None,
                          created_by_id=audit.current_actor().user_id)
    adj.lines = [StockAdjustmentLine(position=1)]
    db.session.add(adj)
    db.session.flush()
    return adj


@atomic()
def update_adjustment_header(adj: StockAdjustment, *, on: date, reason: str, memo: str, version: int | None):
    _editable(adj, version)
    if reason not in REASONS:
        raise DomainError("Choose a reason.", field="reason")
    adj.date, adj.memo = on, (memo or "").strip()[:300]
    if adj.kind == ADJUSTMENT:
        adj.reason = reason
    db.session.flush()


@atomic()
def add_adjustment_line(adj: StockAdjustment, version: int | None) -> StockAdjustmentLine:
    _editable(adj, version)
    if len(adj.lines) >= MAX_LINES:
        raise DomainError(f"A document has at most {MAX_LINES} lines.")
    line = StockAdjustmentLine(position=max((l.position for l in adj.lines), default=0) + 1)
    adj.lines.append(line)
    db.session.flush()
    return line


@atomic()
def update_adjustment_line(adj: StockAdjustment, line: StockAdjustmentLine, *, product: Product | None,
                           quantity: Decimal | None, batch_number: str | None, expiry: date | None,
                           unit_cost: Decimal | None, version: int | None) -> None:
    if line.adjustment_id != adj.id:
        raise DomainError("That line is not on this document.")
    quantity = quantity or ZERO
    if product is not None and not product.stocked:
        raise DomainError(f"{product.name} is a service; it has no stock.", field="product_id")
    if adj.kind == WRITE_OFF_DOC and quantity > 0:
        raise DomainError("A write-off removes stock: enter a negative quantity.", field="quantity")
    if adj.kind == OPENING_DOC and quantity < 0:
        raise DomainError("Opening stock adds stock: enter a positive quantity.", field="quantity")
    if unit_cost is not None and unit_cost < 0:
        raise DomainError("A cost cannot be negative.", field="unit_cost")
    _editable(adj, version)
    line.product = product
    line.quantity, line.unit_cost, line.expiry_date = quantity, unit_cost, expiry
    line.batch_number = (batch_number or "").strip()[:40] or None
    db.session.flush()


@atomic()
def remove_adjustment_line(adj: StockAdjustment, line: StockAdjustmentLine, version: int | None) -> None:
    if line.adjustment_id != adj.id:
        raise DomainError("That line is not on this document.")
    _editable(adj, version)
    adj.lines.remove(line)
    db.session.flush()


def _adjustment_specs(adj: StockAdjustment) -> list[MoveSpec]:
    specs = []
    location = adj.location
    lines = [l for l in adj.lines if l.product_id or l.quantity]
    if not lines:
        raise DomainError("Add at least one line with a product and a quantity.", field="lines")
    for n, l in enumerate(lines, 1):
        if l.product_id is None:
            raise DomainError(f"Line {n} has a quantity but no product.", field="lines")
        if l.quantity == 0:
            raise DomainError(f"Line {n} ({l.product.name}) has no quantity.", field="lines")
        product = l.product
        batch = None
        if product.tracks_batches:
            if l.quantity > 0:
                batch = services.batch_for(product, l.batch_number, l.expiry_date)
            elif l.batch_number:
                batch = db.session.scalars(sa.select(Batch).where(Batch.product_id == product.id,
                                                                  Batch.number == l.batch_number)).first()
                if batch is None:
                    raise DomainError(f"Line {n}: {product.name} has no batch {l.batch_number}.", field="lines")
        if l.quantity > 0:
            cost = l.unit_cost if l.unit_cost is not None else current_unit_cost(product)
            kind = OPENING if adj.kind == OPENING_DOC else ADJUSTMENT_IN
            specs.append(MoveSpec(kind, product, l.quantity, to_location=location, batch=batch, unit_cost=cost))
        else:
            kind = WRITE_OFF if adj.kind == WRITE_OFF_DOC else ADJUSTMENT_OUT
            specs.append(MoveSpec(kind, product, -l.quantity, from_location=location, batch=batch))
    return specs


@atomic()
def post_adjustment(adj: StockAdjustment, version: int | None = None) -> StockAdjustment:
    adj = _lock(StockAdjustment, adj.id)
    if adj.status != DRAFT:
        raise DomainError(f"This adjustment is already {adj.status}" + (f" as {adj.number}." if adj.number else "."))
    if version is not None and int(version) != adj.version:
        raise StaleData("Someone changed this adjustment after you opened it. Review it and post again.")
    specs = _adjustment_specs(adj)
    number = numbering.next_number("stock_adjustment", adj.date, _fy())
    result = services.apply(specs, on=adj.date, source_type="stock_adjustment", source_id=adj.id,
                            source_number=number)
    entry = None
    if result.ledger_lines:
        label = {OPENING_DOC: "Opening stock", WRITE_OFF_DOC: "Write-off"}.get(adj.kind, "Stock adjustment")
        entry = post_entry(date=adj.date, memo=f"{label} {number}: {REASONS[adj.reason].lower()}"
                           + (f" — {adj.memo}" if adj.memo else ""), lines=result.ledger_lines,
                           source_type="stock_adjustment", source_id=adj.id, source_number=number)
    with audit.action("stock_adjustment.post"):
        adj.status, adj.number = POSTED, number
        adj.entry_id = entry.id if entry else None
        adj.approved_by_id = audit.current_actor().user_id
        adj.version += 1
        db.session.flush()
    return adj


@atomic()
def cancel_draft(doc) -> None:
    doc = _lock(type(doc), doc.id)
    if doc.status != DRAFT:
        raise DomainError("Only a draft can be cancelled; a posted document is reversed by a new one.")
    with audit.action(f"{doc.__tablename__}.cancel"):
        doc.status = CANCELLED
        db.session.flush()


# ---------------------------------------------------------------- transfers

@atomic()
def create_transfer(*, from_location: Location, to_location: Location, on: date, memo: str = "") -> StockTransfer:
    if from_location.id == to_location.id:
        raise DomainError("Choose two different locations.", field="to_location_id")
    for loc in (from_location, to_location):
        if not loc.active:
            raise DomainError(f"{loc.name} is not active.", field="to_location_id")
    t = StockTransfer(from_location_id=from_location.id, to_location_id=to_location.id, date=on,
                      memo=(memo or "").strip()[:300], created_by_id=audit.current_actor().user_id)
    t.lines = [StockTransferLine(position=1)]
    db.session.add(t)
    db.session.flush()
    return t


@atomic()
def add_transfer_line(t: StockTransfer, version: int | None) -> StockTransferLine:
    _editable(t, version)
    if len(t.lines) >= MAX_LINES:
        raise DomainError(f"A document has at most {MAX_LINES} lines.")
    line = StockTransferLine(position=max((l.position for l in t.lines), default=0) + 1)
    t.lines.append(line)
    db.session.flush()
    return line


@atomic()
def update_transfer_line(t: StockTransfer, line: StockTransferLine, *, product: Product | None,
                         batch: Batch | None, quantity: Decimal | None, version: int | None) -> None:
    if line.transfer_id != t.id:
        raise DomainError("That line is not on this transfer.")
    if product is not None and not product.stocked:
        raise DomainError(f"{product.name} is a service; it has no stock.", field="product_id")
    if batch is not None and (product is None or batch.product_id != product.id):
        raise DomainError("That batch belongs to another product.", field="batch_id")
    if quantity is not None and quantity < 0:
        raise DomainError("Enter a positive quantity.", field="quantity")
    _editable(t, version)
    line.product, line.batch = product, batch
    line.quantity = quantity or ZERO
    db.session.flush()


@atomic()
def remove_transfer_line(t: StockTransfer, line: StockTransferLine, version: int | None) -> None:
    if line.transfer_id != t.id:
        raise DomainError("That line is not on this transfer.")
    _editable(t, version)
    t.lines.remove(line)
    db.session.flush()


@atomic()
def post_transfer(t: StockTransfer, version: int | None = None) -> StockTransfer:
    t = _lock(StockTransfer, t.id)
    if t.status != DRAFT:
        raise DomainError(f"This transfer is already {t.status}" + (f" as {t.number}." if t.number else "."))
    if version is not None and int(version) != t.version:
        raise StaleData("Someone changed this transfer after you opened it. Review it and post again.")
    lines = [l for l in t.lines if l.product_id or l.quantity]
    if not lines:
        raise DomainError("Add at least one line with a product and a quantity.", field="lines")
    specs = []
    for n, l in enumerate(lines, 1):
        if l.product_id is None or l.quantity <= 0:
            raise DomainError(f"Line {n} needs a product and a quantity.", field="lines")
        specs.append(MoveSpec(TRANSFER, l.product, l.quantity, from_location=t.from_location,
                              to_location=t.to_location, batch=l.batch))
    number = numbering.next_number("stock_transfer", t.date, _fy())
    services.apply(specs, on=t.date, source_type="stock_transfer", source_id=t.id, source_number=number)
    with audit.action("stock_transfer.post"):
        t.status, t.number = POSTED, number
        t.version += 1
        db.session.flush()
    return t


# ---------------------------------------------------------------- stocktakes

@atomic()
def create_stocktake(*, location: Location, on: date, memo: str = "") -> Stocktake:
    """A count sheet with every product and batch the books say is at the location."""
    if not location.active:
        raise DomainError(f"{location.name} is not active.", field="location_id")
    st = Stocktake(location_id=location.id, date=on, memo=(memo or "").strip()[:300],
                   created_by_id=audit.current_actor().user_id)
    db.session.add(st)
    db.session.flush()
    st.number = numbering.next_number("stocktake", on, _fy())
    rows = db.session.execute(
        sa.select(StockBalance.product_id, StockBalance.batch_id, StockBalance.quantity)
        .join(Product, Product.id == StockBalance.product_id)
        .where(StockBalance.location_id == location.id, StockBalance.quantity != 0, Product.active.is_(True))
        .order_by(Product.name, StockBalance.batch_id)).all()
    for n, (product_id, batch_id, qty) in enumerate(rows, 1):
        db.session.add(StocktakeLine(stocktake_id=st.id, position=n, product_id=product_id, batch_id=batch_id,
                                     expected=qty))
    db.session.flush()
    db.session.expire(st, ["lines"])
    return st


@atomic()
def add_stocktake_product(st: Stocktake, product: Product, batch: Batch | None = None) -> StocktakeLine:
    """A product found on the shelf that the sheet does not list."""
    if st.status != COUNTING:
        raise DomainError("Counting has finished on this sheet.")
    if not product.stocked:
        raise DomainError(f"{product.name} is a service.", field="product_id")
    for line in st.lines:
        if line.product_id == product.id and line.batch_id == (batch.id if batch else None):
            return line
    expected = services.available(product, st.location, batch)
    line = StocktakeLine(stocktake_id=st.id, position=len(st.lines) + 1, product_id=product.id,
                         batch_id=batch.id if batch else None, expected=expected)
    st.lines.append(line)
    db.session.flush()
    return line


@atomic()
def record_count(st: Stocktake, line: StocktakeLine, counted: Decimal | None) -> None:
    if line.stocktake_id != st.id:
        raise DomainError("That line is not on this count sheet.")
    if st.status != COUNTING:
        raise DomainError("Counting has finished on this sheet.")
    if counted is not None and counted < 0:
        raise DomainError("A count cannot be negative.", field="counted")
    line.counted = counted
    line.counted_at = now() if counted is not None else None
    db.session.flush()


@atomic()
def finish_stocktake(st: Stocktake) -> StockAdjustment | None:
    """Turn the differences into a draft adjustment (reason: count difference)."""
    st = _lock(Stocktake, st.id)
    if st.status != COUNTING:
        raise DomainError("This count sheet is already finished.")
    uncounted = [l for l in st.lines if l.counted is None]
    if uncounted and len(uncounted) == len(st.lines):
        raise DomainError("Nothing has been counted yet.")
    adj = None
    diffs = []
    for l in st.lines:
        if l.counted is None:
            continue
        # Against what the books say now, so sales during the count are not double-counted.
        current = services.available(l.product, st.location, l.batch)
        if l.counted != current:
            diffs.append((l, l.counted - current))
    if diffs:
        adj = create_adjustment(location=st.location, on=st.date, reason="count",
                                memo=f"From stocktake {st.number}", stocktake=st)
        adj.lines = [StockAdjustmentLine(position=n, product_id=l.product_id,
                                         batch_number=l.batch.number if l.batch else None,
                                         expiry_date=l.batch.expiry_date if l.batch else None, quantity=delta)
                     for n, (l, delta) in enumerate(diffs, 1)]
    with audit.action("stocktake.finish"):
        st.status = DONE
        db.session.flush()
    return adj


@atomic()
def record_counts_from_sheet(st: Stocktake, rows: list[dict]) -> int:
    """Counts from an uploaded sheet: all rows are checked first; one bad row saves nothing."""
    if st.status != COUNTING:
        raise DomainError("Counting has finished on this sheet.", field="file")
    from webapp.core.money import MoneyError, parse_amount
    by_key = {(l.product.sku, l.batch.number if l.batch else ""): l for l in st.lines}
    updates, problems = [], []
    for row in rows:
        key = ((row.get("sku") or "").strip(), (row.get("batch") or "").strip())
        line = by_key.get(key)
        text = (row.get("counted") or "").strip()
        if not text:
            continue
        if line is None:
            problems.append(f"line {row['_line']}: {key[0]} {key[1]} is not on this sheet")
            continue
        try:
            updates.append((line, parse_amount(text, places=3)))
        except MoneyError as exc:
            problems.append(f"line {row['_line']}: {exc}")
    if problems:
        raise DomainError("Nothing was saved. " + "; ".join(problems[:10]) +
                          (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "") + ".", field="file")
    for line, counted in updates:
        record_count(st, line, counted)
    return len(updates)
