"""Payments received and made, the allocation screen, credits, refunds, cash and bank accounts."""
from __future__ import annotations

import uuid
from decimal import Decimal

from flask import abort, flash, g, redirect, request, url_for

from webapp.core.clock import today
from webapp.core.errors import DomainError
from webapp.core.forms import form_error, status_for
from webapp.core.htmx import render, render_fragment
from webapp.core.money import MoneyError, parse_amount
from webapp.core.permissions import allowed, requires
from webapp.core.tenancy import get_or_404
from webapp.ledger.models import Account
from webapp.parties.models import Party
from webapp.payments import bp, queries, services
from webapp.payments.forms import (AccountForm, AllocateForm, CancelForm, ConfirmForm, OpeningForm, PaymentForm,
                                   PolicyForm, RefundForm)
from webapp.payments.models import IN, OUT, POSTED, Allocation, Payment

KINDS = {IN: {"title": "Payments received", "new": "Receive a payment", "party": "customer", "what": "invoice",
              "list": "payments.received", "record": "payments.receive", "view": "payments.view"},
         OUT: {"title": "Payments made", "new": "Pay a supplier", "party": "supplier", "what": "bill",
               "list": "payments.made", "record": "payments.pay", "view": "payments.view_payables"}}
#: The open documents shown at first; the rest on asking (a customer may have a thousand).
SHOWN = 100


def _need(permission: str) -> None:
    if not allowed(g.role, permission):
        abort(403)


def _party(direction: str, party_id) -> Party | None:
    if not party_id:
        return None
    party = get_or_404(Party, party_id)
    if not (party.is_customer if direction == IN else party.is_supplier):
        abort(404)
    return party


def _accounts_choices(form) -> None:
    accounts = services.payment_accounts()
    form.account_id.choices = {str(a.id): a.label for a in accounts}


def _new_key() -> str:
    return uuid.uuid4().hex


# ---------------------------------------------------------------- lists

def _list(direction: str):
    a = request.args
    f = queries.PaymentFilter(direction=direction, q=a.get("q", "")[:60], credit_only=a.get("credit") == "1",
                              page=a.get("page", 1, type=int) or 1)
    rows, more = queries.payments(f)
    return render("payments/index.html", "results", payments=rows, more=more, f=f, direction=direction,
                  k=KINDS[direction])


@bp.route("/received")
@requires("payments.view")
def received():
    """Payments received from customers."""
    return _list(IN)


@bp.route("/made")
@requires("payments.view_payables")
def made():
    """Payments made to suppliers."""
    return _list(OUT)


# ---------------------------------------------------------------- the allocation screen

def _typed_from_request(items) -> dict[int, Decimal]:
    """The amounts the person typed (the hidden `typed` list of ids, plus the field just changed)."""
    known = {i.id for i in items}
    ids = {int(x) for x in request.form.get("typed", "").split(",") if x.isdigit()}
    trigger = request.headers.get("HX-Trigger") or ""  # the id of the field that changed
    if trigger in ("policy", "party-field"):
        ids = set()
    elif trigger.startswith("alloc-") and trigger[6:].isdigit():
        ids.add(int(trigger[6:]))
    if request.form.get("policy") == "manual":
        ids |= {i.id for i in items if (request.form.get(f"alloc-{i.id}") or "").strip()}
    typed = {}
    for item_id in ids & known:
        raw = (request.form.get(f"alloc-{item_id}") or "").strip()
        try:
            typed[item_id] = parse_amount(raw, places=3, allow_negative=True) if raw else Decimal(0)
        except MoneyError:
            typed[item_id] = Decimal(-1)  # shown as refused beside the field
    return typed


def _amount_from_request(field: str = "amount") -> tuple[Decimal, str | None]:
    raw = (request.form.get(field) or "").strip()
    if not raw:
        return Decimal(0), None
    try:
        return parse_amount(raw, places=3, allow_zero=True), None
    except MoneyError as exc:
        return Decimal(0), str(exc)


def _open_items(direction: str, party: Party | None) -> list:
    return queries.open_items(party, direction) if party else []


def _plan_context(direction: str, party: Party | None, items: list, amount: Decimal, policy: str, typed: dict,
                  *, show_all: bool = False, amount_error: str | None = None, payment: Payment | None = None) -> dict:
    """The allocation screen for `items`, the party's open documents (read once per request)."""
    plan = services.plan(amount, items, policy, typed, code=g.org.base_currency)
    rows = plan.rows
    if not show_all and len(rows) > SHOWN:
        # Always show what gets an amount, then the first of the rest.
        rows = [r for r in rows if r.amount or r.error] + [r for r in rows if not (r.amount or r.error)]
        rows = rows[:max(SHOWN, sum(1 for r in rows if r.amount or r.error))]
    credits = queries.credits(party, direction) if party and payment is None else []
    preview_url = url_for("payments.allocate", payment_id=payment.id) if payment else \
        url_for("payments.preview", direction=direction)
    return dict(plan=plan, rows=rows, hidden=len(plan.rows) - len(rows), typed=",".join(map(str, sorted(typed))),
                preview_url=preview_url,
                party=party, direction=direction, k=KINDS[direction], amount_error=amount_error, credits=credits,
                payment=payment, day=today())


def _allocations_from_request(direction: str, items, form) -> list[tuple[object, Decimal]]:
    """(document, amount) for each open item the form gives an amount; a malformed amount becomes a
    form error naming the document. Only the documents that get an amount are loaded (a customer may
    have a thousand open)."""
    amounts = []
    for item in items:
        raw = (request.form.get(f"alloc-{item.id}") or "").strip()
        if not raw:
            continue
        try:
            value = parse_amount(raw, places=3, allow_negative=True)
        except MoneyError as exc:
            form.form_errors.append(f"{item.number}: {exc}")
            continue
        if value:
            amounts.append((item.id, value))
    docs = queries.documents_by_id(direction, [i for i, _ in amounts])
    return [(docs[i], value) for i, value in amounts]


@bp.route("/new/<any(in, out):direction>", methods=["GET", "POST"])
@requires("payments.view")
def new(direction: str):
    """Receive a payment from a customer, or pay a supplier, and allocate it."""
    k = KINDS[direction]
    _need(k["record"])
    form = PaymentForm()
    _accounts_choices(form)
    if request.method == "GET":
        party, typed = _start_payment_form(direction, form)
        ctx = _plan_context(direction, party, _open_items(direction, party), form.amount.data or Decimal(0),
                            form.policy.data, typed)
        return render("payments/new.html", form=form, **ctx)
    party = _party(direction, request.form.get("party_id", type=int))
    amount, amount_error = _amount_from_request()
    items = _open_items(direction, party)
    typed = _typed_from_request(items)
    if form.validate_on_submit():
        parts = _allocations_from_request(direction, items, form)
        account = get_or_404(Account, form.account_id.data) if form.account_id.data else None
        if not form.form_errors:
            try:
                payment = services.record_payment(
                    direction=direction, party=party, amount=form.amount.data, account=account,
                    method=form.method.data, on=form.date.data, reference=form.reference.data, memo=form.memo.data,
                    idempotency_key=(form.key.data or "")[:64] or None, allocations=parts)
            except services.AlreadyRecorded as exc:
                flash(exc.message, "info")
                return redirect(url_for("payments.payment", payment_id=exc.details["payment"].id), 303)
            except DomainError as exc:
                form_error(form, exc)
            else:
                flash(_recorded_message(payment), "success")
                return redirect(url_for("payments.payment", payment_id=payment.id), 303)
    ctx = _plan_context(direction, party, items, amount, form.policy.data or "fifo", typed, amount_error=amount_error)
    return render("payments/new.html", form=form, status=status_for(form), **ctx)


def _start_payment_form(direction: str, form: PaymentForm) -> tuple[Party | None, dict]:
    """The form as a new payment starts: today, the organization's policy, the bank account, a one-time
    key, and the party (and the one document to settle) the link names. Returns the party and the
    amounts typed for its documents."""
    form.date.data = today()
    form.policy.data = g.org.default_allocation_policy
    form.method.data = "bank_transfer"
    default = next((a for a in services.payment_accounts() if a.role == "bank"), None)
    form.account_id.data = str(default.id) if default else None
    form.key.data = _new_key()
    party = _party(direction, request.args.get("party_id", type=int))
    form.party_id.data = party.id if party else ""
    doc_id = request.args.get("doc_id", type=int)
    if not (party and doc_id):
        return party, {}
    doc = queries.documents_by_id(direction, [doc_id]).get(doc_id)
    if doc is None or services.party_of(doc) != party.id:
        abort(404)
    form.amount.data = doc.amount_due
    form.policy.data = "manual"
    return party, {doc.id: doc.amount_due}


def _recorded_message(payment: Payment) -> str:
    from webapp.core.money import format_amount
    text = f"Recorded as {payment.number}."
    if payment.unallocated:
        text += f" {format_amount(payment.unallocated, payment.currency)} stays on account as a credit."
    return text


@bp.route("/new/<any(in, out):direction>/preview", methods=["POST"])
@requires("payments.view")
def preview(direction: str):
    """The allocation preview, live: the policy's spread, the typed amounts, the remainder."""
    _need(KINDS[direction]["record"])
    party = _party(direction, request.form.get("party_id", type=int))
    amount, amount_error = _amount_from_request()
    items = _open_items(direction, party)
    ctx = _plan_context(direction, party, items, amount, request.form.get("policy") or "fifo", _typed_from_request(items),
                        show_all=request.form.get("show_all") == "1", amount_error=amount_error)
    return render_fragment("payments/new.html", "allocation", **ctx)


# ---------------------------------------------------------------- one payment

def _payment(payment_id: int) -> Payment:
    payment = get_or_404(Payment, payment_id)
    _need(KINDS[payment.direction]["view"])
    return payment


def _detail(payment: Payment, **extra):
    refund_form = extra.pop("refund_form", None) or RefundForm(date=today(), key=_new_key(),
                                                               amount=payment.unallocated or None)
    _accounts_choices(refund_form)
    ctx = dict(payment=payment, k=KINDS[payment.direction], allocations=queries.allocations_of(payment),
               refunds=queries.refunds_of(payment), refund_form=refund_form,
               cancel_form=extra.pop("cancel_form", None) or CancelForm(date=today()), confirm_form=ConfirmForm(),
               original=get_or_404(Payment, payment.refund_of_id) if payment.refund_of_id else None)
    ctx.update(extra)
    return ctx


@bp.route("/<int:payment_id>")
@requires("payments.view")
def payment(payment_id: int):
    """A payment: what it settles, its credit, refunds."""
    p = _payment(payment_id)
    return render("payments/detail.html", **_detail(p))


@bp.route("/<int:payment_id>/allocate", methods=["GET", "POST"])
@requires("payments.view")
def allocate(payment_id: int):
    """Allocate what is left of a payment (a credit) to the party's open documents."""
    p = _payment(payment_id)
    _need(KINDS[p.direction]["record"])
    if p.status != POSTED or p.refund_of_id is not None or p.unallocated <= 0:
        flash(f"{p.number} has nothing left to allocate.", "info")
        return redirect(url_for("payments.payment", payment_id=p.id), 303)
    form = AllocateForm()
    items = queries.open_items(p.party, p.direction)
    if request.method == "GET":
        form.policy.data = g.org.default_allocation_policy
        ctx = _plan_context(p.direction, p.party, items, p.unallocated, form.policy.data, {}, payment=p)
        return render("payments/allocate.html", form=form, **ctx)
    typed = _typed_from_request(items)
    if request.headers.get("HX-Request") and request.form.get("preview") == "1":
        ctx = _plan_context(p.direction, p.party, items, p.unallocated, form.policy.data or "fifo", typed, payment=p,
                            show_all=request.form.get("show_all") == "1")
        return render_fragment("payments/new.html", "allocation", **ctx)
    if form.validate_on_submit():
        parts = _allocations_from_request(p.direction, items, form)
        if not form.form_errors:
            try:
                services.allocate_many(p, parts, on=today() if today() > p.date else None)
            except DomainError as exc:
                form_error(form, exc)
            else:
                flash(f"Allocated {len(parts)} {KINDS[p.direction]['what']}{'s' if len(parts) != 1 else ''}.",
                      "success")
                return redirect(url_for("payments.payment", payment_id=p.id), 303)
    ctx = _plan_context(p.direction, p.party, items, p.unallocated, form.policy.data or "fifo", typed, payment=p)
    return render("payments/allocate.html", form=form, status=status_for(form), **ctx)


@bp.route("/allocations/<int:allocation_id>/undo", methods=["POST"])
@requires("payments.view")
def unallocate(allocation_id: int):
    """Undo an allocation: the document is open again, the amount a credit again."""
    allocation = get_or_404(Allocation, allocation_id)
    p = _payment(allocation.payment_id)
    _need(KINDS[p.direction]["record"])
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.unallocate(allocation)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash("Allocation undone.", "success")
    return redirect(url_for("payments.payment", payment_id=p.id), 303)


@bp.route("/<int:payment_id>/refund", methods=["POST"])
@requires("payments.view")
def refund(payment_id: int):
    """Pay back (part of) a payment's credit."""
    p = _payment(payment_id)
    _need(KINDS[p.direction]["record"])
    form = RefundForm()
    _accounts_choices(form)
    if form.validate_on_submit():
        account = get_or_404(Account, form.account_id.data) if form.account_id.data else None
        try:
            back = services.refund(p, form.amount.data, account=account, method=form.method.data, on=form.date.data,
                                   reference=form.reference.data, idempotency_key=(form.key.data or "")[:64] or None)
        except services.AlreadyRecorded as exc:
            flash(exc.message, "info")
            return redirect(url_for("payments.payment", payment_id=exc.details["payment"].id), 303)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"Refunded as {back.number}.", "success")
            return redirect(url_for("payments.payment", payment_id=p.id), 303)
    return render("payments/detail.html", status=status_for(form), **_detail(p, refund_form=form, open="refund"))


@bp.route("/<int:payment_id>/cancel", methods=["POST"])
@requires("payments.view")
def cancel(payment_id: int):
    """Cancel a payment recorded by mistake (its entry is reversed)."""
    p = _payment(payment_id)
    _need(KINDS[p.direction]["record"])
    form = CancelForm()
    if form.validate_on_submit():
        try:
            services.cancel_payment(p, reason=form.reason.data, on=form.date.data or today())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{p.number} is cancelled.", "success")
            return redirect(url_for("payments.payment", payment_id=p.id), 303)
    return render("payments/detail.html", status=status_for(form), **_detail(p, cancel_form=form, open="cancel"))


# ---------------------------------------------------------------- cash and bank accounts

@bp.route("/accounts", methods=["GET", "POST"])
@requires("payments.accounts")
def accounts():
    """Cash and bank accounts with their balances; a new one; the default way to allocate."""
    form = AccountForm(prefix="new")
    policy_form = PolicyForm(prefix="policy", policy=g.org.default_allocation_policy)
    if request.method == "POST" and request.form.get("form") == "account" and form.validate_on_submit():
        try:
            account = services.add_payment_account(name=form.name.data, kind=form.kind.data,
                                                   description=form.description.data,
                                                   opening_balance=form.opening_balance.data,
                                                   opening_date=form.opening_date.data or today())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{account.label} added.", "success")
            return redirect(url_for("payments.accounts"), 303)
    elif request.method == "POST" and request.form.get("form") == "policy" and policy_form.validate_on_submit():
        try:
            services.set_default_policy(g.org, policy_form.policy.data)
        except DomainError as exc:
            form_error(policy_form, exc)
        else:
            flash("Saved.", "success")
            return redirect(url_for("payments.accounts"), 303)
    rows = services.payment_accounts()
    return render("payments/accounts.html", rows=rows, balances=queries.account_balances([a.id for a in rows], today()),
                  form=form, policy_form=policy_form, opening_form=OpeningForm(opening_date=today()),
                  has_entries=queries.accounts_with_entries([a.id for a in rows]),
                  status=status_for(form) if request.form.get("form") == "account" else status_for(policy_form))


@bp.route("/accounts/<int:account_id>/opening", methods=["POST"])
@requires("payments.accounts")
def opening(account_id: int):
    """The opening balance of an account without entries."""
    account = get_or_404(Account, account_id)
    form = OpeningForm()
    if form.validate_on_submit():
        try:
            services.set_opening_balance(account, form.opening_balance.data, form.opening_date.data)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Opening balance of {account.label} posted.", "success")
    else:
        flash(next(iter(form.errors.values()))[0] if form.errors else "Enter the opening balance.", "error")
    return redirect(url_for("payments.accounts"), 303)
