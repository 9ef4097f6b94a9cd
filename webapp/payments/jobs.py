"""Jobs of payments: statement PDFs, aged report downloads, the daily overdue check (and its CLI)."""
from __future__ import annotations

from datetime import date

import click
import sqlalchemy as sa
from flask import render_template

from webapp.core import jobs
from webapp.core.clock import today
from webapp.core.exports import csv_bytes, safe_filename, xlsx_bytes
from webapp.core.jobs import DONE, Job, JobResult, job_kind
from webapp.core.money import format_amount
from webapp.core.tenancy import get_or_404
from webapp.extensions import db
from webapp.ledger.models import JournalEntry
from webapp.orgs.models import Organization
from webapp.parties.models import Party
from webapp.payments import aging, bp, queries

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _data_version() -> int:
    """Changes whenever anything is posted: part of a report job's key, so a new posting makes a new file."""
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(JournalEntry.id), 0)))


# ---------------------------------------------------------------- statement

def enqueue_statement(party: Party, kind: str, date_from: date, date_to: date):
    return jobs.enqueue(f"statement_{kind}", {"party_id": party.id, "kind": kind, "date_from": date_from.isoformat(),
                                            "date_to": date_to.isoformat()},
                        title=f"Statement of {party.name}, {date_from:%d %b %Y} to {date_to:%d %b %Y}",
                        key=f"{party.id}:{kind}:{date_from}:{date_to}:{_data_version()}")


@job_kind("statement_supplier", permission="payments.view_payables")
@job_kind("statement_customer", permission="payments.view")
def party_statement(job, progress):
    from webapp.core.pdf import logo_data_url, render_pdf
    p = job.params
    party = get_or_404(Party, p["party_id"])
    role = "receivables" if p["kind"] == "customer" else "payables"
    ledger = queries.party_ledger(party, role, date.fromisoformat(p["date_from"]), date.fromisoformat(p["date_to"]))
    org = db.session.get(Organization, party.org_id)
    logo = None
    if org.logo_mime:
        data = db.session.scalar(sa.select(Organization.logo).where(Organization.id == org.id))
        logo = logo_data_url(data, org.logo_mime) if data else None
    progress(40, "Laying out the statement")
    html = render_template("payments/pdf/statement.html", ledger=ledger, party=party, org=org, logo=logo,
                           kind=p["kind"], code=org.base_currency, printed_on=today())
    data = render_pdf(html, stylesheets=("pdf/base.css", "pdf/document.css"))
    name = safe_filename(f"statement-{party.code or party.id}-{p['date_to']}") + ".pdf"
    return JobResult(name, "application/pdf", data)


# ---------------------------------------------------------------- aged report download

def enqueue_aged_export(kind: str, as_of: date, fmt: str):
    title = ("Aged receivables" if kind == "customer" else "Aged payables") + f" at {as_of:%d %b %Y}"
    return jobs.enqueue(f"aged_{kind}", {"kind": kind, "as_of": as_of.isoformat(), "format": fmt}, title=title,
                        key=f"{kind}:{as_of}:{fmt}:{_data_version()}")


@job_kind("aged_supplier", permission="payments.view_payables")
@job_kind("aged_customer", permission="payments.view")
def aged_export(job, progress):
    p = job.params
    kind, as_of = p["kind"], date.fromisoformat(p["as_of"])
    report = queries.aged(kind, as_of, kept=aging.ready(kind, as_of))
    headers = ["Code", "Customer" if kind == "customer" else "Supplier"] + \
        [queries.BUCKET_LABELS[b] for b in queries.BUCKETS] + ["Unallocated", "Total"]
    rows = [[r.code or "", r.name] + [getattr(r, b) for b in queries.BUCKETS] + [r.credit, r.total]
            for r in report.rows]
    t = report.totals
    rows.append(["", "Total"] + [getattr(t, b) for b in queries.BUCKETS] + [t.credit, t.total])
    title = ("Aged receivables" if kind == "customer" else "Aged payables") + f" {as_of}"
    progress(70, "Writing the file")
    name = title.lower().replace(" ", "-")
    if p["format"] == "xlsx":
        return JobResult(f"{name}.xlsx", XLSX, xlsx_bytes(title[:31], headers, rows, title=title,
                                                          money_columns=list(range(2, 9))))
    return JobResult(f"{name}.csv", "text/csv; charset=utf-8", csv_bytes(headers, rows))


# ---------------------------------------------------------------- the daily overdue check

def enqueue_overdue_check(day: date, *, rerun: bool = False):
    return jobs.enqueue("overdue_check", {"day": day.isoformat()}, title=f"Overdue invoices on {day:%d %b %Y}",
                        key=f"overdue:{day}", rerun_finished=rerun)


def latest_overdue_run() -> Job | None:
    return db.session.scalars(sa.select(Job).where(Job.kind == "overdue_check", Job.status == DONE)
                              .order_by(Job.finished_at.desc()).limit(1)).first()


@job_kind("overdue_check", permission="payments.view")
def overdue_check(job, progress):
    """List the invoices overdue on the day: a CSV to download, and an e-mail to the owners and
    accountants when a mail server is configured."""
    from webapp.core.mail import mail_configured, send_mail
    from webapp.orgs.models import Membership
    day = date.fromisoformat(job.params["day"])
    for kind in aging.KINDS:
        aging.ready(kind, day)       # the morning's job brings today's aged sums to the new day (committed)
        if day == today():           # and keeps the last month-end's, which accountants ask for
            aging.ready(kind, aging.last_month_end(day))
    rows = queries.overdue_invoices(day)
    org = db.session.scalars(sa.select(Organization)).first()
    total = sum((d.amount_due for d in rows), start=0)
    headers = ["Invoice", "Customer", "Date", "Due", "Days overdue", "Total", "Outstanding"]
    body = [[d.number, d.customer.name if d.customer else "", d.date, d.due_date, (day - d.due_date).days,
             d.grand_total, d.amount_due] for d in rows]
    summary = (f"{len(rows)} invoice{'s' if len(rows) != 1 else ''} overdue, "
               f"{format_amount(total, org.base_currency, symbol=True)} outstanding") if rows else "Nothing overdue"
    progress(80, summary)
    sent = 0
    if rows and mail_configured():
        from webapp.auth.models import User
        recipients = db.session.scalars(sa.select(User.email).join(Membership, Membership.user_id == User.id)
                                         .where(Membership.org_id == org.id, Membership.active.is_(True),
                                                Membership.role.in_(("owner", "accountant"))))
        lines = [f"{d.number}  {d.customer.name if d.customer else ''}  due {d.due_date:%d %b %Y}  "
                 f"{format_amount(d.amount_due, org.base_currency)}" for d in rows[:200]]
        text = f"{org.name}: {summary} on {day:%d %b %Y}.\n\n" + "\n".join(lines)
        if len(rows) > 200:
            text += f"\n… and {len(rows) - 200} more."
        for email in recipients:
            sent += bool(send_mail(email, f"{org.name}: {summary}", text))
    return JobResult(f"overdue-{day}.csv", "text/csv; charset=utf-8", csv_bytes(headers, body),
                     message=(summary + (f"; e-mailed to {sent}" if sent else ""))[:200])


@bp.cli.command("overdue-alerts")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The day (default today).")
def overdue_alerts_command(day):
    """The daily overdue check for every organization (run it from cron each morning)."""
    from webapp.core import audit
    from webapp.core.tenancy import no_tenant, tenant
    day = day.date() if day else today()
    with no_tenant():
        org_ids = list(db.session.scalars(sa.select(Organization.id).order_by(Organization.id)))
    for org_id in org_ids:
        with tenant(org_id), audit.acting_as(None, "cli", "flask payments overdue-alerts"):
            job = enqueue_overdue_check(day)
            db.session.commit()
            jobs.dispatch_pending()
            click.echo(f"organization {org_id}: {job.title} ({job.status})")
