"""Property-based: random posts and reversals keep the books consistent.

After every step: the trial balance is exactly zero; the day balances equal
the journal lines, account by account; the party balances equal them, account
and party by party (lines with and without a party, reversals); the balance sheet balances; the P&L's
net profit equals the balance sheet's current-year earnings; and the trial
balance's closing column agrees with the balance sheet.
"""
from datetime import date, timedelta
from decimal import Decimal as D

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.factories import VAT_VN, create_org
from tests.sales.helpers import customer
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger import queries, services
from webapp.ledger.models import AccountDayBalance, JournalLine, PartyBalance
from webapp.ledger.services import Line

START = date(2025, 1, 1)

amounts_inr = st.one_of(st.just(D("0.01")), st.decimals(min_value=D("0.01"), max_value=D("99999999.99"), places=2))
amounts_vnd = st.one_of(st.just(D("1")), st.just(D("10000000000000")),
                        st.integers(min_value=1, max_value=10**13).map(D))


def op(amounts):
    post = st.tuples(st.just("post"), st.integers(0, 700),
                     st.lists(st.tuples(st.integers(0, 10**6), amounts), min_size=1, max_size=4),
                     st.integers(0, 10**6))
    reverse = st.tuples(st.just("reverse"), st.integers(0, 60), st.integers(0, 10**6), st.just(0))
    return st.one_of(post, post, reverse)


def check_books(as_of: date):
    # Day balances are exactly the lines, account by account.
    lines = dict(((a, (d, c)) for a, d, c in db.session.execute(
        sa.select(JournalLine.account_id, sa.func.sum(JournalLine.debit), sa.func.sum(JournalLine.credit))
        .group_by(JournalLine.account_id))))
    days = dict(((a, (d, c)) for a, d, c in db.session.execute(
        sa.select(AccountDayBalance.account_id, sa.func.sum(AccountDayBalance.debit),
                  sa.func.sum(AccountDayBalance.credit)).group_by(AccountDayBalance.account_id))))
    assert lines == days
    # Party balances (kept by a trigger on journal_line) are exactly the lines with a party.
    by_party = {(a, p): (d, c) for a, p, d, c in db.session.execute(
        sa.select(JournalLine.account_id, JournalLine.party_id, sa.func.sum(JournalLine.debit),
                  sa.func.sum(JournalLine.credit)).where(JournalLine.party_id.is_not(None))
        .group_by(JournalLine.account_id, JournalLine.party_id))}
    kept = {(b.account_id, b.party_id): (b.debit, b.credit) for b in db.session.scalars(sa.select(PartyBalance))}
    assert kept == by_party
    total_d = sum((d for d, c in lines.values()), D(0))
    total_c = sum((c for d, c in lines.values()), D(0))
    assert total_d == total_c
    fy_start, _ = queries.fiscal_year_of(as_of)
    tb = queries.trial_balance(fy_start, as_of)
    assert tb.balanced and tb.closing_debit == tb.closing_credit and tb.opening_debit == tb.opening_credit
    bs = queries.balance_sheet(as_of)
    assert bs.balanced
    pl = queries.profit_and_loss(fy_start, as_of)
    assert pl.net_profit == bs.current_year_earnings
    # The trial balance's closing balances are the balance sheet's figures.
    assets = sum((r.closing for r in tb.rows if r.account.type == "asset"), D(0))
    assert assets == bs.assets.total


def run(app, org_kwargs, ops):
    with app.app_context():
        org_id, _ = create_org(**org_kwargs)
        with tenant(org_id):
            postable = queries.postable_accounts(limit=1000)
            parties = [None, customer("Party A").id, customer("Party B").id]
            posted = []
            last = START
            for kind, day, lines_or_pick, pick in ops:
                if kind == "post":
                    d = START + timedelta(days=day)
                    lines = [Line(postable[i % len(postable)], debit=amt, party_id=parties[i % 3])
                             for i, amt in lines_or_pick]
                    total = sum((l.debit for l in lines), D(0))
                    lines.append(Line(postable[pick % len(postable)], credit=total, party_id=parties[pick % 3]))
                    posted.append(services.post_entry(date=d, memo="p", lines=lines, source_type="test"))
                elif posted:
                    target = posted[lines_or_pick % len(posted)]
                    try:
                        services.reverse_entry(target, date=target.date + timedelta(days=day))
                    except DomainError as exc:
                        assert "already" in exc.message or "itself a reversal" in exc.message
                last = max([last] + [e.date for e in posted])
                check_books(last)
            db.session.rollback()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=st.lists(op(amounts_inr), min_size=1, max_size=12))
def test_random_posts_and_reversals_keep_the_books_balanced_inr(app, ops):
    run(app, {"fiscal_year_start_month": 4}, ops)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=st.lists(op(amounts_vnd), min_size=1, max_size=10))
def test_random_posts_and_reversals_in_a_zero_decimal_currency(app, ops):
    run(app, VAT_VN, ops)
