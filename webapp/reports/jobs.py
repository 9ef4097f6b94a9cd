"""Report downloads (CSV, XLSX) built in jobs, never in a web request."""
from __future__ import annotations

from datetime import date

from webapp.core.exports import csv_bytes, safe_filename, xlsx_bytes
from webapp.core.jobs import JobResult, job_kind
from webapp.core.tenancy import get_or_404
from webapp.ledger.models import Account
from webapp.reports import tables


@job_kind("ledger_report", permission="reports.financial")
def export_report(job, progress):
    p = job.params
    report, fmt = p["report"], p["format"]
    d_from = date.fromisoformat(p["date_from"]) if p.get("date_from") else None
    d_to = date.fromisoformat(p["date_to"])
    progress(10, "Adding up")
    if report == "trial_balance":
        title, headers, rows, money = tables.trial_balance(d_from, d_to)
    elif report == "profit_and_loss":
        title, headers, rows, money = tables.profit_and_loss(d_from, d_to)
    elif report == "balance_sheet":
        title, headers, rows, money = tables.balance_sheet(d_to)
    elif report == "general_ledger":
        title, headers, rows, money = tables.general_ledger(get_or_404(Account, p["account_id"]), d_from, d_to)
    else:
        raise ValueError(f"unknown report {report!r}")
    progress(70, "Writing the file")
    name = safe_filename(title.replace(" ", "-").lower())
    if fmt == "xlsx":
        data = xlsx_bytes(title[:31], headers, rows, title=title, money_columns=list(money))
        return JobResult(f"{name}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", data)
    return JobResult(f"{name}.csv", "text/csv; charset=utf-8", csv_bytes(headers, rows))
