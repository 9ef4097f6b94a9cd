"""Every change to purchase orders, goods receipts, supplier bills and attachments."""
from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from webapp.catalog.models import Product
from webapp.core import audit, numbering, trade
from webapp.core.clock import now, today
from webapp.core.errors import DomainError
from webapp.core.money import MAX_AMOUNT, ZERO, currency, format_amount
from webapp.core.trade import (LineValues, apply_line_values, check_line_values, check_version, recompute)
from webapp.core.tx import atomic
from webapp.extensions import db
from webapp.inventory import services as inventory
from webapp.inventory.models import RECEIPT, Location, StockMove
from webapp.inventory.services import MoveSpec
from webapp.ledger.models import Account, JournalEntry
from webapp.ledger.services import Line, check_open, post_entry, reverse_entry
from webapp.orgs.queries import current_organization
from webapp.parties.models import Party
from webapp.purchases.models import (BILL, BILLED, CANCELLED, DRAFT, ORDER, PAID, PARTLY_RECEIVED, POSTED, RECEIVED, SENT,
                                     UNPAID, Attachment, GoodsReceipt, GoodsReceiptLine, PurchaseDocument,
                                     PurchaseLine)

TAX_ACCOUNTS = {"CGST": "input_cgst", "SGST": "input_sgst", "IGST": "input_igst", "VAT": "input_vat"}
QTY = Decimal("0.001")


class AlreadyDone(DomainError):
    """A second post/send of the same document: nothing more happens."""


_lock = trade.lock


def _purchase_price(product: Product) -> Decimal:
    return product.purchase_price if product.purchase_price is not None else ZERO


def _check_supplier(supplier: Party | None) -> None:
    if supplier is None or supplier.org_id != current_organization().id:
        raise DomainError("Choose a supplier.", field="supplier_id")
    if not supplier.active or not supplier.is_supplier:
        raise DomainError(f"{supplier.name} is not an active supplier.", field="supplier_id")


_editable = trade.editable


def _snapshot(p: Party) -> dict:
    return {"name": p.name, "code": p.code, "tax_id": p.tax_id, "address": p.billing_address, "city": p.billing_city,
            "postal_code": p.billing_postal_code, "state": p.state, "country": p.country, "phone": p.phone,
            "email": p.email}


# ---------------------------------------------------------------- orders and bills: drafts

@atomic()
def create_document(doc_type: str, *, on: date, supplier: Party | None = None) -> PurchaseDocument:
    if doc_type not in (ORDER, BILL):
        raise DomainError("Unknown kind of document.")
    org = current_organization()
    if supplier is not None:
        _check_supplier(supplier)
    doc = PurchaseDocument(doc_type=doc_type, date=on, currency=org.base_currency, supplier=supplier,
                           place_of_supply=supplier.state if supplier else None,
                           created_by_id=audit.current_actor().user_id)
    doc.lines = [PurchaseLine(position=1)]
    db.session.add(doc)
    db.session.flush()
    return doc


@atomic()
def update_header(doc: PurchaseDocument, *, supplier: Party | None, on: date, due_date: date | None = None,
                  expected_date: date | None = None, supplier_reference: str | None = None,
                  supplier_date: date | None = None, typed_tax: Decimal | None = None,
                  typed_total: Decimal | None = None, notes: str | None = None,
                  prices_include_tax: bool = False, version: int | None = None) -> None:
    _editable(doc, version)
    org = current_organization()
    if supplier is not None:
        _check_supplier(supplier)
    if due_date is not None and due_date < on:
        raise DomainError("The due date is before the date of the document.", field="due_date")
    ref = (supplier_reference or "").strip()[:60] or None
    for name, typed in (("typed_tax", typed_tax), ("typed_total", typed_total)):
        if typed is not None and (typed < 0 or typed > MAX_AMOUNT
                                  or typed != typed.quantize(currency(doc.currency).minor_unit)):
            raise DomainError(f"Type the amount as printed, in {doc.currency}.", field=name)
    if ref and supplier is not None and doc.doc_type == BILL:
        _check_bill_number(doc, supplier, ref)
    if supplier is not None and (doc.supplier is None or supplier.id != doc.supplier.id):
        doc.place_of_supply = supplier.state  # input tax: the supplier's state against ours
    doc.supplier, doc.date, doc.due_date, doc.expected_date = supplier, on, due_date, expected_date
    doc.supplier_reference, doc.supplier_date = ref, supplier_date
    doc.typed_tax, doc.typed_total = typed_tax, typed_total
    doc.notes = (notes or "").strip() or None
    doc.prices_include_tax = bool(prices_include_tax)
    recompute(doc, org)
    db.session.flush()


@atomic()
def add_line(doc: PurchaseDocument, version: int | None) -> PurchaseLine:
    return trade.add_blank_line(doc, PurchaseLine, version)


@atomic()
def update_line(doc: PurchaseDocument, line: PurchaseLine, values: LineValues, *, account: Account | None = None,
                version: int | None = None) -> None:
    if line.document_id != doc.id:
        raise DomainError("That line is not on this document.")
    check_line_values(values, doc.currency)
    if account is not None:
        if account.org_id != current_organization().id or account.is_group or not account.active:
            raise DomainError("Choose an active account.", field="account_id")
        if account.type not in ("expense", "asset"):
            raise DomainError("A bill line goes to an expense or asset account.", field="account_id")
    if line.receipt_line_id is not None:
        rl = db.session.get(GoodsReceiptLine, line.receipt_line_id)
        if values.product is None or values.product.id != rl.product_id:
            raise DomainError("This line bills a goods receipt; its product stays.", field="product_id")
        if (values.quantity or ZERO) > rl.unbilled_quantity:  # billed_quantity moves only when a bill posts
            raise DomainError(f"Only {rl.unbilled_quantity.normalize():f} of this receipt line are not billed yet.",
                              field="quantity")
    _editable(doc, version)
    apply_line_values(line, values, default_price=_purchase_price)
    line.account = account if values.product is None else None
    recompute(doc, current_organization())
    db.session.flush()


@atomic()
def remove_line(doc: PurchaseDocument, line: PurchaseLine, version: int | None) -> None:
    trade.remove_line(doc, line, current_organization(), version)


@atomic()
def delete_draft(doc: PurchaseDocument) -> None:
    trade.delete_draft(PurchaseDocument, doc)


_lines = trade.lines_to_post


# ---------------------------------------------------------------- purchase orders

@atomic()
def send_order(doc: PurchaseDocument, version: int | None = None) -> PurchaseDocument:
    """Number the order and mark it sent (its PDF is made by a job)."""
    doc = _lock(PurchaseDocument, doc.id)
    if doc.doc_type != ORDER:
        raise DomainError("Only a purchase order is sent.")
    if doc.status != DRAFT:
        raise AlreadyDone(f"This order was already sent as {doc.number}.")
    check_version(doc, version)
    _check_supplier(doc.supplier)
    for l in _lines(doc):
        if l.product is not None and not l.product.active:
            raise DomainError(f"{l.product.name} is inactive.", field="lines")
    org = current_organization()
    recompute(doc, org)
    with audit.action("purchase_order.send"):
        doc.number = numbering.next_number("purchase_order", doc.date, org.fiscal_year_start_month)
        doc.status, doc.sent_at, doc.supplier_snapshot = SENT, now(), _snapshot(doc.supplier)
        doc.version += 1
        db.session.flush()
    return doc


@atomic()
def cancel_order(doc: PurchaseDocument, reason: str) -> None:
    doc = _lock(PurchaseDocument, doc.id)
    if doc.doc_type != ORDER or doc.status in (CANCELLED, RECEIVED, BILLED):
        raise DomainError("Only an open purchase order can be cancelled.")
    if not (reason or "").strip():
        raise DomainError("Give a reason.", field="reason")
    with audit.action("purchase_order.cancel"):
        doc.status, doc.cancel_reason, doc.cancelled_at = CANCELLED, reason.strip()[:300], now()
        doc.version += 1
        db.session.flush()


def _order_status(order: PurchaseDocument) -> None:
    if order.status in (CANCELLED, DRAFT):
        return
    lines = [l for l in order.lines if not l.is_blank]
    stocked = [l for l in lines if l.product is not None and l.product.stocked]
    received_all = all(l.received_quantity >= l.quantity for l in stocked)
    billed_all = all(l.billed_quantity >= l.quantity for l in lines)
    if received_all and billed_all:
        order.status = BILLED
    elif received_all:
        order.status = RECEIVED
    elif any(l.received_quantity > 0 for l in stocked):
        order.status = PARTLY_RECEIVED
    else:
        order.status = SENT


@dataclass
class ReorderOutcome:
    orders: list[PurchaseDocument]
    without_supplier: list[Product]
    on_order: list[Product]


@atomic()
def orders_from_reorder(rows) -> ReorderOutcome:
    """Draft purchase orders from the reorder report: one per preferred supplier.

    A product whose open purchase orders already bring it back above its
    reorder point is left out, so pressing the button twice orders nothing twice.
    """
    from webapp.purchases.queries import on_order
    pending = on_order(r.product.id for r in rows)
    outcome = ReorderOutcome([], [], [])
    by_supplier: dict[int, list] = defaultdict(list)
    for row in rows:
        if row.on_hand + pending.get(row.product.id, ZERO) > row.product.reorder_point:
            outcome.on_order.append(row.product)
        elif row.product.preferred_supplier_id:
            by_supplier[row.product.preferred_supplier_id].append(row)
        else:
            outcome.without_supplier.append(row.product)
    for supplier_id, items in sorted(by_supplier.items()):
        supplier = db.session.get(Party, supplier_id)
        doc = create_document(ORDER, on=today(), supplier=supplier)
        doc.lines = []
        for n, row in enumerate(items, 1):
            line = PurchaseLine(position=n)
            doc.lines.append(line)
            apply_line_values(line, LineValues(row.product, None, row.suggested, None, None, None, None),
                              default_price=_purchase_price)
            line.quantity = row.suggested
        recompute(doc, current_organization())
        db.session.flush()
        outcome.orders.append(doc)
    return outcome


# ---------------------------------------------------------------- goods receipts

@atomic()
def create_receipt(*, on: date, location: Location, order: PurchaseDocument | None = None,
                   supplier: Party | None = None) -> GoodsReceipt:
    if order is not None:
        if order.doc_type != ORDER or order.status not in (SENT, PARTLY_RECEIVED):
            raise DomainError("Receive against a sent purchase order." if order.status == DRAFT
                              else f"{order.number} is {order.status.replace('_', ' ')}.")
        supplier = order.supplier
    _check_supplier(supplier)
    if location.org_id != current_organization().id or not location.active:
        raise DomainError("Choose an active location.", field="location_id")
    receipt = GoodsReceipt(date=on, supplier_id=supplier.id, order_id=order.id if order else None,
                           location_id=location.id, created_by_id=audit.current_actor().user_id)
    if order is not None:
        n = 0
        for l in order.lines:
            if l.product is not None and l.product.stocked and l.received_quantity < l.quantity:
                n += 1
                receipt.lines.append(GoodsReceiptLine(
                    position=n, product_id=l.product_id, order_line_id=l.id,
                    quantity=l.quantity - l.received_quantity, unit_cost=l.net_unit_price))
    if not receipt.lines:
        receipt.lines.append(GoodsReceiptLine(position=1))
    db.session.add(receipt)
    db.session.flush()
    return receipt


def _receipt_editable(r: GoodsReceipt, version: int | None) -> None:
    if r.status != DRAFT:
        raise DomainError("This receipt is posted; it can no longer be edited.")
    check_version(r, version)
    r.version += 1


@atomic()
def update_receipt_line(r: GoodsReceipt, line: GoodsReceiptLine, *, product: Product | None, quantity: Decimal | None,
                        unit_cost: Decimal | None, batch_number: str | None, expiry: date | None,
                        mrp: Decimal | None, version: int | None) -> None:
    if line.receipt_id != r.id:
        raise DomainError("That line is not on this receipt.")
    if product is not None and not product.stocked:
        raise DomainError(f"{product.name} is a service; nothing is received.", field="product_id")
    if line.order_line_id is not None and product is not None and product.id != line.product_id:
        raise DomainError("This line receives an ordered product; its product stays.", field="product_id")
    for name, value in (("quantity", quantity), ("unit_cost", unit_cost), ("mrp", mrp)):
        if value is not None and value < 0:
            raise DomainError("Negative numbers make no sense here.", field=name)
    if line.order_line_id is not None and quantity and not current_organization().allow_over_receipt:
        ol = line.order_line
        others = sum((l.quantity for l in r.lines if l.order_line_id == ol.id and l.id != line.id), ZERO)
        left = ol.quantity - ol.received_quantity - others
        if quantity > left:
            raise DomainError(f"Only {max(left, ZERO).normalize():f} more {'was' if left == 1 else 'were'} ordered. "
                              "An owner can allow receiving more than ordered in the stock settings.",
                              field="quantity")
    _receipt_editable(r, version)
    line.product_id = product.id if product else None
    line.product = product
    line.quantity = quantity or ZERO
    if unit_cost is not None:
        line.unit_cost = unit_cost
    elif product is not None and not line.unit_cost:
        line.unit_cost = _purchase_price(product)
    line.batch_number = (batch_number or "").strip()[:40] or None
    line.expiry_date, line.mrp = expiry, mrp
    db.session.flush()


@atomic()
def add_receipt_line(r: GoodsReceipt, version: int | None) -> GoodsReceiptLine:
    _receipt_editable(r, version)
    line = GoodsReceiptLine(position=max((l.position for l in r.lines), default=0) + 1)
    r.lines.append(line)
    db.session.flush()
    return line


@atomic()
def remove_receipt_line(r: GoodsReceipt, line: GoodsReceiptLine, version: int | None) -> None:
    if line.receipt_id != r.id:
        raise DomainError("That line is not on this receipt.")
    _receipt_editable(r, version)
    r.lines.remove(line)
    db.session.flush()


@atomic()
def scan_into_receipt(r: GoodsReceipt, product: Product, version: int | None = None) -> GoodsReceiptLine:
    """A scanned product: its ordered line (or a new one) gets one more unless it is still empty."""
    if not product.stocked:
        raise DomainError(f"{product.name} is a service; nothing is received.")
    for line in r.lines:
        if line.product_id == product.id and (not line.batch_number or not product.tracks_batches):
            return line  # the person types quantity, batch and expiry on this line
    blank = next((l for l in r.lines if l.product_id is None), None)
    line = blank or add_receipt_line(r, version)
    update_receipt_line(r, line, product=product, quantity=Decimal(1), unit_cost=None, batch_number=None,
                        expiry=None, mrp=None, version=None)
    return line


@atomic()
def post_receipt(r: GoodsReceipt, version: int | None = None) -> GoodsReceipt:
    r = _lock(GoodsReceipt, r.id)
    if r.status != DRAFT:
        raise AlreadyDone(f"This receipt was already posted as {r.number}.")
    check_version(r, version)
    org = current_organization()
    check_open(r.date)
    lines = [l for l in r.lines if l.product_id or l.quantity]
    if not lines:
        raise DomainError("Add at least one product and quantity.", field="lines")
    order = _lock(PurchaseDocument, r.order_id) if r.order_id else None
    order_lines = {l.id: l for l in order.lines} if order else {}
    specs = []
    for n, l in enumerate(lines, 1):
        if l.product is None or l.quantity <= 0:
            raise DomainError(f"Line {n} needs a product and a quantity.", field="lines")
        if l.quantity != l.quantity.quantize(QTY):
            raise DomainError(f"Line {n}: use at most 3 decimal places.", field="lines")
        batch = None
        if l.product.tracks_batches:
            if not l.batch_number or l.expiry_date is None:
                raise DomainError(f"Line {n} ({l.product.name}) is tracked by batch: enter the batch number and "
                                  "the expiry date.", field="lines")
            batch = inventory.batch_for(l.product, l.batch_number, l.expiry_date, l.mrp)
        if l.order_line_id:
            ol = order_lines.get(l.order_line_id)
            ordered_left = ol.quantity - ol.received_quantity
            already = sum((x.quantity for x in lines[:n - 1] if x.order_line_id == l.order_line_id), ZERO)
            if l.quantity + already > ordered_left and not org.allow_over_receipt:
                raise DomainError(f"Line {n}: {l.product.name} — only {ordered_left.normalize():f} more were ordered. "
                                  "An owner can allow receiving more than ordered in the settings.", field="lines")
        specs.append(MoveSpec(RECEIPT, l.product, l.quantity, to_location=r.location, batch=batch,
                              unit_cost=l.unit_cost))
    number = numbering.next_number("goods_receipt", r.date, org.fiscal_year_start_month)
    result = inventory.apply(specs, on=r.date, source_type="goods_receipt", source_id=r.id, source_number=number)
    entry = None
    if result.ledger_lines:
        entry = post_entry(date=r.date, memo=f"Goods received {number} — {r.supplier.name}", lines=result.ledger_lines,
                           source_type="goods_receipt", source_id=r.id, source_number=number)
    receipts = [m for m in result.moves if m.kind == RECEIPT]
    for line, move in zip(lines, receipts):
        line.value, line.move_id = move.value_change, move.id
        if line.order_line_id:
            order_lines[line.order_line_id].received_quantity += line.quantity
    with audit.action("goods_receipt.post"):
        r.status, r.number, r.posted_at = POSTED, number, now()
        r.entry_id = entry.id if entry else None
        r.version += 1
        if order is not None:
            _order_status(order)
            order.version += 1
        db.session.flush()
    return r


# ---------------------------------------------------------------- supplier bills

@atomic()
def bill_from(*, order: PurchaseDocument | None = None, receipt: GoodsReceipt | None = None,
              on: date) -> PurchaseDocument:
    """A draft bill for what was received and not billed yet (and, for an order, its services)."""
    supplier = (order or receipt).supplier
    doc = create_document(BILL, on=on, supplier=supplier)
    doc.lines = []
    doc.order_id = order.id if order else (receipt.order_id if receipt else None)
    receipts = [receipt] if receipt else list(db.session.scalars(
        sa.select(GoodsReceipt).where(GoodsReceipt.order_id == order.id, GoodsReceipt.status == POSTED)))
    prices = {l.id: l for l in order.lines} if order else {}
    n = 0
    for rec in receipts:
        if rec.status != POSTED:
            raise DomainError("Bill a posted receipt.")
        for rl in rec.lines:
            if rl.unbilled_quantity <= 0 or rl.product is None:
                continue
            ol = rl.order_line or prices.get(rl.order_line_id)
            n += 1
            line = PurchaseLine(position=n, receipt_line_id=rl.id, order_line_id=rl.order_line_id)
            doc.lines.append(line)
            apply_line_values(line, LineValues(rl.product, None, rl.unbilled_quantity,
                                               ol.unit_price if ol else rl.unit_cost,
                                               ol.discount_percent if ol else None, None,
                                               ol.tax_rate if ol else rl.product.tax_rate), default_price=None)
            line.quantity, line.unit_price = rl.unbilled_quantity, ol.unit_price if ol else rl.unit_cost
            line.tax_rate = ol.tax_rate if ol else rl.product.tax_rate
    if order is not None:
        for ol in order.lines:
            if ol.is_blank or (ol.product is not None and ol.product.stocked) or ol.billed_quantity >= ol.quantity:
                continue
            n += 1
            line = PurchaseLine(position=n, order_line_id=ol.id)
            doc.lines.append(line)
            apply_line_values(line, LineValues(ol.product, ol.description, ol.quantity - ol.billed_quantity,
                                               ol.unit_price, ol.discount_percent, None, ol.tax_rate), default_price=None)
    if not doc.lines:
        raise DomainError("Everything received has been billed already.")
    recompute(doc, current_organization())
    db.session.flush()
    return doc


def _check_bill_number(doc: PurchaseDocument, supplier: Party, reference: str) -> None:
    clash = db.session.scalars(sa.select(PurchaseDocument).where(
        PurchaseDocument.doc_type == BILL, PurchaseDocument.supplier_id == supplier.id,
        PurchaseDocument.supplier_reference == reference, PurchaseDocument.id != doc.id,
        PurchaseDocument.status == POSTED)).first()
    if clash is not None:
        raise DomainError(f"{supplier.name}'s bill {reference} is already recorded as {clash.number}.",
                          field="supplier_reference")


def _typed_tax_difference(doc: PurchaseDocument) -> Decimal:
    if doc.typed_tax is None:
        return ZERO
    diff = doc.typed_tax - doc.tax_total
    # A rupee or so, or 1 % of the tax, is rounding; more than that is a mistake in the lines.
    limit = max(Decimal("1.00"), (doc.tax_total / 100).quantize(currency(doc.currency).minor_unit))
    if abs(diff) > limit:
        raise DomainError(f"The tax typed from the bill ({format_amount(doc.typed_tax, doc.currency)}) differs from "
                          f"the lines' tax ({format_amount(doc.tax_total, doc.currency)}) by more than rounding; "
                          "check the rates and amounts.", field="typed_tax")
    return diff


def _printed_total_difference(doc: PurchaseDocument, tax_diff: Decimal) -> Decimal:
    """The supplier's own round-off: their printed total against the lines' total (with the typed tax)."""
    if doc.typed_total is None:
        return ZERO
    ours = doc.grand_total + tax_diff
    diff = doc.typed_total - ours
    if abs(diff) > Decimal("1.00"):
        raise DomainError(f"The total typed from the bill ({format_amount(doc.typed_total, doc.currency)}) differs "
                          f"from the lines' total ({format_amount(ours, doc.currency)}) by more than a round-off; "
                          "check the lines.", field="typed_total")
    return diff


def bill_check(doc: PurchaseDocument) -> dict:
    """The draft bill against the figures typed from the paper one, for the editor."""
    tax_diff = doc.typed_tax - doc.tax_total if doc.typed_tax is not None else ZERO
    ours = doc.grand_total + tax_diff
    return {"tax_diff": tax_diff, "total": ours,
            "round_off": doc.typed_total - ours if doc.typed_total is not None else ZERO,
            "payable": doc.typed_total if doc.typed_total is not None else ours}


@atomic()
def post_bill(doc: PurchaseDocument, version: int | None = None) -> PurchaseDocument:
    doc = _lock(PurchaseDocument, doc.id)
    if doc.doc_type != BILL:
        raise DomainError("Only a bill is posted.")
    if doc.status != DRAFT:
        raise AlreadyDone(f"This bill was already posted as {doc.number}.")
    check_version(doc, version)
    org = current_organization()
    _check_supplier(doc.supplier)
    if not doc.supplier_reference:
        raise DomainError("Enter the supplier's bill number, as printed.", field="supplier_reference")
    _check_bill_number(doc, doc.supplier, doc.supplier_reference)
    lines = _lines(doc)
    check_open(doc.date)
    recompute(doc, org)
    tax_diff = _typed_tax_difference(doc)
    round_off = _printed_total_difference(doc, tax_diff)
    number = numbering.next_number("bill", doc.date, org.fiscal_year_start_month)
    ledger: list[Line] = []
    receipt_lines = {rl.id: rl for rl in db.session.scalars(sa.select(GoodsReceiptLine).where(
        GoodsReceiptLine.id.in_([l.receipt_line_id for l in lines if l.receipt_line_id]))
        .with_for_update(of=GoodsReceiptLine).execution_options(populate_existing=True))}
    order = _lock(PurchaseDocument, doc.order_id) if doc.order_id else None
    order_lines = {l.id: l for l in order.lines} if order else {}
    # The cost pools of the bill's products, in product order, before any line revalues its receipt
    # (every posting locks pools in that order, and before the journal's counter: no deadlocks).
    inventory.lock_pools(sorted({l.product.id for l in lines if l.product is not None and l.product.stocked}))
    for n, l in enumerate(lines, 1):
        if l.product is not None and l.product.stocked:
            rl = receipt_lines.get(l.receipt_line_id)
            if rl is None:
                raise DomainError(f"Line {n}: {l.product.name} is billed against a goods receipt; receive it first "
                                  "and make the bill from the receipt or the order.", field="lines")
            if l.quantity > rl.unbilled_quantity:
                raise DomainError(f"Line {n}: only {rl.unbilled_quantity.normalize():f} of {l.product.name} are not "
                                  "billed yet.", field="lines")
            cleared = rl.value - rl.billed_value if l.quantity == rl.unbilled_quantity else min(
                rl.value - rl.billed_value, (rl.value * l.quantity / rl.quantity).quantize(currency(doc.currency).minor_unit))
            rl.billed_quantity += l.quantity
            rl.billed_value += cleared
            l.cleared_value = cleared
            ledger.append(Line("grni", debit=cleared, memo=f"{number} {l.product.sku}"))
            move = db.session.get(StockMove, rl.move_id)
            ledger += inventory.revalue_receipt(move, l.quantity, l.taxable - cleared, on=doc.date,
                                                source_type="bill", source_id=doc.id, source_number=number)
        else:
            account = l.account or (db.session.scalars(sa.select(Account).where(Account.code == "5900")).first())
            if account is None:
                raise DomainError(f"Line {n}: choose the expense account.", field="lines")
            ledger.append(Line(account, debit=l.taxable, memo=f"{number} {l.description or ''}"[:300]))
        if l.order_line_id and l.order_line_id in order_lines:
            order_lines[l.order_line_id].billed_quantity += l.quantity
    for row in doc.tax_breakdown or []:
        ledger.append(Line(TAX_ACCOUNTS[row["kind"]], debit=Decimal(row["amount"]), memo=f"{number} {row['kind']}"))
    total_round = tax_diff + round_off + doc.rounding
    if total_round:
        ledger.append(Line("rounding", debit=total_round) if total_round > 0 else Line("rounding", credit=-total_round))
    payable = doc.grand_total + tax_diff + round_off
    ledger.append(Line("payables", credit=payable, party_id=doc.supplier_id, memo=f"{number} {doc.supplier_reference}"))
    ledger = _net(ledger)
    entry = post_entry(date=doc.date, memo=f"Bill {number} — {doc.supplier.name} ({doc.supplier_reference})",
                       lines=ledger, source_type="bill", source_id=doc.id, source_number=number)
    with audit.action("bill.post"):
        doc.number, doc.status, doc.payment_status, doc.entry_id = (
            number, POSTED, UNPAID if doc.grand_total > 0 else PAID, entry.id)   # a zero bill: nothing to pay
        doc.tax_difference = tax_diff
        doc.rounding += round_off
        doc.grand_total = payable
        doc.due_date = doc.due_date or doc.date + timedelta(days=doc.supplier.payment_terms_days)
        doc.supplier_snapshot, doc.posted_at = _snapshot(doc.supplier), now()
        doc.version += 1
        if order is not None:
            _order_status(order)
            order.version += 1
        db.session.flush()
    return doc


def _net(lines: list[Line]) -> list[Line]:
    """Drop zero lines; a bill with no tax or no difference posts no empty lines."""
    return [l for l in lines if (l.debit or ZERO) > 0 or (l.credit or ZERO) > 0]


@atomic()
def cancel_bill(doc: PurchaseDocument, *, reason: str, on: date) -> PurchaseDocument:
    """Cancel a posted, unpaid bill: GRNI, tax and the payable come back; a price
    difference is taken back out of the stock still on hand (or cost of goods sold)."""
    doc = _lock(PurchaseDocument, doc.id)
    if doc.doc_type != BILL or doc.status != POSTED:
        raise DomainError("Only a posted bill can be cancelled.")
    if not (reason or "").strip():
        raise DomainError("Give the reason for cancelling.", field="reason")
    if doc.amount_paid > 0:
        raise DomainError(f"{doc.number} has payments allocated to it; unallocate them first.")
    check_open(doc.date, "cancel")
    check_open(on, "cancel")
    if on < doc.date:
        raise DomainError("A cancellation cannot be dated before the bill.", field="date")
    original = db.session.get(JournalEntry, doc.entry_id)
    has_price_difference = any(l.account.role in ("inventory", "cogs") for l in original.lines)
    receipt_lines = {rl.id: rl for rl in db.session.scalars(sa.select(GoodsReceiptLine).where(
        GoodsReceiptLine.id.in_([l.receipt_line_id for l in doc.lines if l.receipt_line_id]))
        .with_for_update(of=GoodsReceiptLine))}
    if not has_price_difference:
        entry = reverse_entry(original, date=on, memo=f"Cancellation of {doc.number}: {reason.strip()[:200]}",
                              source_type="bill", source_id=doc.id)
    else:
        # The stock may have moved since; take the difference back out of what is on hand now.
        lines = [Line(l.account_id, debit=l.credit, credit=l.debit, memo=l.memo, party_id=l.party_id)
                 for l in original.lines if l.account.role not in ("inventory", "cogs")]
        inventory.lock_pools(sorted({l.product_id for l in doc.lines if l.receipt_line_id in receipt_lines}))
        for l in doc.lines:
            rl = receipt_lines.get(l.receipt_line_id)
            if rl is not None:
                lines += inventory.revalue_receipt(db.session.get(StockMove, rl.move_id), l.quantity,
                                                   l.cleared_value - l.taxable, on=on, source_type="bill",
                                                   source_id=doc.id, source_number=doc.number)
        entry = post_entry(date=on, memo=f"Cancellation of {doc.number}: {reason.strip()[:200]}", lines=_net(lines),
                           source_type="bill", source_id=doc.id, source_number=doc.number)
    for l in doc.lines:
        rl = receipt_lines.get(l.receipt_line_id)
        if rl is not None:
            rl.billed_quantity -= l.quantity
            rl.billed_value -= l.cleared_value
    if doc.order_id:
        order = _lock(PurchaseDocument, doc.order_id)
        by_id = {x.id: x for x in order.lines}
        for l in doc.lines:
            if l.order_line_id in by_id:
                by_id[l.order_line_id].billed_quantity -= l.quantity
        _order_status(order)
        order.version += 1
    with audit.action("bill.cancel"):
        doc.status, doc.cancel_reason, doc.cancelled_at, doc.cancel_entry_id = (
            CANCELLED, reason.strip()[:300], now(), entry.id)
        doc.version += 1
        db.session.flush()
    return doc


# ---------------------------------------------------------------- attachments

def set_allow_over_receipt(org, allowed: bool) -> None:
    with audit.action("purchases.over_receipt_setting"):
        org.allow_over_receipt = bool(allowed)
        db.session.flush()


MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
SIGNATURES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MB".replace(".0 MB", " MB") if n >= 1048576 else f"{max(1, round(n / 1024))} KB"


@atomic()
def attach(owner_type: str, owner_id: int, filename: str, data: bytes) -> Attachment:
    """Keep a scanned bill: PDF, PNG or JPEG (recognised by its first bytes), at most 5 MB."""
    if not data:
        raise DomainError("The file is empty.", field="file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise DomainError(f"This file is {_size(len(data))}; attachments are at most {_size(MAX_ATTACHMENT_BYTES)}.",
                          field="file")
    mime = next((m for m, sig in SIGNATURES.items() if data.startswith(sig)), None)
    if mime is None:
        raise DomainError("Attach a PDF, PNG or JPEG file.", field="file")
    att = Attachment(owner_type=owner_type, owner_id=owner_id, stored_name=f"{secrets.token_hex(16)}.{EXTENSIONS[mime]}",
                     original_name=(filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:200] or "upload",
                     mime=mime, size=len(data), data=data, uploaded_by_id=audit.current_actor().user_id)
    db.session.add(att)
    db.session.flush()
    return att
