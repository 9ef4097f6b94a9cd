"""Party ledgers and statements, aged receivables and payables, overdue invoices."""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, g, request

from webapp.core.clock import today
from webapp.core.htmx import render
from webapp.core.permissions import allowed, requires
from webapp.core.tenancy import get_or_404
from webapp.ledger.queries import balance_of_role, fiscal_year_of
from webapp.parties.models import Party
from webapp.payments import aging, bp, queries
from webapp.payments.forms import ConfirmForm

KINDS = {"customer": {"role": "receivables", "title": "Aged receivables", "party": "Customer",
                      "permission": "payments.view", "what": "invoice"},
         "supplier": {"role": "payables", "title": "Aged payables", "party": "Supplier",
                      "permission": "payments.view_payables", "what": "bill"}}


def _kind(kind: str) -> dict:
    k = KINDS[kind]
    if not allowed(g.role, k["permission"]):
        abort(403)
    return k


def _day(name: str, default: date) -> date:
    raw = request.args.get(name, "")
    try:
        day = date.fromisoformat(raw) if raw else default
    except ValueError:
        return default
    return min(max(day, date(1900, 1, 1)), date(9999, 12, 30))


def _party(kind: str, party_id: int) -> Party:
    party = get_or_404(Party, party_id)
    if not (party.is_customer if kind == "customer" else party.is_supplier):
        abort(404)
    return party


# ---------------------------------------------------------------- party ledger and statement

@bp.route("/ledger/<any(customer, supplier):kind>/<int:party_id>")
@requires("payments.view")
def party_ledger(kind: str, party_id: int):
    """Every invoice (or bill), payment, refund and cancellation of a party, with a running balance."""
    k = _kind(kind)
    party = _party(kind, party_id)
    start, _ = fiscal_year_of(today())
    date_to = _day("date_to", today())
    date_from = min(_day("date_from", start), date_to)
    ledger = queries.party_ledger(party, k["role"], date_from, date_to)
    from webapp.ledger.sources import source_label, source_url
    return render("payments/ledger.html", ledger=ledger, party=party, kind=kind, k=k, form=ConfirmForm(),
                  source_url=source_url, source_label=source_label,
                  credits=queries.credits(party, "in" if kind == "customer" else "out"))


@bp.route("/ledger/<any(customer, supplier):kind>/<int:party_id>/statement", methods=["POST"])
@requires("payments.view")
def statement(kind: str, party_id: int):
    """The statement PDF for the period shown, made in a job."""
    from webapp.payments.jobs import enqueue_statement
    _kind(kind)
    party = _party(kind, party_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    start, _ = fiscal_year_of(today())
    raw_to, raw_from = request.form.get("date_to", ""), request.form.get("date_from", "")
    try:
        date_to = date.fromisoformat(raw_to) if raw_to else today()
        date_from = date.fromisoformat(raw_from) if raw_from else start
    except ValueError:
        abort(400)
    return render("jobs/_progress.html", job=enqueue_statement(party, kind, min(date_from, date_to), date_to))


# ---------------------------------------------------------------- aged balances

#: Parties per page of an aged report.
AGED_PAGE = 100


@bp.route("/aged/<any(customer, supplier):kind>")
@requires("payments.view")
def aged(kind: str):
    """Aged receivables or payables at the end of any day; the total beside the control account."""
    k = _kind(kind)
    as_of = _day("as_of", today())
    # The totals are the whole report's; the table shows one page of parties (the most overdue first),
    # the export every one of them.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 1_000_000)
    # Today's report reads the sums kept per party (the first report of a day brings them to it).
    report = queries.aged(kind, as_of, page=page, per_page=AGED_PAGE, kept=aging.ready(kind, as_of))
    control = balance_of_role(k["role"], as_of)
    return render("payments/aged.html", report=report, rows=report.rows, page=report.page, pages=report.pages,
                  first=(report.page - 1) * AGED_PAGE, kind=kind, k=k, as_of=as_of, buckets=queries.BUCKETS,
                  labels=queries.BUCKET_LABELS, control=control if kind == "customer" else -control)


@bp.route("/aged/<any(customer, supplier):kind>/<int:party_id>")
@requires("payments.view")
def aged_party(kind: str, party_id: int):
    """One party's open documents at the end of a day, with their age."""
    k = _kind(kind)
    party = _party(kind, party_id)
    as_of = _day("as_of", today())
    docs, credit_rows = queries.aged_documents(kind, party, as_of)
    return render("payments/aged_party.html", docs=docs, credits=credit_rows, party=party, kind=kind, k=k,
                  as_of=as_of, labels=queries.BUCKET_LABELS)


@bp.route("/aged/<any(customer, supplier):kind>/export", methods=["POST"])
@requires("payments.view")
def aged_export(kind: str):
    """CSV or XLSX of the aged report, made in a job."""
    from webapp.payments.jobs import enqueue_aged_export
    _kind(kind)
    fmt = request.form.get("format")
    if fmt not in ("csv", "xlsx") or not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        as_of = date.fromisoformat(request.form.get("as_of", ""))
    except ValueError:
        as_of = today()
    return render("jobs/_progress.html", job=enqueue_aged_export(kind, as_of, fmt))


# ---------------------------------------------------------------- overdue invoices

@bp.route("/overdue")
@requires("payments.view")
def overdue():
    """Invoices past their due date and not fully paid, oldest due first."""
    day = today()
    rows = queries.overdue_invoices(day, limit=500)
    from webapp.payments.jobs import latest_overdue_run
    return render("payments/overdue.html", rows=rows, count=queries.overdue_count(day), day=day,
                  total=sum((d.amount_due for d in rows), start=0), form=ConfirmForm(),
                  last_run=latest_overdue_run(), week_ago=day - timedelta(days=7))


@bp.route("/overdue/check", methods=["POST"])
@requires("payments.view")
def overdue_check():
    """Run today's overdue check now (the daily job does it every morning)."""
    from webapp.payments.jobs import enqueue_overdue_check
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return render("jobs/_progress.html", job=enqueue_overdue_check(today(), rerun=True))
