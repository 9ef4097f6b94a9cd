"""Customer and supplier list downloads, built in a job."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from webapp.core.exports import csv_bytes, xlsx_bytes
from webapp.core.jobs import JobResult, job_kind
from webapp.extensions import db
from webapp.parties.models import Party
from webapp.parties.services import COLUMNS


def _rows(kind: str):
    stmt = sa.select(Party).where(Party.is_supplier.is_(True) if kind == "supplier" else Party.is_customer.is_(True))
    names = [c.name for c in COLUMNS]
    for p in db.session.scalars(stmt.order_by(Party.code)):
        yield [("yes" if getattr(p, n) else "no") if n.startswith("is_") else getattr(p, n) for n in names]


def _export(job, kind):
    rows = list(_rows(kind))
    names = [c.name for c in COLUMNS]
    stem = f"{kind}s-{date.today().isoformat()}"
    if job.params.get("format") == "xlsx":
        return JobResult(f"{stem}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         xlsx_bytes(f"{kind.title()}s", names, rows), f"{len(rows)} {kind}s")
    return JobResult(f"{stem}.csv", "text/csv; charset=utf-8", csv_bytes(names, rows), f"{len(rows)} {kind}s")


@job_kind("customers_export", permission="customers.view")
def export_customers(job, progress):
    return _export(job, "customer")


@job_kind("suppliers_export", permission="suppliers.view")
def export_suppliers(job, progress):
    return _export(job, "supplier")
