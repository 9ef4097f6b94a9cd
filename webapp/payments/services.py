"""Recording payments, allocating them, credits, refunds, payment accounts.

Every check is made with the rows locked — the payment first, then the
documents in id order — so racing requests can never allocate more than a
payment holds or pay a document more than its total; the database's CHECK
constraints would refuse it anyway. A payment received settles sales invoices;
a payment made settles supplier bills.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from webapp.core import audit, numbering
from webapp.core.clock import now
from webapp.core.errors import DomainError
from webapp.core.money import MAX_AMOUNT, ZERO, currency, format_amount
from webapp.core.pipeline import Pipeline
from webapp.core.tx import atomic
from webapp.extensions import db, on_postgres
from webapp.ledger.models import Account
from webapp.ledger.services import (Line, account_for, accounts_from, check_open, plan_entry, post_entry,
                                     queue_accounts, queue_entry, reserve_entry_id, reverse_entry)
from webapp.orgs.queries import current_organization
from webapp.parties.models import Party
from webapp.payments.models import CANCELLED, IN, METHODS, OUT, POLICIES, POSTED, Allocation, Payment
from webapp.purchases.models import BILL, PurchaseDocument
from webapp.sales.models import INVOICE, PAID, PARTLY_PAID, UNPAID, SalesDocument

PAYMENT_ACCOUNT_ROLES = ("cash", "bank")


class AlreadyRecorded(DomainError):
    """The idempotency key was used before: the earlier payment stands."""


# ---------------------------------------------------------------- documents of either kind

def document_model(direction: str):
    """Money in settles sales invoices; money out settles supplier bills."""
    return SalesDocument if direction == IN else PurchaseDocument


def party_of(doc) -> int | None:
    return doc.customer_id if isinstance(doc, SalesDocument) else doc.supplier_id


def _is_open_kind(doc) -> bool:
    if isinstance(doc, SalesDocument):
        return doc.doc_type == INVOICE and doc.status == POSTED
    return doc.doc_type == BILL and doc.status == POSTED


def _what(direction: str) -> str:
    return "invoice" if direction == IN else "bill"


def _status(paid: Decimal, total: Decimal) -> str:
    if total <= 0:
        return PAID           # nothing to pay (a free sample, a 100 % discount)
    if paid <= 0:
        return UNPAID
    return PAID if paid >= total else PARTLY_PAID


def _lock_payment(payment_id: int) -> Payment:
    return db.session.scalars(sa.select(Payment).where(Payment.id == payment_id).with_for_update(of=Payment)
                              .execution_options(populate_existing=True)).one()


def _lock_documents(model, ids) -> dict[int, object]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    # Their lines are not needed to settle them: loaded only if something asks.
    rows = db.session.scalars(sa.select(model).where(model.id.in_(ids)).order_by(model.id)
                              .with_for_update(of=model).options(lazyload(model.lines))
                              .execution_options(populate_existing=True)).all()
    return {d.id: d for d in rows}


# ---------------------------------------------------------------- payment accounts

def is_payment_account(account: Account | None) -> bool:
    """What `payment_accounts` lists, asked of one account already loaded."""
    return (account is not None and account.active and not account.is_group
            and (account.role in PAYMENT_ACCOUNT_ROLES or account.is_payment_account))


def payment_accounts() -> list[Account]:
    return list(db.session.scalars(sa.select(Account).where(
        Account.active.is_(True), Account.is_group.is_(False),
        sa.or_(Account.role.in_(PAYMENT_ACCOUNT_ROLES), Account.is_payment_account.is_(True)))
        .order_by(Account.code)))


def _next_code(kind: str) -> str:
    first, last = (1111, 1119) if kind == "cash" else (1121, 1199)
    used = set(db.session.scalars(sa.select(Account.code)))
    for n in range(first, last + 1):
        if str(n) not in used:
            return str(n)
    raise DomainError("There is no free account code left for another account of this kind; rename or "
                      "deactivate one.", field="name")


@atomic()
def add_payment_account(*, name: str, kind: str, description: str | None = None,
                        opening_balance: Decimal | None = None, opening_date: date | None = None) -> Account:
    """A cash box or bank account, with its opening balance posted against opening balance equity."""
    from webapp.ledger.services import add_account
    if kind not in ("cash", "bank"):
        raise DomainError("Choose cash or bank.", field="kind")
    parent = account_for(kind).parent
    account = add_account(code=_next_code(kind), name=name, type="asset", parent=parent, description=description)
    account.is_payment_account = True
    db.session.flush()
    if opening_balance:
        set_opening_balance(account, opening_balance, opening_date or date.today())
    return account


@atomic()
def set_opening_balance(account: Account, amount: Decimal, on: date) -> None:
    """What was in the account on the day the business started using SME Pulse (an overdraft is negative)."""
    from webapp.ledger.services import has_entries
    org = current_organization()
    if account not in payment_accounts():
        raise DomainError("Choose a cash or bank account.", field="account_id")
    if has_entries(account):
        raise DomainError(f"{account.label} has entries already; correct its balance with a journal entry.",
                          field="opening_balance")
    if not isinstance(amount, Decimal) or amount == 0:
        raise DomainError("Enter the opening balance.", field="opening_balance")
    if amount != amount.quantize(currency(org.base_currency).minor_unit) or abs(amount) > MAX_AMOUNT:
        raise DomainError(f"Enter an amount in {org.base_currency}.", field="opening_balance")
    lines = [Line(account, debit=amount), Line("opening_balance_equity", credit=amount)] if amount > 0 else \
        [Line("opening_balance_equity", debit=-amount), Line(account, credit=-amount)]
    post_entry(date=on, memo=f"Opening balance of {account.name}", lines=lines, source_type="opening",
               source_id=account.id)


def set_default_policy(org, policy: str) -> None:
    if policy not in POLICIES:
        raise DomainError("Choose a way to allocate.", field="policy")
    with audit.action("payments.default_policy"):
        org.default_allocation_policy = policy
        db.session.flush()


# ---------------------------------------------------------------- allocation plans (pure)

@dataclass
class OpenItem:
    """An open invoice or bill, as the allocation screen needs it (no ORM object)."""
    id: int
    number: str
    date: date
    due_date: date | None
    total: Decimal
    outstanding: Decimal


@dataclass
class PlanRow:
    item: OpenItem
    amount: Decimal = ZERO
    error: str | None = None


@dataclass
class Plan:
    amount: Decimal
    rows: list[PlanRow]
    policy: str
    errors: list[str] = field(default_factory=list)

    @property
    def allocated(self) -> Decimal:
        return sum((r.amount for r in self.rows), ZERO)

    @property
    def remainder(self) -> Decimal:
        return self.amount - self.allocated

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.error for r in self.rows)


def order_for(policy: str, items: list[OpenItem]) -> list[OpenItem]:
    """FIFO: oldest first; LIFO: newest first; due: earliest due date first (id breaks ties)."""
    if policy == "lifo":
        return sorted(items, key=lambda i: (i.date, i.id), reverse=True)
    if policy == "due":
        return sorted(items, key=lambda i: (i.due_date or i.date, i.date, i.id))
    return sorted(items, key=lambda i: (i.date, i.id))


def plan(amount: Decimal, items: list[OpenItem], policy: str, typed: dict[int, Decimal] | None = None,
         code: str = "INR") -> Plan:
    """Spread `amount` over `items` by `policy`; amounts the user typed (`typed`, by item id) stand as typed
    and the policy spreads what is left over the others. Manual spreads nothing by itself."""
    typed = typed or {}
    rows = {i.id: PlanRow(i) for i in items}
    result = Plan(amount, [rows[i.id] for i in order_for(policy if policy in POLICIES else "fifo", items)], policy)
    left = amount
    for item_id, value in typed.items():
        row = rows.get(item_id)
        if row is None:
            result.errors.append("An allocation names a document that is not open for this party.")
            continue
        row.amount = value
        if value < 0:
            row.error = "An allocation cannot be negative."
        elif value > row.item.outstanding:
            row.error = f"Only {format_amount(row.item.outstanding, code)} is outstanding."
        elif value != value.quantize(currency(code).minor_unit):
            row.error = f"{code} has {currency(code).precision} decimal places."
        left -= value
    if policy != "manual":
        for row in result.rows:
            if left <= 0:
                break
            if row.item.id in typed:
                continue
            row.amount = min(left, row.item.outstanding)
            left -= row.amount
    if result.allocated > amount:
        result.errors.append(f"The allocations add up to {format_amount(result.allocated, code)}, more than the "
                             f"payment of {format_amount(amount, code)}.")
    return result


# ---------------------------------------------------------------- recording

def by_idempotency_key(key: str) -> Payment | None:
    return db.session.scalars(sa.select(Payment).where(Payment.idempotency_key == key)).first()


def _claim_key(key: str) -> None:
    """Two requests with one key: the second waits here for the first to finish, then finds its payment."""
    if on_postgres():
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": "payment:" + key})
    earlier = by_idempotency_key(key)
    if earlier is not None:
        raise AlreadyRecorded(f"This payment was already recorded as {earlier.number}.", payment=earlier)


def _check_amount(amount, code: str, field_name: str = "amount", what: str = "The amount") -> None:
    if not isinstance(amount, Decimal) or amount <= 0:
        raise DomainError(f"{what} must be more than zero.", field=field_name)
    if amount != amount.quantize(currency(code).minor_unit) or amount > MAX_AMOUNT:
        raise DomainError(f"Enter an amount in {code} with at most {currency(code).precision} decimal places.",
                          field=field_name)


def record_payment(*, direction: str, party: Party, amount: Decimal, account: Account, method: str, on: date,
                   reference: str | None = None, memo: str | None = None, idempotency_key: str | None = None,
                   allocations=()) -> Payment:
    """Record money received from a customer (direction "in") or paid to a supplier ("out"), post it, and
    allocate it: `allocations` is a list of (invoice or bill, amount). One transaction; a refusal anywhere
    leaves nothing."""
    # On PostgreSQL the key is claimed with the recording's first round trip (`_record_pg`).
    postgres = on_postgres()
    if idempotency_key and not postgres:
        _claim_key(idempotency_key)
    try:
        # A refusal undoes what this wrote: the whole transaction when nothing was written before
        # (a request), else back to a savepoint (core.tx), so the transaction can look the earlier
        # payment up below. (No savepoint of its own when nothing was written: two round trips.)
        with atomic():
            return _record(direction=direction, party=party, amount=amount, account=account, method=method, on=on,
                           reference=reference, memo=memo, idempotency_key=idempotency_key, allocations=allocations,
                           claim=bool(idempotency_key) and postgres)
    except IntegrityError as exc:
        # The unique index on the key is the last guard (a race the advisory lock did not cover).
        if not idempotency_key:
            raise
        try:
            earlier = by_idempotency_key(idempotency_key)
        except sa.exc.DBAPIError:
            # Inside another service's transaction, which the failed statement has ended: its refusal.
            raise exc from None
        if earlier is None:
            raise
        raise AlreadyRecorded(f"This payment was already recorded as {earlier.number}.", payment=earlier) from None


def _record(*, direction, party, amount, account, method, on, reference, memo, idempotency_key, allocations,
            refund_of: Payment | None = None, claim: bool = False) -> Payment:
    """`claim`: take the idempotency key here (PostgreSQL; else the caller has)."""
    org = current_organization()
    code = org.base_currency
    if direction not in (IN, OUT):
        raise DomainError("Choose money in or money out.")
    if party is None or party.org_id != org.id or not party.active:
        raise DomainError("Choose an active customer or supplier.", field="party_id")
    if refund_of is None and (direction == IN and not party.is_customer or direction == OUT and not party.is_supplier):
        raise DomainError(f"{party.name} is not a {'customer' if direction == IN else 'supplier'}.", field="party_id")
    _check_amount(amount, code)
    if account is None or account.org_id != org.id or not is_payment_account(account):
        raise DomainError("Choose a cash or bank account.", field="account_id")
    if method not in METHODS:
        raise DomainError("Choose how it was paid.", field="method")
    check_open(on)
    if on_postgres():
        return _record_pg(org=org, direction=direction, party=party, amount=amount, account=account, method=method,
                          on=on, reference=reference, memo=memo, idempotency_key=idempotency_key,
                          parts=list(allocations), refund_of=refund_of, claim=claim)
    kind = "payment_in" if direction == IN else "payment_out"
    number = numbering.next_number(kind, on, org.fiscal_year_start_month)
    payment = Payment(number=number, direction=direction, date=on, party_id=party.id, account_id=account.id,
                      method=method, reference=(reference or "").strip()[:100] or None,
                      memo=(memo or "").strip()[:300] or None, currency=code, amount=amount,
                      idempotency_key=idempotency_key, refund_of_id=refund_of.id if refund_of else None,
                      created_by_id=audit.current_actor().user_id)
    db.session.add(payment)
    db.session.flush()
    control, label, lines = _entry_lines(direction, party, amount, account, payment.reference, refund_of)
    entry = post_entry(date=on, memo=f"{number} {label}", lines=lines, source_type="payment", source_id=payment.id,
                       source_number=number)
    # Written with the allocations (one UPDATE of the payment), or when the savepoint ends.
    payment.entry_id = entry.id
    if allocations:
        # The payment was inserted by this transaction: no one else can see it, let alone lock it.
        _allocate(payment, list(allocations), None)
    return payment


def _entry_lines(direction, party, amount, account, reference, refund_of):
    """(control role, label, lines) of a payment's entry. The party's control account: receivables
    for a customer (a refund to a customer too), payables for a supplier (and a supplier's refund
    to us)."""
    control = "receivables" if (direction == IN) == (refund_of is None) else "payables"
    if refund_of is not None:
        label = f"Refund {'to' if direction == OUT else 'from'} {party.name} of {refund_of.number}'s credit"
    else:
        label = f"{'Receipt from' if direction == IN else 'Payment to'} {party.name}"
    if direction == IN:
        lines = [Line(account, debit=amount, memo=reference), Line(control, credit=amount, party_id=party.id)]
    else:
        lines = [Line(control, debit=amount, party_id=party.id), Line(account, credit=amount, memo=reference)]
    return control, label, lines


# ---------------------------------------------------------------- recording on PostgreSQL

_CLAIM_PG = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))")
_BY_KEY_PG = sa.text("SELECT id, number FROM payment WHERE org_id = :org_id AND idempotency_key = :key")
#: The documents to settle, locked in id order, with what settling them reads and writes.
_LOCK_PG = {model: sa.text(
    f"SELECT id, doc_type, status, number, {party}, currency, grand_total, amount_paid, payment_status, date, "
    f"version FROM {model.__tablename__} WHERE org_id = :org_id AND id = ANY(CAST(:ids AS bigint[])) "
    "ORDER BY id FOR UPDATE")
    for model, party in ((SalesDocument, "customer_id"), (PurchaseDocument, "supplier_id"))}
_LOCKED_COLUMNS = ("id", "doc_type", "status", "number", "party", "currency", "grand_total", "amount_paid",
                   "payment_status", "date", "version")
#: Ids for the payment and its allocations, taken with the reads (the writes then name them).
_IDS_PG = sa.text("SELECT nextval('payment_id_seq'), "
                  "ARRAY(SELECT nextval('allocation_id_seq') FROM generate_series(1, :n))")
_PAYMENT_COLUMNS = ("id", "org_id", "number", "direction", "status", "date", "party_id", "account_id", "method",
                    "reference", "memo", "currency", "amount", "allocated_amount", "refunded_amount",
                    "idempotency_key", "entry_id", "refund_of_id", "created_by_id", "created_at")
_INSERT_PAYMENT_PG = sa.text(f"INSERT INTO payment ({', '.join(_PAYMENT_COLUMNS)}) "
                             f"VALUES ({', '.join(':' + c for c in _PAYMENT_COLUMNS)})")
#: All the allocations in one statement (one call of their statement trigger, migration 0013).
_INSERT_ALLOCATIONS_PG = {column: sa.text(
    f"INSERT INTO allocation (id, org_id, payment_id, {column}, amount, date, created_at, created_by_id) "
    f"SELECT a.id, :org_id, :payment_id, a.doc_id, a.amount, a.date, :created_at, :created_by_id "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:doc_ids AS bigint[]), CAST(:amounts AS numeric[]), "
    "CAST(:dates AS date[])) AS a(id, doc_id, amount, date) ORDER BY a.id")
    for column in ("invoice_id", "bill_id")}
#: The documents' new amounts paid, in one statement (with the version check a flush makes).
_SETTLE_PG = {model: sa.text(
    f"UPDATE {model.__tablename__} AS d SET amount_paid = v.amount_paid, payment_status = v.payment_status "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:paid AS numeric[]), CAST(:statuses AS text[]), "
    "CAST(:versions AS bigint[])) AS v(id, amount_paid, payment_status, version) "
    "WHERE d.org_id = :org_id AND d.id = v.id AND d.version = v.version")
    for model in (SalesDocument, PurchaseDocument)}
#: Audit rows, all in one statement (from a JSON list of them).
_AUDIT_PG = sa.text(
    "INSERT INTO audit_log (org_id, at, user_id, action, record_type, record_id, old, new, ip, user_agent) "
    "SELECT r.org_id, r.at, r.user_id, r.action, r.record_type, r.record_id, r.old, r.new, r.ip, r.user_agent "
    "FROM json_to_recordset(CAST(:rows AS json)) AS r(org_id bigint, at timestamptz, user_id bigint, "
    "action varchar, record_type varchar, record_id bigint, old json, new json, ip varchar, user_agent varchar)")


def _audit_rows(rows: list[dict]) -> dict:
    return {"rows": json.dumps([{**r, "at": r["at"].isoformat()} for r in rows])}


def _attach(obj, **related) -> None:
    """A row written by a pipeline, as an object of the session (every column known: no statement)."""
    make_transient_to_detached(obj)
    db.session.add(obj)
    for key, value in related.items():
        set_committed_value(obj, key, value)


def _session_document(model, doc) -> tuple[int, object]:
    """(id, the session's object) of a document the caller passed (the same object, normally; its id
    read without reloading it if it is expired)."""
    state = sa.inspect(doc)
    doc_id = state.identity[0] if state.identity else doc.id
    return doc_id, doc if state.session is db.session() else db.session.get(model, doc_id)


def _record_pg(*, org, direction, party, amount, account, method, on, reference, memo, idempotency_key, parts,
               refund_of, claim) -> Payment:
    """`_record` on PostgreSQL in two round trips whatever the number of documents (then the
    commit): one pipeline of reads and locks (the idempotency key, the documents locked in id order
    before the payment's and the entry's numbers are taken, the ids, the control account); the
    checks and the entry worked out in Python; one pipeline of writes (the entry with its lines and
    day balances, the payment, its allocations, the documents' amounts paid, the audit trail: one
    statement each). A refusal raises before anything is written; the numbers taken go back with
    the transaction (`atomic`). The objects returned (the payment, its allocations, the documents)
    are as a flush would leave them."""
    code = org.base_currency
    model = document_model(direction)
    what = _what(direction)
    for doc, _ in parts:
        if not isinstance(doc, model):
            raise DomainError(f"A payment {'received' if direction == IN else 'made'} settles {what}s only.",
                              field="allocations")
    if refund_of is not None and parts:
        raise DomainError("A refund settles nothing.", field="allocations")
    docs, ids_of_parts = {}, []
    for doc, _ in parts:
        doc_id, docs[doc_id] = _session_document(model, doc)
        ids_of_parts.append(doc_id)
    reference = (reference or "").strip()[:100] or None
    control, label, lines = _entry_lines(direction, party, amount, account, reference, refund_of)

    reads = Pipeline()
    earlier = None
    if claim:
        # A second request with the key waits here for the first to finish, then finds its payment.
        reads.add(_CLAIM_PG, {"k": "payment:" + idempotency_key})
        earlier = reads.add(_BY_KEY_PG, {"org_id": org.id, "key": idempotency_key})
    locked = reads.add(_LOCK_PG[model], {"org_id": org.id, "ids": sorted(docs)}) if docs else None
    number = numbering.take(reads, "payment_in" if direction == IN else "payment_out", on,
                            org.fiscal_year_start_month)
    journal = numbering.take(reads, "journal", on, org.fiscal_year_start_month)
    entry_id = reserve_entry_id(reads)
    ids = reads.add(_IDS_PG, {"n": len(parts)})
    accounts = queue_accounts(reads, [control])
    reads.run()
    if earlier is not None and earlier.rows:
        payment_id, earlier_number = earlier.one()
        raise AlreadyRecorded(f"This payment was already recorded as {earlier_number}.",
                              payment=db.session.get(Payment, payment_id))
    number = str(number)

    # The documents as they are now, locked: what the checks read (the session's objects too, as
    # a locking reload would leave them).
    fresh = {}
    party_key = "customer_id" if model is SalesDocument else "supplier_id"
    for row in (locked.rows if locked is not None else ()):
        values = dict(zip(_LOCKED_COLUMNS, row))
        fresh[values["id"]] = values
        doc = docs[values["id"]]
        for key, value in values.items():
            set_committed_value(doc, party_key if key == "party" else key, value)
    paid, made, total = {}, [], ZERO
    for doc_id, (_, value) in zip(ids_of_parts, parts):
        row = fresh.get(doc_id)
        if row is None:
            raise DomainError(f"That {what} was not found.", field="allocations")
        total = _check_allocation(
            value, what=what, code=code, number=row["number"], payment_number=number,
            is_open=row["doc_type"] == (INVOICE if model is SalesDocument else BILL) and row["status"] == POSTED,
            same_party=row["party"] == party.id, currency=row["currency"],
            due=row["grand_total"] - paid.get(doc_id, row["amount_paid"]), before=total, room=amount)
        paid[doc_id] = paid.get(doc_id, row["amount_paid"]) + value
        made.append((doc_id, value, max(on, row["date"])))
    payment_id, allocation_ids = ids.one()
    plan = plan_entry(date=on, memo=f"{number} {label}", lines=lines, source_type="payment", source_id=payment_id,
                      source_number=number, accounts=accounts_from(accounts))
    plan.entry_id = entry_id.scalar()

    user_id = audit.current_actor().user_id
    created = now()
    payment = Payment(id=payment_id, org_id=org.id, number=number, direction=direction, status=POSTED, date=on,
                      party_id=party.id, account_id=account.id, method=method, reference=reference,
                      memo=(memo or "").strip()[:300] or None, currency=code, amount=amount, allocated_amount=total,
                      refunded_amount=ZERO, idempotency_key=idempotency_key, entry_id=plan.entry_id,
                      refund_of_id=refund_of.id if refund_of else None, created_by_id=user_id, created_at=created)
    doc_key = "invoice_id" if model is SalesDocument else "bill_id"
    allocations = [Allocation(id=allocation_id, org_id=org.id, payment_id=payment_id, amount=value, date=day,
                              created_at=created, created_by_id=user_id, unallocated_at=None, unallocated_on=None,
                              unallocated_by_id=None, **{"invoice_id": None, "bill_id": None, doc_key: doc_id})
                   for allocation_id, (doc_id, value, day) in zip(allocation_ids, made)]
    audits = [audit.created_row(payment), *(audit.created_row(a) for a in allocations)]
    # The documents' new amount paid and status, as a flush of them would write them and their
    # audit rows; their objects are set once written (so the session has nothing left to flush).
    settled = []
    for doc_id in sorted(paid):
        doc = docs[doc_id]
        status = _status(paid[doc_id], doc.grand_total)
        old, new = {"amount_paid": doc.amount_paid}, {"amount_paid": paid[doc_id]}
        if status != doc.payment_status:
            old["payment_status"], new["payment_status"] = doc.payment_status, status
        audits.append(audit.changed_row(doc, old, new, record_id=doc_id, org_id=org.id))
        settled.append((doc, paid[doc_id], status))

    writes = Pipeline()
    queue_entry(writes, plan, journal)       # first: the payment points at it
    writes.add(_INSERT_PAYMENT_PG, {c: getattr(payment, c) for c in _PAYMENT_COLUMNS}, returns=False)
    if allocations:
        writes.add(_INSERT_ALLOCATIONS_PG[doc_key], {
            "org_id": org.id, "payment_id": payment_id, "created_at": created, "created_by_id": user_id,
            "ids": [a.id for a in allocations], "doc_ids": [getattr(a, doc_key) for a in allocations],
            "amounts": [a.amount for a in allocations], "dates": [a.date for a in allocations]}, returns=False)
    updated = writes.add(_SETTLE_PG[model], {
        "org_id": org.id, "ids": [d.id for d, _, _ in settled], "paid": [v for _, v, _ in settled],
        "statuses": [st for _, _, st in settled], "versions": [d.version for d, _, _ in settled]},
        returns=False) if settled else None
    writes.add(_AUDIT_PG, _audit_rows(audits), returns=False)
    writes.run()
    if updated is not None and updated.rowcount != len(settled):
        raise StaleDataError(f"{what.capitalize()}s were changed meanwhile")
    for doc, value, status in settled:
        set_committed_value(doc, "amount_paid", value)
        set_committed_value(doc, "payment_status", status)

    _attach(payment, party=party, account=account, allocations=allocations)
    for allocation in allocations:
        doc = docs[getattr(allocation, doc_key)]
        _attach(allocation, payment=payment, invoice=doc if doc_key == "invoice_id" else None,
                bill=doc if doc_key == "bill_id" else None)
    return payment


# ---------------------------------------------------------------- allocating

def allocate(payment: Payment, doc, amount: Decimal, on: date | None = None) -> Allocation:
    """Settle part of one invoice (or bill) with part of `payment`."""
    return allocate_many(payment, [(doc, amount)], on=on)[0]


@atomic()
def allocate_many(payment: Payment, parts: list, on: date | None = None) -> list[Allocation]:
    """Settle several documents at once with one payment, under one lock of each row."""
    if not parts:
        raise DomainError("Choose at least one document and an amount.", field="allocations")
    return _allocate(_lock_payment(payment.id), parts, on)


def _check_allocation(value, *, what, code, number, payment_number, is_open, same_party, currency, due, before,
                      room) -> Decimal:
    """One allocation of a payment (numbered `payment_number`, in `code`) to a document, checked against
    the document as locked: an amount, to a posted document of the payment's party and currency,
    within what it still owes (`due`), and with the payment's allocations before it (`before`) within
    what is left of the payment (`room`). Returns the allocations' new total. Shared by the ORM path
    (`_allocate`) and `_record_pg`."""
    _check_amount(value, code, "allocations", "An allocation")
    if not is_open:
        raise DomainError(f"{number or 'This document'} is not a posted {what}.", field="allocations")
    if not same_party:
        raise DomainError(f"{number} is another party's {what}.", field="allocations")
    if currency != code:
        raise DomainError(f"{number} and {payment_number} are in different currencies.", field="allocations")
    if value > due:
        raise DomainError(f"{number} has only {format_amount(due, code)} outstanding.", field="allocations")
    total = before + value
    if total > room:
        raise DomainError(f"The allocations come to more than the {format_amount(room, code)} "
                          "left of the payment.", field="allocations")
    return total


def _allocate(payment: Payment, parts: list, on: date | None) -> list[Allocation]:
    """`allocate_many` with the payment locked (or made by this transaction)."""
    if payment.status != POSTED:
        raise DomainError(f"{payment.number} is cancelled.")
    if payment.refund_of_id is not None:
        raise DomainError(f"{payment.number} is a refund; it settles nothing.")
    model = document_model(payment.direction)
    what = _what(payment.direction)
    code = payment.currency
    for doc, _ in parts:
        if not isinstance(doc, model):
            raise DomainError(f"A payment {'received' if payment.direction == IN else 'made'} settles "
                              f"{what}s only.", field="allocations")
    with db.session.no_autoflush:     # what is pending (the new payment's entry) is written below
        docs = _lock_documents(model, [d.id for d, _ in parts])
    check_open(on or payment.date, "allocate")
    total = ZERO
    made = []
    for doc, amount in parts:
        doc = docs.get(doc.id)
        if doc is None:
            raise DomainError(f"That {what} was not found.", field="allocations")
        total = _check_allocation(amount, what=what, code=code, number=doc.number, payment_number=payment.number,
                                  is_open=_is_open_kind(doc), same_party=party_of(doc) == payment.party_id,
                                  currency=doc.currency, due=doc.amount_due, before=total, room=payment.unallocated)
        day = on or max(payment.date, doc.date)
        kw = {"invoice_id": doc.id} if payment.direction == IN else {"bill_id": doc.id}
        allocation = Allocation(payment_id=payment.id, amount=amount, date=day,
                                created_by_id=audit.current_actor().user_id, **kw)
        db.session.add(allocation)
        doc.amount_paid += amount
        doc.payment_status = _status(doc.amount_paid, doc.grand_total)
        made.append(allocation)
    payment.allocated_amount += total
    db.session.flush()
    return made


@atomic()
def unallocate(allocation: Allocation, on: date | None = None) -> None:
    """Undo an allocation (audited) as of a day (today unless given; never before it was made); the document's
    status follows and the amount is a credit again."""
    payment = _lock_payment(allocation.payment_id)
    allocation = db.session.scalars(sa.select(Allocation).where(Allocation.id == allocation.id)
                                    .with_for_update(of=Allocation).execution_options(populate_existing=True)).one()
    if not allocation.active:
        raise DomainError("This allocation was already undone.")
    model = SalesDocument if allocation.invoice_id else PurchaseDocument
    doc_id = allocation.invoice_id or allocation.bill_id
    doc = _lock_documents(model, [doc_id])[doc_id]
    from webapp.core.clock import today
    day = max(on or today(), allocation.date)
    check_open(day, "unallocate")
    with audit.action("allocation.unallocate"):
        allocation.unallocated_at, allocation.unallocated_on = now(), day
        allocation.unallocated_by_id = audit.current_actor().user_id
        payment.allocated_amount -= allocation.amount
        doc.amount_paid -= allocation.amount
        doc.payment_status = _status(doc.amount_paid, doc.grand_total)
        db.session.flush()


# ---------------------------------------------------------------- refunds and cancelling

def refund(payment: Payment, amount: Decimal, *, account: Account, method: str, on: date,
           reference: str | None = None, idempotency_key: str | None = None) -> Payment:
    """Pay back part of a payment's unallocated credit (to a customer; or a supplier pays us back)."""
    if idempotency_key:
        _claim_key(idempotency_key)
    with atomic():
        original = _lock_payment(payment.id)
        code = original.currency
        if original.status != POSTED or original.refund_of_id is not None:
            raise DomainError(f"{original.number} has no credit to refund.")
        _check_amount(amount, code)
        if amount > original.unallocated:
            raise DomainError(f"{original.number} has only {format_amount(original.unallocated, code)} of credit "
                              "left.", field="amount")
        if on < original.date:
            raise DomainError("A refund cannot be dated before the payment.", field="date")
        back = _record(direction=OUT if original.direction == IN else IN, party=original.party, amount=amount,
                       account=account, method=method, on=on, reference=reference,
                       memo=f"Refund of {original.number}", idempotency_key=idempotency_key, allocations=(),
                       refund_of=original)
        with audit.action("payment.refund"):
            original.refunded_amount += amount
            db.session.flush()
        return back


@atomic()
def cancel_payment(payment: Payment, *, reason: str, on: date) -> Payment:
    """Reverse a payment recorded by mistake. Its allocations must be undone first; a refund gives back
    its credit to the payment it refunded."""
    payment = _lock_payment(payment.id)
    if payment.status != POSTED:
        raise DomainError(f"{payment.number} is cancelled already.")
    if not (reason or "").strip():
        raise DomainError("Give the reason for cancelling.", field="reason")
    if payment.allocated_amount > 0:
        raise DomainError(f"{payment.number} settles documents; undo its allocations first.")
    if payment.refunded_amount > 0:
        raise DomainError(f"Part of {payment.number} was refunded; cancel the refund first.")
    if on < payment.date:
        raise DomainError("A cancellation cannot be dated before the payment.", field="date")
    check_open(payment.date, "cancel")
    from webapp.ledger.models import JournalEntry
    reverse_entry(db.session.get(JournalEntry, payment.entry_id), date=on,
                  memo=f"Cancellation of {payment.number}: {reason.strip()[:200]}")
    with audit.action("payment.cancel"):
        if payment.refund_of_id is not None:
            original = _lock_payment(payment.refund_of_id)
            original.refunded_amount -= payment.amount
        payment.status = CANCELLED
        payment.memo = ((payment.memo or "") + f" — cancelled: {reason.strip()}")[:300]
        db.session.flush()
    return payment
