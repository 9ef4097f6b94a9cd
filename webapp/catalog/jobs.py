"""Product list downloads (CSV, XLSX) built in a job."""
from __future__ import annotations

from datetime import date

from webapp.catalog import queries
from webapp.catalog.services import FIELDS
from webapp.core.exports import csv_bytes, xlsx_bytes
from webapp.core.jobs import JobResult, job_kind


@job_kind("products_export", permission="catalog.view")
def export_products(job, progress):
    rows = []
    for p in queries.all_for_export():
        rows.append([getattr(p, f) if f not in ("tracks_batches", "active") else ("yes" if getattr(p, f) else "no")
                     for f in FIELDS])
    progress(60, f"{len(rows)} products")
    name = f"products-{date.today().isoformat()}"
    if job.params.get("format") == "xlsx":
        return JobResult(f"{name}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         xlsx_bytes("Products", list(FIELDS), rows, money_columns=[8]), f"{len(rows)} products")
    # The same columns the import reads, so an export can be edited and imported again.
    return JobResult(f"{name}.csv", "text/csv; charset=utf-8", csv_bytes(list(FIELDS), rows), f"{len(rows)} products")
