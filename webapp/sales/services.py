"""Every change to quotes, orders and invoices.

Drafts are edited line by line (`core.trade` does the arithmetic through the
tax engine). Posting an invoice, in one transaction: checks the customer, the
lines and the credit limit; takes the next gapless number; issues the stock
(first-expiry-first-out, cost of goods sold from the costing method); and
posts one journal entry — receivables (with the customer on the line) against
sales, output tax by kind, the round-off, and cost of goods sold against
inventory. Cancelling reverses that entry and brings the goods back at exactly
the cost they left at; nothing is deleted.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from webapp.catalog.models import Product
from webapp.core import audit, numbering, trade
from webapp.core.clock import now, today
from webapp.core.errors import DomainError, NotFound
from webapp.core.money import ZERO, format_amount
from webapp.core.trade import (LineValues, apply_line_values, check_line_values, check_version, recompute)
from webapp.core.tx import atomic
from webapp.extensions import db
from webapp.inventory import services as inventory
from webapp.inventory.models import ISSUE, RETURN_IN, Batch, Location, StockMove
from webapp.inventory.services import MoveSpec
from webapp.core.pipeline import Pipeline, flush, queue_updates
from webapp.extensions import on_postgres
from webapp.ledger.services import (Line, accounts_from, check_open, plan_entry, queue_accounts, queue_entry,
                                    reserve_entry_id, reverse_entry, write_entry)
from webapp.orgs.queries import current_organization
from webapp.parties.models import Party
from webapp.parties.queries import balance as party_balance
from webapp.sales.models import (CANCELLED, CONFIRMED, DRAFT, INVOICE, INVOICED, ORDER, PAID, PARTLY_INVOICED,
                                 POSTED, QUOTE, UNPAID, SalesDocument, SalesLine)

TAX_ACCOUNTS = {"CGST": "output_cgst", "SGST": "output_sgst", "IGST": "output_igst", "VAT": "output_vat"}
SERIES = {QUOTE: "quote", ORDER: "sales_order", INVOICE: "invoice"}


class AlreadyPosted(DomainError):
    """A second "post" of the same invoice (a double click): nothing more happens."""


def _lock(doc_id: int) -> SalesDocument:
    """The document re-read under a row lock, as `trade.lock` does, with its lines (and their
    products) in the same statement."""
    return db.session.scalars(sa.select(SalesDocument).where(SalesDocument.id == doc_id)
                              .with_for_update(of=SalesDocument).options(joinedload(SalesDocument.lines))
                              .execution_options(populate_existing=True)).unique().one()


def _sale_price(product: Product) -> Decimal:
    return product.sale_price


def _check_customer(customer: Party | None) -> None:
    if customer is None:
        raise DomainError("Choose a customer.", field="customer_id")
    if customer.org_id != current_organization().id:
        raise DomainError("Choose a customer.", field="customer_id")
    if not customer.active or not customer.is_customer:
        raise DomainError(f"{customer.name} is not an active customer.", field="customer_id")


_editable = trade.editable


def _snapshot(customer: Party) -> dict:
    return {"name": customer.name, "code": customer.code, "tax_id": customer.tax_id,
            "address": customer.billing_address, "city": customer.billing_city,
            "postal_code": customer.billing_postal_code, "state": customer.state, "country": customer.country,
            "shipping_address": customer.shipping_address, "shipping_state": customer.shipping_state,
            "phone": customer.phone, "email": customer.email}


# ---------------------------------------------------------------- drafts

@atomic()
def create_document(doc_type: str, *, on: date, customer: Party | None = None,
                    idempotency_key: str | None = None) -> SalesDocument:
    if doc_type not in SERIES:
        raise DomainError("Unknown kind of document.")
    org = current_organization()
    if customer is not None:
        _check_customer(customer)
    doc = SalesDocument(doc_type=doc_type, date=on, currency=org.base_currency,
                        customer=customer, place_of_supply=customer.place_of_supply if customer else None,
                        terms=org.invoice_terms, idempotency_key=idempotency_key,
                        valid_until=on + timedelta(days=30) if doc_type == QUOTE else None,
                        created_by_id=audit.current_actor().user_id)
    doc.lines = [SalesLine(position=1)]
    db.session.add(doc)
    db.session.flush()
    return doc


@atomic()
def update_header(doc: SalesDocument, *, customer: Party | None, on: date, due_date: date | None = None,
                  reference: str | None = None, notes: str | None = None, terms: str | None = None,
                  prices_include_tax: bool = False, place_of_supply: str | None = None,
                  version: int | None = None) -> None:
    _editable(doc, version)
    org = current_organization()
    if customer is not None:
        _check_customer(customer)
    if due_date is not None and due_date < on:
        raise DomainError("The due date is before the date of the document.", field="due_date")
    if customer is not None and (doc.customer is None or customer.id != doc.customer.id):
        place_of_supply = customer.place_of_supply  # a new customer brings their own place of supply
    if org.tax_regime == "gst_india" and place_of_supply:
        from webapp.core.regions import INDIA_STATES
        if place_of_supply not in INDIA_STATES:
            raise DomainError("Choose the state of the place of supply.", field="place_of_supply")
    doc.customer, doc.date, doc.due_date = customer, on, due_date
    doc.reference = (reference or "").strip()[:100] or None
    doc.notes = (notes or "").strip() or None
    doc.terms = (terms or "").strip() or None
    doc.prices_include_tax = bool(prices_include_tax)
    doc.place_of_supply = place_of_supply or None
    recompute(doc, org)
    db.session.flush()


@atomic()
def add_line(doc: SalesDocument, version: int | None) -> SalesLine:
    return trade.add_blank_line(doc, SalesLine, version)


@atomic()
def update_line(doc: SalesDocument, line: SalesLine, values: LineValues, *, batch=None,
                version: int | None = None) -> None:
    if line.document_id != doc.id:
        raise DomainError("That line is not on this document.")
    org = current_organization()
    check_line_values(values, doc.currency)
    if batch is not None and (values.product is None or batch.product_id != values.product.id):
        raise DomainError("That batch belongs to another product.", field="batch_id")
    _editable(doc, version)
    apply_line_values(line, values, default_price=_sale_price)
    trade.set_batch(line, batch if values.product is not None and values.product.tracks_batches else None)
    recompute(doc, org)
    flush()      # the line, the document's totals and version, their audit rows: one round trip


@atomic()
def remove_line(doc: SalesDocument, line: SalesLine, version: int | None) -> None:
    trade.remove_line(doc, line, current_organization(), version)


@atomic()
def delete_draft(doc: SalesDocument) -> None:
    trade.delete_draft(SalesDocument, doc,
                       "Only a draft is deleted; a posted invoice is cancelled, which keeps it on record.")


def _billable_lines(doc: SalesDocument) -> list[SalesLine]:
    lines = trade.lines_to_post(doc)
    for n, l in enumerate(lines, 1):
        if l.product is not None and not l.product.active:
            raise DomainError(f"Line {n}: {l.product.name} is inactive.", field="lines")
    return lines


# ---------------------------------------------------------------- quotes and orders

@atomic()
def confirm(doc: SalesDocument, version: int | None = None) -> SalesDocument:
    doc = _lock(doc.id)
    if doc.doc_type == INVOICE:
        raise DomainError("An invoice is posted, not confirmed.")
    if doc.status != DRAFT:
        raise AlreadyPosted(f"This {doc.doc_type} is already confirmed as {doc.number}.")
    check_version(doc, version)
    _check_customer(doc.customer)
    _billable_lines(doc)
    org = current_organization()
    recompute(doc, org)
    with audit.action(f"{doc.doc_type}.confirm"):
        doc.number = numbering.next_number(SERIES[doc.doc_type], doc.date, org.fiscal_year_start_month)
        doc.status, doc.customer_snapshot = CONFIRMED, _snapshot(doc.customer)
        doc.version += 1
        db.session.flush()
    return doc


@atomic()
def cancel_document(doc: SalesDocument, reason: str) -> None:
    """Cancel a quote or an order (what was invoiced stays invoiced)."""
    doc = _lock(doc.id)
    if doc.doc_type == INVOICE:
        raise DomainError("Use the invoice's own cancel, which reverses its journal and stock.")
    if doc.status in (CANCELLED, INVOICED):
        raise DomainError(f"This {doc.doc_type} is already {doc.status}.")
    if not (reason or "").strip():
        raise DomainError("Give a reason.", field="reason")
    with audit.action(f"{doc.doc_type}.cancel"):
        doc.status, doc.cancel_reason, doc.cancelled_at = CANCELLED, reason.strip()[:300], now()
        doc.version += 1
        db.session.flush()


@atomic()
def convert(source: SalesDocument, target_type: str, quantities: dict[int, Decimal] | None = None,
            on: date | None = None) -> SalesDocument:
    """A draft order or invoice from a confirmed quote or order: all remaining lines or some."""
    source = _lock(source.id)
    if source.doc_type == INVOICE or target_type not in (ORDER, INVOICE):
        raise DomainError("Only a quote or an order is converted.")
    if source.doc_type == ORDER and target_type == ORDER:
        raise DomainError("An order is converted into an invoice.")
    if source.status not in (CONFIRMED, PARTLY_INVOICED):
        raise DomainError(f"Confirm the {source.doc_type} first." if source.status == DRAFT
                          else f"This {source.doc_type} is {source.status.replace('_', ' ')}.")
    target = create_document(target_type, on=on or today(), customer=source.customer)
    target.lines = []
    target.source_id, target.prices_include_tax = source.id, source.prices_include_tax
    target.place_of_supply, target.reference = source.place_of_supply, source.reference or source.number
    for line in source.lines:
        if line.is_blank:
            continue
        qty = line.remaining_quantity if quantities is None else quantities.get(line.id, ZERO)
        if qty < 0 or qty > line.remaining_quantity:
            raise DomainError(f"{line.description}: at most {line.remaining_quantity.normalize():f} remain.",
                              field=f"qty-{line.id}")
        if qty == 0:
            continue
        target.lines.append(SalesLine(
            position=len(target.lines) + 1, product=line.product, description=line.description,
            hsn_code=line.hsn_code, unit=line.unit, quantity=qty, unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            discount_amount=line.discount_amount if qty == line.quantity else None,
            tax_rate=line.tax_rate, batch_id=line.batch_id, source_line_id=line.id))
    if not target.lines:
        raise DomainError("Choose at least one line to convert.", field="lines")
    recompute(target, current_organization())
    db.session.flush()
    return target


def _update_source(doc: SalesDocument, sign: int) -> None:
    """Add (or, on cancel, take back) an invoice's quantities on its order or quote."""
    if doc.source_id is None:
        return
    source = _lock(doc.source_id)
    by_id = {l.id: l for l in source.lines}
    for line in doc.lines:
        src = by_id.get(line.source_line_id)
        if src is None:
            continue
        src.invoiced_quantity += sign * line.quantity
        if src.invoiced_quantity > src.quantity:
            raise DomainError(f"{src.description}: only {(src.quantity - src.invoiced_quantity + line.quantity).normalize():f} "
                              f"remain on {source.number}.", field="lines")
    if source.status != CANCELLED:
        billable = [l for l in source.lines if not l.is_blank]
        done = sum((l.invoiced_quantity for l in billable), ZERO)
        source.status = (INVOICED if all(l.invoiced_quantity >= l.quantity for l in billable)
                         else PARTLY_INVOICED if done > 0 else CONFIRMED)
        source.version += 1


# ---------------------------------------------------------------- invoices

def credit_check(doc: SalesDocument, owed: Decimal | None = None) -> str | None:
    """None, or why the invoice takes the customer over their credit limit. `owed`: the customer's
    balance, when it was read already."""
    customer = doc.customer
    if customer.credit_limit is None:
        return None
    if owed is None:
        owed = party_balance(customer)
    if owed + doc.grand_total <= customer.credit_limit:
        return None
    code = doc.currency
    return (f"{customer.name} owes {format_amount(owed, code)}; with this invoice "
            f"({format_amount(doc.grand_total, code)}) that is over the credit limit of "
            f"{format_amount(customer.credit_limit, code)}.")


def _lock_with_location(doc_id: int) -> tuple[SalesDocument, Location | None]:
    """`_lock`, and the default location in the same statement (where stock leaves from)."""
    row = db.session.execute(
        sa.select(SalesDocument, Location).outerjoin(Location, Location.is_default.is_(True))
        .where(SalesDocument.id == doc_id).with_for_update(of=SalesDocument)
        .options(joinedload(SalesDocument.lines)).execution_options(populate_existing=True)).unique().first()
    if row is None:
        raise NotFound("There is no such invoice.")
    return row[0], row[1]


#: What a customer owes (receivables), read with a posting's other reads (PostgreSQL).
_OWED_PG = sa.text(
    "SELECT coalesce(sum(b.debit - b.credit), 0) FROM party_balance b JOIN account a ON a.id = b.account_id "
    "AND a.org_id = :org_id AND a.role = 'receivables' WHERE b.org_id = :org_id AND b.party_id = :party_id")


@dataclass
class Posted:
    """What posting an invoice gave: its number, and warnings (a credit-limit warning under the
    'warn' policy)."""
    number: str
    warnings: list[str] = field(default_factory=list)


@atomic()
def post_invoice(doc: SalesDocument | int, *, version: int | None = None, allow_expired: bool = False,
                 override_credit: bool = False) -> Posted:
    """Post an invoice (the document, or its id). NotFound for an id not of this organization.

    On PostgreSQL the posting is four round trips whatever the number of lines: the document
    locked (with its lines, products, customer and the default location); one pipeline of reads
    (its number and its journal entry's, the accounts, what the customer owes, the stock: pools
    locked, on hand, cost layers); the work in Python; one pipeline of writes (stock, the journal
    entry with its lines and day balances, the document, its lines' costs, the audit trail, the
    search rows). SQLite runs the same steps one statement at a time."""
    doc, default_location = _lock_with_location(doc if isinstance(doc, int) else doc.id)
    if doc.doc_type != INVOICE:
        raise DomainError("Only an invoice is posted.")
    if doc.status != DRAFT:
        raise AlreadyPosted(f"This invoice was already posted as {doc.number}.")
    check_version(doc, version)
    org = current_organization()
    _check_customer(doc.customer)
    lines = _billable_lines(doc)
    if doc.currency != org.base_currency:
        raise DomainError(f"Invoices are in {org.base_currency}.")
    check_open(doc.date)
    with db.session.no_autoflush:
        recompute(doc, org)
        return _post(doc, org, lines, default_location, allow_expired=allow_expired, override_credit=override_credit)


def _post(doc, org, lines, default_location, *, allow_expired, override_credit) -> Posted:
    postgres = on_postgres()
    reads = Pipeline()
    taxes = defaultdict(lambda: ZERO)
    for row in doc.tax_breakdown or []:
        taxes[row["kind"]] += Decimal(row["amount"])
    stocked = [l for l in lines if l.product is not None and l.product.stocked]
    roles = ["receivables", "sales", "rounding", *(TAX_ACCOUNTS[k] for k in taxes)]
    plan = None
    if stocked:
        location = db.session.get(Location, doc.location_id) if doc.location_id else default_location
        if location is None:
            raise DomainError("There is no default location; add one under Stock → Locations.")
        plan = inventory.plan_stock(
            [MoveSpec(ISSUE, l.product, l.quantity, from_location=location, batch=l.batch) for l in stocked],
            on=doc.date, source_type="invoice", source_id=doc.id, allow_expired=allow_expired)
        roles += ["cogs", "inventory"]
    # Locks in the order every posting takes them: the document (taken), the products' cost pools,
    # then the counters (the invoice's, the journal's), so that no two postings wait on each other.
    if plan is not None:
        plan.read(reads)
    number = numbering.take(reads, "invoice", doc.date, org.fiscal_year_start_month)
    # The entry's number is taken with the reads when the entry is certain (there is something to
    # receive); a free invoice may have no entry at all, and a number taken for none would be a gap.
    journal = entry_id = None
    if doc.grand_total > 0:
        journal = numbering.take(reads, "journal", doc.date, org.fiscal_year_start_month)
        if postgres:
            entry_id = reserve_entry_id(reads)
    accounts = owed = None
    if postgres:
        accounts = queue_accounts(reads, roles)
        if doc.customer.credit_limit is not None:
            owed = reads.add(_OWED_PG, {"org_id": org.id, "party_id": doc.customer_id})
    reads.run()
    if plan is not None and plan.postgres:
        plan.loaded()

    warnings = []
    problem = credit_check(doc, owed.scalar() if owed is not None else None)
    if problem and org.credit_limit_policy == "block" and not override_credit:
        raise DomainError(problem + " An owner or accountant can raise the limit.", field="customer_id")
    if problem and org.credit_limit_policy != "off":
        warnings.append(problem)

    number = str(number)
    writes = Pipeline()
    ledger_lines = [Line("receivables", debit=doc.grand_total, party_id=doc.customer_id, memo=number)]
    if plan is not None:
        # The stock's reads and writes are the posting's: one pipeline each.
        result = inventory.finish_stock(plan, writes, number)
        for n, line in enumerate(stocked):
            line.cost = result.cost_by_spec.get(n, ZERO)
        ledger_lines += result.ledger_lines
    ledger_lines.append(Line("sales", credit=doc.taxable_total, memo=number))
    for kind, amount in sorted(taxes.items()):
        ledger_lines.append(Line(TAX_ACCOUNTS[kind], credit=amount, memo=f"{number} {kind}"))
    if doc.rounding:
        ledger_lines.append(Line("rounding", credit=doc.rounding) if doc.rounding > 0
                            else Line("rounding", debit=-doc.rounding))
    ledger_lines = [l for l in ledger_lines if l.debit or l.credit]
    entry = None
    if ledger_lines:
        entry = plan_entry(date=doc.date, memo=f"Invoice {number} — {doc.customer.name}", lines=ledger_lines,
                           source_type="invoice", source_id=doc.id, source_number=number,
                           accounts=accounts_from(accounts) if accounts is not None else None)
        if entry_id is not None:
            entry.entry_id = entry_id.scalar()
            queue_entry(writes, entry, journal)
        else:  # SQLite, or an entry that was not certain before the stock was costed (no round trip saved)
            write_entry(entry, str(journal or numbering.next_number("journal", doc.date,
                                                                     org.fiscal_year_start_month)))
    with audit.action("invoice.post"):
        # Nothing to pay (free goods, a 100 % discount): paid, never overdue.
        doc.number, doc.status, doc.payment_status = number, POSTED, UNPAID if doc.grand_total > 0 else PAID
        doc.entry_id = entry.entry_id if entry else None
        doc.due_date = doc.due_date or doc.date + timedelta(days=doc.customer.payment_terms_days)
        doc.customer_snapshot = _snapshot(doc.customer)
        doc.cost_total = sum((l.cost for l in lines), ZERO)
        doc.posted_at, doc.posted_by_id = now(), audit.current_actor().user_id
        doc.version += 1
        if postgres:
            # The document and its lines' costs as a flush would write them (with the audit row), and
            # its search rows for the new number: with the stock and the entry, one round trip.
            queue_updates(writes, [doc, *doc.lines])      # with its search rows (the number is new)
        writes.run()
        _update_source(doc, +1)
        db.session.flush()
    return Posted(number, warnings)


@atomic()
def cancel_invoice(doc: SalesDocument, *, reason: str, on: date | None = None) -> SalesDocument:
    """Reverse a posted invoice's journal entry and bring its goods back; the invoice stays, cancelled."""
    doc = _lock(doc.id)
    if doc.doc_type != INVOICE or doc.status != POSTED:
        raise DomainError("Only a posted invoice can be cancelled." if doc.status != CANCELLED
                          else f"{doc.number} is already cancelled.")
    if not (reason or "").strip():
        raise DomainError("Give the reason for cancelling.", field="reason")
    if doc.amount_paid > 0:
        raise DomainError(f"{doc.number} has payments allocated to it; unallocate them first.")
    on = on or max(today(), doc.date)
    if on < doc.date:
        raise DomainError("A cancellation cannot be dated before the invoice.", field="date")
    check_open(doc.date, "cancel")
    check_open(on, "cancel")
    # The goods first, then the reversal: the products' cost pools are locked before the journal's
    # counter, in the order every posting takes them (no two postings wait on each other).
    issued = db.session.scalars(sa.select(StockMove).where(
        StockMove.source_type == "invoice", StockMove.source_id == doc.id, StockMove.kind == ISSUE)
        .order_by(StockMove.id)).all()
    if issued:
        specs = [MoveSpec(RETURN_IN, db.session.get(Product, m.product_id), m.quantity,
                          to_location=db.session.get(Location, m.from_location_id),
                          batch=db.session.get(Batch, m.batch_id) if m.batch_id else None,
                          unit_cost=m.unit_cost, value=-m.value_change) for m in issued]
        # The reversal below moves the value back in the ledger; the returned goods carry exactly
        # the value that left.
        inventory.apply(specs, on=on, source_type="invoice", source_id=doc.id, source_number=doc.number)
    entry = None
    if doc.entry_id:
        from webapp.ledger.models import JournalEntry
        entry = reverse_entry(db.session.get(JournalEntry, doc.entry_id), date=on,
                              memo=f"Cancellation of {doc.number}: {reason.strip()[:200]}",
                              source_type="invoice", source_id=doc.id)
    with audit.action("invoice.cancel"):
        doc.status, doc.cancel_reason, doc.cancelled_at = CANCELLED, reason.strip()[:300], now()
        doc.cancel_entry_id = entry.id if entry else None
        doc.version += 1
        _update_source(doc, -1)
        db.session.flush()
    return doc


# ---------------------------------------------------------------- quick sale

@atomic()
def add_product(doc: SalesDocument, product: Product, quantity: Decimal = Decimal(1),
                version: int | None = None) -> SalesLine:
    """The counter's "scan": one more of a product (a new line, or more on its line)."""
    for line in doc.lines:
        if line.product_id == product.id and line.batch_id is None:
            update_line(doc, line, LineValues(product, line.description, line.quantity + quantity, line.unit_price,
                                              line.discount_percent, line.discount_amount, line.tax_rate),
                        version=version)
            return line
    blank = next((l for l in doc.lines if l.is_blank), None)
    line = blank or add_line(doc, version)
    update_line(doc, line, LineValues(product, None, quantity, None, None, None, None),
                version=None if blank is None else version)
    return line


@atomic()
def checkout(doc: SalesDocument, *, customer: Party, cash: Decimal, on: date | None = None,
             version: int | None = None, account=None) -> Decimal:
    """Finish a counter sale: post the invoice, take the cash. Returns the change.

    Posting twice is refused by post_invoice (AlreadyPosted); the payment has a
    key derived from the invoice, so it is recorded once too.
    """
    from webapp.ledger.services import account_for
    from webapp.payments import services as payments
    if doc.status == DRAFT:
        _check_customer(customer)
        if customer.id != (doc.customer_id or 0) or (on and on != doc.date):
            update_header(doc, customer=customer, on=on or doc.date, reference=doc.reference,
                          notes=doc.notes, terms=doc.terms, prices_include_tax=doc.prices_include_tax,
                          place_of_supply=customer.place_of_supply, version=version)
            version = None
        recompute(doc, current_organization())
    if cash is None or cash < 0:
        raise DomainError("Enter the cash received.", field="cash")
    if doc.status == DRAFT and cash < doc.grand_total and customer.is_walk_in:
        raise DomainError(f"The total is {format_amount(doc.grand_total, doc.currency)}; a walk-in customer pays "
                          "all of it. Choose a named customer to sell on credit.", field="cash")
    post_invoice(doc, version=version)
    paid = min(cash, doc.grand_total)
    if paid > 0:
        payments.record_payment(direction="in", party=customer, amount=paid,
                                account=account or account_for("cash"), method="cash", on=doc.date,
                                reference=doc.number, allocations=[(doc, paid)], idempotency_key=f"quick:{doc.id}")
    return cash - paid
