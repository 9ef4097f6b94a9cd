"""party_balance (migration 0012): what a party owes, kept by a trigger on journal_line as lines are
posted; the backfill of existing lines, and the way back. (The property-based tests of the ledger and
of payments compare it with the lines after every random operation.)"""
from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from tests.factories import create_org
from tests.payments.helpers import customer, receive, sale
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import Account, JournalLine, PartyBalance
from webapp.parties.queries import balance, balances
from webapp.sales import services as sales

DAY = date(2026, 6, 1)


def _lines_by_party() -> dict:
    return {(a, p): (d, c) for a, p, d, c in db.session.execute(
        sa.select(JournalLine.account_id, JournalLine.party_id, sa.func.sum(JournalLine.debit),
                  sa.func.sum(JournalLine.credit)).where(JournalLine.party_id.is_not(None))
        .group_by(JournalLine.account_id, JournalLine.party_id))}


def _kept() -> dict:
    return {(b.account_id, b.party_id): (b.debit, b.credit) for b in db.session.scalars(sa.select(PartyBalance))}


def test_a_customer_s_balance_follows_invoices_payments_and_cancellations(app):
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            a, b = customer(name="Ganesh Stores"), customer(name="Hari Medicals")
            inv = sale(a, 1200, DAY)
            sale(b, 300, DAY)
            receive(a, 200, DAY, [(inv, 200)])
            assert balances([a.id, b.id]) == {a.id: D(1000), b.id: D(300)}
            receivables = db.session.scalars(sa.select(Account.id).where(Account.role == "receivables")).one()
            assert _kept()[(receivables, a.id)] == (D(1200), D(200))
            receive(b, 500, DAY)                                    # 200 on account: b is owed
            assert balance(b) == D(-200)
            cancelled = sale(a, 99, DAY)
            sales.cancel_invoice(cancelled, reason="typo", on=DAY)  # posted, then reversed
            assert balance(a) == D(1000)
            assert _kept() == _lines_by_party()
            db.session.rollback()


def test_migration_adds_up_existing_lines_and_goes_back(tmp_path):
    """0012 on its own SQLite file (the session's database stays as it is)."""
    from tests.conftest import backfill_round_trip

    def seed(n):
        c = customer(name=f"Customer {n}")
        inv = sale(c, 100 * (n + 1), DAY)
        receive(c, 30, DAY, [(inv, 30)])

    def check(n):
        kept = _kept()
        assert kept == _lines_by_party() and len(kept) == 1      # receivables, the customer
        ((_, c_id),) = kept
        assert balances([c_id]) == {c_id: D(100 * (n + 1) - 30)}
    backfill_round_trip(tmp_path / "mig.db", before="0011_aged_party_sum", table="party_balance",
                        seed=seed, check=check)
