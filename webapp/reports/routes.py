"""Report pages. Each figure links to the lines behind it; downloads go through jobs."""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, request
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Optional

from webapp.core import jobs
from webapp.core.clock import today
from webapp.core.htmx import render
from webapp.core.permissions import requires
from webapp.core.tenancy import get_or_404
from webapp.ledger import queries
from webapp.ledger.models import Account
from webapp.ledger.sources import source_label, source_url
from webapp.reports import bp

REPORTS = {"trial_balance": "Trial balance", "profit_and_loss": "Profit and loss",
           "balance_sheet": "Balance sheet", "general_ledger": "General ledger"}
EARLIEST = date(1900, 1, 1)


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])


def _period(data=None):
    """The requested period, defaulting to the current fiscal year to date."""
    form = PeriodForm(request.args if data is None else data)
    form.validate()
    fy_start, fy_end = queries.fiscal_year_of(today())
    d_from = form.date_from.data or fy_start
    d_to = form.date_to.data or min(today(), fy_end)
    if d_from > d_to:
        form.date_to.errors = ["The end date is before the start date; showing the fiscal year to date."]
        d_from, d_to = fy_start, min(today(), fy_end)
    d_from, d_to = max(d_from, EARLIEST), max(d_to, EARLIEST)
    form.date_from.data, form.date_to.data = d_from, d_to
    return form, d_from, d_to


def _presets():
    t = today()
    fy_start, fy_end = queries.fiscal_year_of(t)
    last_fy_start, last_fy_end = queries.fiscal_year_of(fy_start - timedelta(days=1))
    month_start = t.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [("This fiscal year", fy_start, fy_end), ("Last fiscal year", last_fy_start, last_fy_end),
            ("This month", month_start, t), ("Last month", last_month_end.replace(day=1), last_month_end)]


@bp.route("/")
@requires("reports.financial")
def index():
    """The list of financial reports."""
    return render("reports/index.html")


@bp.route("/trial-balance")
@requires("reports.financial")
def trial_balance():
    """Opening, movements and closing balance of every account for a period."""
    form, d_from, d_to = _period()
    tb = queries.trial_balance(d_from, d_to)
    return render("reports/trial_balance.html", form=form, tb=tb, presets=_presets(), report="trial_balance")


@bp.route("/profit-and-loss")
@requires("reports.financial")
def profit_and_loss():
    """Income and expenses for a period."""
    form, d_from, d_to = _period()
    return render("reports/profit_and_loss.html", form=form, pl=queries.profit_and_loss(d_from, d_to),
                  presets=_presets(), report="profit_and_loss")


@bp.route("/balance-sheet")
@requires("reports.financial")
def balance_sheet():
    """Assets, liabilities and equity on a day."""
    form, d_from, d_to = _period()
    return render("reports/balance_sheet.html", form=form, bs=queries.balance_sheet(d_to), presets=_presets(),
                  report="balance_sheet")


@bp.route("/general-ledger")
@requires("reports.financial")
def general_ledger():
    """Every line of one account for a period, with a running balance."""
    form, d_from, d_to = _period()
    account_id = request.args.get("account_id", type=int)
    account = get_or_404(Account, account_id) if account_id else None
    page = queries.general_ledger(account, d_from, d_to, request.args.get("cursor", "")[:40]) if account else None
    return render("reports/general_ledger.html", "lines", form=form, account=account, page=page,
                  accounts=[a for a in queries.accounts() if not a.is_group], presets=_presets(),
                  report="general_ledger", source_url=source_url, source_label=source_label,
                  # balances read on the account's normal side
                  shown=(lambda v: v if account.debit_normal else -v) if account else None)


@bp.route("/export", methods=["POST"])
@requires("reports.financial")
def export():
    """Start the CSV or XLSX download of a report (a job)."""
    report = request.form.get("report")
    fmt = request.form.get("format")
    if report not in REPORTS or fmt not in ("csv", "xlsx"):
        abort(400)
    form, d_from, d_to = _period(request.form)
    params = {"report": report, "format": fmt, "date_from": d_from.isoformat(), "date_to": d_to.isoformat()}
    if report == "general_ledger":
        params["account_id"] = get_or_404(Account, request.form.get("account_id", type=int)).id
    # The last posted entry is part of the key: a new posting makes a new file.
    last = queries.entries(limit=1)[0]
    key = f"{sorted(params.items())}:{last[0].id if last else 0}"
    job = jobs.enqueue("ledger_report", params, title=f"{REPORTS[report]} ({fmt.upper()})", key=key)
    return render("jobs/_progress.html", job=job)
