"""One whole life of a small business's books, worked out by hand.

Lotus Traders (India GST, fiscal year from April) starts using SME Pulse in
April 2026. On 31 March 2026 it records its opening balances and one income
item of the old year; in April it posts seven journals and reverses a wrong
one. Every figure below was added up on paper first.
"""
from datetime import date
from decimal import Decimal as D

import pytest

from tests.factories import create_org
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger import queries, services
from webapp.ledger.models import OPENING


def journal(d, *lines, kind="manual", memo="scenario"):
    j = services.create_manual_journal(date=d, memo=memo, kind=kind)
    for _ in range(len(lines) - 2):
        services.add_journal_line(j, None)
    for line, (code, debit, credit) in zip(j.lines, lines):
        acc = queries.accounts()
        acc = next(a for a in acc if a.code == code)
        services.update_journal_line(j, line, account=acc, debit=D(debit), credit=D(credit), memo=None, version=None)
    services.post_manual_journal(j)
    return j


@pytest.fixture
def books(app):
    with app.app_context():
        org_id, _ = create_org("Lotus Traders", fiscal_year_start_month=4)
        with tenant(org_id):
            journal(date(2026, 3, 31),
                    ("1110", "50000", "0"), ("1120", "200000", "0"), ("1300", "150000", "0"),
                    ("1610", "80000", "0"), ("2400", "0", "100000"), ("3100", "0", "300000"),
                    ("3300", "0", "80000"), kind=OPENING, memo="Opening balances")
            journal(date(2026, 3, 31), ("1110", "5000", "0"), ("4300", "0", "5000"), memo="Old-year commission")
            journal(date(2026, 4, 5), ("5400", "25000", "0"), ("1120", "0", "25000"), memo="April rent")
            journal(date(2026, 4, 10), ("1110", "11800", "0"), ("4100", "0", "10000"), ("2210", "0", "900"),
                    ("2220", "0", "900"), memo="Cash sale")
            journal(date(2026, 4, 10), ("5100", "6000", "0"), ("1300", "0", "6000"), memo="Cost of the sale")
            journal(date(2026, 4, 15), ("5500", "30000", "0"), ("1120", "0", "30000"), memo="Salaries")
            wrong = journal(date(2026, 4, 20), ("5600", "4500.50", "0"), ("1110", "0", "4500.50"), memo="Wrong bill")
            services.reverse_manual_journal(wrong, date=date(2026, 4, 21), memo="Posted twice")
            journal(date(2026, 4, 25), ("5700", "118.00", "0"), ("1120", "0", "118.00"), memo="Bank charges")
            journal(date(2026, 4, 30), ("2400", "10000", "0"), ("1120", "0", "10000"), memo="Loan repayment")
            db.session.commit()
        yield org_id


def by_code(rows):
    return {r.account.code: r for r in rows}


def test_trial_balance_for_april(app, books):
    with app.app_context(), tenant(books):
        tb = queries.trial_balance(date(2026, 4, 1), date(2026, 4, 30))
        rows = by_code(tb.rows)
        assert (tb.opening_debit, tb.opening_credit) == (D("485000.000"), D("485000.000"))
        assert (tb.debit, tb.credit) == (D("91919.000"), D("91919.000"))
        assert (tb.closing_debit, tb.closing_credit) == (D("486800.000"), D("486800.000"))
        assert tb.balanced
        cash = rows["1110"]
        assert (cash.opening, cash.debit, cash.credit, cash.closing) == (D("55000"), D("16300.50"), D("4500.50"), D("66800"))
        assert rows["1120"].closing == D("134882")
        assert rows["1300"].closing == D("144000")
        assert rows["2400"].opening == D("-100000") and rows["2400"].closing == D("-90000")
        # Earlier years' profit shows as retained earnings; the income account starts the year at zero.
        assert rows["3200"].opening == D("-5000") and rows["3200"].closing == D("-5000")
        assert "4300" not in rows
        assert rows["5600"].debit == rows["5600"].credit == D("4500.50") and rows["5600"].closing == 0
        assert rows["5700"].closing == D("118")


def test_profit_and_loss_for_april_and_for_the_old_year(app, books):
    with app.app_context(), tenant(books):
        pl = queries.profit_and_loss(date(2026, 4, 1), date(2026, 4, 30))
        assert pl.income.total == D("10000")
        assert pl.expenses.total == D("61118")
        assert pl.net_profit == D("-51118")
        amounts = {acc.code: amount for acc, depth, amount, group in pl.expenses.lines}
        assert amounts == {"5000": D("61118"), "5100": D("6000"), "5400": D("25000"), "5500": D("30000"),
                           "5700": D("118")}
        old = queries.profit_and_loss(date(2025, 4, 1), date(2026, 3, 31))
        assert old.net_profit == D("5000")


def test_balance_sheet_at_the_end_of_april(app, books):
    with app.app_context(), tenant(books):
        bs = queries.balance_sheet(date(2026, 4, 30))
        assert bs.assets.total == D("425682")
        assert bs.liabilities.total == D("91800")
        assert bs.equity.total == D("380000")
        assert bs.retained_from_earlier_years == D("5000")
        assert bs.current_year_earnings == D("-51118")
        assert bs.total_equity == D("333882")
        assert bs.total_liabilities_and_equity == D("425682") and bs.balanced
        groups = {acc.code: amount for acc, depth, amount, group in bs.assets.lines if group}
        assert groups == {"1000": D("425682"), "1100": D("345682"), "1600": D("80000")}


def test_balance_sheet_on_the_opening_day(app, books):
    with app.app_context(), tenant(books):
        bs = queries.balance_sheet(date(2026, 3, 31))
        assert bs.assets.total == D("485000")
        assert bs.current_year_earnings == D("5000") and bs.retained_from_earlier_years == 0
        assert bs.balanced


def test_general_ledger_of_the_bank_with_running_balance(app, books):
    with app.app_context(), tenant(books):
        bank = next(a for a in queries.accounts() if a.code == "1120")
        page = queries.general_ledger(bank, date(2026, 4, 1), date(2026, 4, 30))
        assert page.opening == D("200000")
        assert [(l.date.day, l.credit, run) for l, e, run in page.rows] == [
            (5, D("25000"), D("175000")), (15, D("30000"), D("145000")), (25, D("118"), D("144882")),
            (30, D("10000"), D("134882"))]
        assert page.closing == D("134882") and page.next_cursor is None
        # Page by page, the running balance carries over.
        first = queries.general_ledger(bank, date(2026, 4, 1), date(2026, 4, 30), limit=3)
        assert first.next_cursor
        second = queries.general_ledger(bank, date(2026, 4, 1), date(2026, 4, 30), cursor=first.next_cursor, limit=3)
        assert second.page_opening == D("144882") and [r[2] for r in second.rows] == [D("134882")]


def test_the_reversal_mirrors_and_links(app, books):
    with app.app_context(), tenant(books):
        from webapp.ledger.models import ManualJournal
        import sqlalchemy as sa
        j = db.session.scalars(sa.select(ManualJournal).where(ManualJournal.memo == "Wrong bill")).one()
        assert j.status == "reversed"
        original, reversal = j.entry, j.reversal_entry
        assert reversal.reversal_of_id == original.id
        assert [(l.account.code, l.debit, l.credit) for l in reversal.lines] == [
            ("5600", D("0"), D("4500.50")), ("1110", D("4500.50"), D("0"))]
        assert services.reversal_of(original).id == reversal.id
        # Entries are numbered gaplessly per fiscal year.
        numbers = sorted(e.number for e in queries.entries(limit=100)[0])
        assert numbers[0] == "JE-2025-26-00001" and numbers[-1] == "JE-2026-27-00008"
