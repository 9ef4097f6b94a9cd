"""Helpers for ledger tests: post an entry by role with amounts as strings."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from webapp.ledger import services
from webapp.ledger.services import Line


def L(account, debit="0", credit="0", memo=None) -> Line:
    return Line(account, Decimal(debit), Decimal(credit), memo)


def post(d: date, *lines: Line, memo: str = "test"):
    return services.post_entry(date=d, memo=memo, lines=list(lines), source_type="test")


def code(c: str):
    from webapp.extensions import db
    from webapp.ledger.models import Account
    import sqlalchemy as sa
    return db.session.scalars(sa.select(Account).where(Account.code == c)).one()
