"""Gapless document numbers, one series per organization and kind.

A counter row holds the next number. `next_number` takes it with one
`INSERT … ON CONFLICT DO UPDATE … RETURNING` inside the caller's transaction
(the same statement reads the series' prefix): the row stays locked until the
document's transaction commits, so two postings never get the same number,
and a rolled-back posting gives its number back, so there are no gaps. Drafts
never call this; only posting does.

A series may restart every fiscal year (`{fy}` or `{year}` in the prefix);
each period is its own counter row, created on first use.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.core.tenancy import TenantScoped, current_org_id
from webapp.extensions import db

#: Default prefix and width per document kind; organizations may change prefixes.
DEFAULT_SERIES = {
    "journal": ("JE-{fy}-", 5),
    "invoice": ("INV-{fy}-", 5),
    "quote": ("QT-{fy}-", 5),
    "sales_order": ("SO-{fy}-", 5),
    "credit_note": ("CN-{fy}-", 5),
    "bill": ("BILL-{fy}-", 5),
    "debit_note": ("DN-{fy}-", 5),
    "purchase_order": ("PO-{fy}-", 5),
    "goods_receipt": ("GRN-{fy}-", 5),
    "payment_in": ("RCT-{fy}-", 5),
    "payment_out": ("PAY-{fy}-", 5),
    "stock_adjustment": ("ADJ-{fy}-", 5),
    "stock_transfer": ("TRF-{fy}-", 5),
    "stocktake": ("CNT-{fy}-", 5),
}


class NumberSeries(TenantScoped, db.Model):
    """A prefix template per organization and document kind."""

    __tablename__ = "number_series"
    __table_args__ = (sa.UniqueConstraint("org_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    #: e.g. "INV-{fy}-"; `{fy}` is the fiscal year's start year, `{year}` the calendar year.
    prefix: Mapped[str] = mapped_column(sa.String(40))
    width: Mapped[int] = mapped_column(default=5)


class NumberCounter(TenantScoped, db.Model):
    """The next number of one series in one period ("2026", or "" for never-resetting)."""

    __tablename__ = "number_counter"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "kind", "period"),
        sa.CheckConstraint("next_value >= 1", name="next_value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    period: Mapped[str] = mapped_column(sa.String(10), default="")
    next_value: Mapped[int] = mapped_column(default=1)


def fiscal_year_start(on: date, start_month: int) -> date:
    year = on.year if on.month >= start_month else on.year - 1
    return date(year, start_month, 1)


def fiscal_year_label(on: date, start_month: int) -> str:
    """'2026' for a calendar fiscal year; '2026-27' when it straddles two years."""
    start = fiscal_year_start(on, start_month)
    if start_month == 1:
        return str(start.year)
    return f"{start.year}-{str(start.year + 1)[-2:]}"


def series_for(kind: str) -> tuple[str, int]:
    row = db.session.scalars(sa.select(NumberSeries).where(NumberSeries.kind == kind)).first()
    if row is not None:
        return row.prefix, row.width
    return DEFAULT_SERIES.get(kind, (kind.upper() + "-", 5))


def set_series(kind: str, prefix: str, width: int = 5) -> NumberSeries:
    row = db.session.scalars(sa.select(NumberSeries).where(NumberSeries.kind == kind)).first()
    if row is None:
        row = NumberSeries(kind=kind, prefix=prefix, width=width)
        db.session.add(row)
    else:
        row.prefix, row.width = prefix, width
    db.session.flush()
    return row


#: One statement for a number: the series' prefix and width (or the defaults), the period the prefix
#: asks for, and the counter of that period taken (created at 2, or incremented) under its row lock.
_NEXT = sa.text("""
WITH s AS (
  SELECT coalesce(max(prefix), :default_prefix) AS prefix, coalesce(max(width), :default_width) AS width
  FROM number_series WHERE org_id = :org_id AND kind = :kind
)
INSERT INTO number_counter (org_id, kind, period, next_value)
SELECT :org_id, :kind, CASE WHEN prefix LIKE :fy_pattern THEN :fy WHEN prefix LIKE :year_pattern THEN :year
                            ELSE '' END, 2
FROM s WHERE true
ON CONFLICT (org_id, kind, period) DO UPDATE SET next_value = number_counter.next_value + 1
RETURNING next_value - 1, period, (SELECT prefix FROM s), (SELECT width FROM s)
""")


def _params(kind: str, on: date, fiscal_start_month: int) -> dict:
    default_prefix, default_width = DEFAULT_SERIES.get(kind, (kind.upper() + "-", 5))
    return {"org_id": current_org_id(), "kind": kind, "default_prefix": default_prefix,
            "default_width": default_width, "fy_pattern": "%{fy}%", "year_pattern": "%{year}%",
            "fy": fiscal_year_label(on, fiscal_start_month), "year": str(on.year)}


def _text(row, on: date) -> str:
    value, period, prefix, width = row
    text = prefix.replace("{fy}", period if "{fy}" in prefix else "").replace("{year}", str(on.year))
    return f"{text}{value:0{width}d}"


def next_number(kind: str, on: date, fiscal_start_month: int = 1) -> str:
    """Take the next number of `kind` for a document dated `on`.

    Must run inside the transaction that posts the document. One round trip: the series (its
    prefix decides whether the count restarts each fiscal or calendar year) and the counter.
    """
    return _text(db.session.execute(_NEXT, _params(kind, on, fiscal_start_month)).one(), on)


class QueuedNumber:
    """A number taken in a pipeline (PostgreSQL): `str()` of it once the pipeline has run."""

    def __init__(self, pipe, kind: str, on: date, fiscal_start_month: int):
        self._handle, self._on = pipe.add(_NEXT, _params(kind, on, fiscal_start_month)), on

    def __str__(self) -> str:
        return _text(self._handle.one(), self._on)


def take(pipe, kind: str, on: date, fiscal_start_month: int = 1):
    """The next number, queued in `pipe` on PostgreSQL (a `QueuedNumber`: `str()` once it has run),
    taken now on SQLite (a string)."""
    if pipe.postgres:
        return QueuedNumber(pipe, kind, on, fiscal_start_month)
    return next_number(kind, on, fiscal_start_month)
