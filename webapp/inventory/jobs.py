"""Stock report downloads (CSV, XLSX) built in a job."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from webapp.core.exports import csv_bytes, xlsx_bytes
from webapp.core.jobs import JobResult, job_kind
from webapp.core.tenancy import get_or_404
from webapp.extensions import db
from webapp.inventory import queries
from webapp.inventory.models import MOVE_KINDS, StockMove

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def data_version() -> int:
    """Changes whenever stock moves: part of a report job's key."""
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(StockMove.id), 0)))


def _table(p: dict):
    report = p["report"]
    if report == "valuation":
        as_of = date.fromisoformat(p["as_of"])
        rows, total = queries.valuation(as_of, category=p.get("category") or None)
        body = [[r.product.sku, r.product.name, r.product.category or "", r.quantity, r.product.unit,
                 r.unit_cost, r.value] for r in rows]
        body.append(["", "Total", "", None, "", None, total])
        return (f"Stock valuation {as_of}", ["SKU", "Product", "Category", "On hand", "Unit", "Unit cost", "Value"],
                body, [5, 6])
    if report == "reorder":
        rows = queries.reorder()
        return ("Reorder", ["SKU", "Product", "On hand", "Reorder point", "Suggested order", "Unit"],
                [[r.product.sku, r.product.name, r.on_hand, r.product.reorder_point, r.suggested, r.product.unit]
                 for r in rows], [])
    if report == "expiring":
        from webapp.core.clock import today
        days = max(0, min(int(p.get("days") or 30), 3650))
        rows = queries.expiring(days, today())
        return (f"Batches expiring within {days} days",
                ["SKU", "Product", "Batch", "Expiry", "Days left", "Location", "On hand"],
                [[r.product.sku, r.product.name, r.batch.number, r.batch.expiry_date, r.days_left, r.location.name,
                  r.quantity] for r in rows], [])
    if report == "movements":
        from webapp.catalog.models import Product
        product = get_or_404(Product, int(p["product_id"]))
        d_from, d_to = date.fromisoformat(p["date_from"]), date.fromisoformat(p["date_to"])
        opening, rows = queries.movements(product, d_from, d_to, limit=10**7)
        body = [[d_from, "Opening", "", "", "", None, opening]]
        for m, running in rows:
            signed = m.quantity if (m.to_location_id and not m.from_location_id) else (
                -m.quantity if (m.from_location_id and not m.to_location_id) else 0)
            body.append([m.date, MOVE_KINDS[m.kind], m.source_number or "", m.batch.number if m.batch else "",
                         (m.from_location.name if m.from_location else "") + " → " +
                         (m.to_location.name if m.to_location else ""), signed, running])
        return (f"Movements {product.sku} {d_from} to {d_to}",
                ["Date", "Kind", "Document", "Batch", "From → to", "Quantity", "Running"], body, [])
    raise ValueError(f"unknown report {report!r}")


@job_kind("stock_report", permission="inventory.reports")
def export_stock_report(job, progress):
    title, headers, rows, money = _table(job.params)
    progress(70, "Writing the file")
    name = title.lower().replace(" ", "-")
    if job.params["format"] == "xlsx":
        return JobResult(f"{name}.xlsx", XLSX, xlsx_bytes(title[:31], headers, rows, title=title, money_columns=money))
    return JobResult(f"{name}.csv", "text/csv; charset=utf-8", csv_bytes(headers, rows))
