"""Demo data for the ledger: opening balances and a few months of journals."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from webapp.core.clock import today
from webapp.demo import demo_step
from webapp.extensions import db
from webapp.ledger import services
from webapp.ledger.models import Account, ManualJournal, OPENING
from webapp.ledger.queries import fiscal_year_of


def _journal(d: date, memo: str, lines, kind="manual") -> None:
    accounts = {a.code: a for a in db.session.scalars(sa.select(Account))}
    j = services.create_manual_journal(date=d, memo=memo, kind=kind)
    while len(j.lines) < len(lines):
        services.add_journal_line(j, None)
    for line, (code, debit, credit) in zip(j.lines, lines):
        services.update_journal_line(j, line, account=accounts[code], debit=Decimal(debit),
                                     credit=Decimal(credit), memo=None, version=None)
    services.post_manual_journal(j)


@demo_step
def ledger_demo(org, user) -> None:
    if db.session.scalar(sa.select(sa.exists().select_from(ManualJournal))):
        return
    fy_start, _ = fiscal_year_of(today())
    opening_day = date.fromordinal(fy_start.toordinal() - 1)
    _journal(opening_day, "Opening balances", [
        ("1110", "25000", "0"), ("1120", "1450000", "0"), ("1610", "120000", "0"),
        ("2400", "0", "200000"), ("3100", "0", "1300000"), ("3300", "0", "95000")], kind=OPENING)
    month = fy_start
    while month <= today():
        _journal(month.replace(day=5), f"Shop rent {month:%B %Y}", [("5400", "35000", "0"), ("1120", "0", "35000")])
        _journal(month.replace(day=28), f"Salaries {month:%B %Y}", [("5500", "62000", "0"), ("1120", "0", "62000")])
        month = date(month.year + (month.month // 12), month.month % 12 + 1, 1)
    # A draft the owner has not posted yet.
    draft = services.create_manual_journal(date=today(), memo="Electricity bill (to check)")
    utilities = db.session.scalars(sa.select(Account).where(Account.code == "5600")).one()
    services.update_journal_line(draft, draft.lines[0], account=utilities, debit=Decimal("4380.00"),
                                 credit=None, memo=None, version=None)
