"""Gapless document numbers, one series per organization and kind.

A series row holds the next number. `next_number` increments it with
`UPDATE … RETURNING` inside the caller's transaction: the row stays locked
until the document's transaction commits, so two postings never get the same
number, and a rolled-back posting gives its number back, so there are no
gaps. Drafts never call this; only posting does.

A series may restart every fiscal year (`{fy}` or `{year}` in the prefix);
each period is its own counter row, created on first use.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
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


def next_number(kind: str, on: date, fiscal_start_month: int = 1) -> str:
    """Take the next number of `kind` for a document dated `on`.

    Must run inside the transaction that posts the document.
    """
    org_id = current_org_id()
    prefix, width = series_for(kind)
    resets = "{fy}" in prefix or "{year}" in prefix
    period = fiscal_year_label(on, fiscal_start_month) if "{fy}" in prefix else (
        str(on.year) if "{year}" in prefix else "")
    table = NumberCounter.__table__
    bind = db.session.get_bind()
    dialect_insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    # One statement: the first number of a new period (the row is made with 2 next), or the row's
    # next, taken under its row lock until the posting commits — so numbers stay gapless.
    stmt = dialect_insert(table).values(org_id=org_id, kind=kind, period=period, next_value=2)
    value = db.session.execute(
        stmt.on_conflict_do_update(index_elements=["org_id", "kind", "period"],
                                   set_={"next_value": table.c.next_value + 1})
        .returning(table.c.next_value - 1)
    ).scalar_one()
    text = prefix.replace("{fy}", period if resets else "").replace("{year}", str(on.year))
    return f"{text}{value:0{width}d}"
