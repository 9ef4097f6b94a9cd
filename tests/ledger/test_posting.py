"""The one posting service: what it refuses, and that posted entries never change."""
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.conftest import is_postgres
from tests.factories import create_org
from tests.ledger.helpers import L, code, post
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger import services
from webapp.ledger.models import AccountDayBalance, JournalEntry, JournalLine
from webapp.ledger.services import LedgerImmutable


def counts():
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(t))
                 for t in (JournalEntry, JournalLine, AccountDayBalance))


@pytest.fixture
def org(app, ctx):
    org_id, _ = create_org(fiscal_year_start_month=4)
    with tenant(org_id):
        yield org_id


@pytest.mark.parametrize("lines,message", [
    ([], "at least two lines"),
    ([L("cash", "100"), L("sales", credit="99.99")], "differ by 0.01"),
    ([L("cash", "100", "100"), L("sales", credit="0")], "both a debit and a credit"),
    ([L("cash", "-5"), L("sales", credit="-5")], "cannot be negative"),
    ([L("cash", "0"), L("sales", credit="0")], "no amount"),
    ([L("cash", "1.005"), L("sales", credit="1.005")], "more decimal places than INR"),
    ([L("cash", "1e16"), L("sales", credit="1e16")], "too large"),
    ([L("1000", "5"), L("sales", credit="5")], None),  # a code string is not a role: not found
])
def test_refused_entries_write_nothing(org, lines, message):
    before = counts()
    with pytest.raises(DomainError) as err:
        post(date(2026, 5, 1), *lines)
    if message:
        assert message in err.value.message
    assert counts() == before


def test_group_and_inactive_accounts_are_refused(org):
    before = counts()
    with pytest.raises(DomainError, match="is a group"):
        post(date(2026, 5, 1), L(code("1100").id, "5"), L("sales", credit="5"))
    acc = services.add_account(code="1199", name="Old till", type="asset", parent=code("1100"))
    services.set_account_active(acc, False)
    with pytest.raises(DomainError, match="deactivated"):
        post(date(2026, 5, 1), L(acc.id, "5"), L("sales", credit="5"))
    assert counts() == before


def test_another_organizations_account_is_not_found(app, org):
    other, _ = create_org()
    with tenant(other):
        foreign = code("1110").id
    with tenant(org):
        before = counts()
        with pytest.raises(DomainError, match="not found"):
            post(date(2026, 5, 1), L(foreign, "5"), L("sales", credit="5"))
        assert counts() == before


def test_locked_period_refuses_posting_and_reversing(org):
    from webapp.orgs.queries import current_organization
    entry = post(date(2026, 4, 30), L("cash", "10"), L("sales", credit="10"))
    services.set_lock_date(current_organization(), date(2026, 4, 30))
    before = counts()
    with pytest.raises(DomainError, match="locked up to 30 Apr 2026"):
        post(date(2026, 4, 30), L("cash", "10"), L("sales", credit="10"))
    with pytest.raises(DomainError, match="cannot reverse"):
        services.reverse_entry(entry, date=date(2026, 5, 2))
    assert counts() == before
    post(date(2026, 5, 1), L("cash", "10"), L("sales", credit="10"))  # the next day is open


def test_an_entry_is_reversed_once_and_a_reversal_is_not_reversed(org):
    entry = post(date(2026, 5, 1), L("cash", "10"), L("sales", credit="10"))
    rev = services.reverse_entry(entry, date=date(2026, 5, 2))
    with pytest.raises(DomainError, match="already been reversed"):
        services.reverse_entry(entry, date=date(2026, 5, 3))
    with pytest.raises(DomainError, match="itself a reversal"):
        services.reverse_entry(rev, date=date(2026, 5, 3))
    with pytest.raises(DomainError, match="before the entry"):
        services.reverse_entry(post(date(2026, 5, 5), L("cash", "1"), L("sales", credit="1")), date=date(2026, 5, 4))


def test_posted_entries_cannot_be_changed_through_the_orm(org):
    entry = post(date(2026, 5, 1), L("cash", "10"), L("sales", credit="10"))
    db.session.commit()
    entry.memo = "tampered"
    with pytest.raises(LedgerImmutable):
        db.session.flush()
    db.session.rollback()
    line = db.session.scalars(sa.select(JournalLine)).first()
    db.session.delete(line)
    with pytest.raises(LedgerImmutable):
        db.session.flush()
    db.session.rollback()


def test_direct_sql_update_or_delete_of_a_posted_line_fails(app, org):
    post(date(2026, 5, 1), L("cash", "10"), L("sales", credit="10"))
    db.session.commit()
    for statement in ("UPDATE journal_line SET debit = debit + 1", "DELETE FROM journal_line",
                      "UPDATE journal_entry SET memo = 'x'", "DELETE FROM journal_entry"):
        with pytest.raises(sa.exc.DBAPIError, match="immutable"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalLine)) == 2


@pytest.mark.skipif(not is_postgres(), reason="the PostgreSQL trigger; SQLite's is tested above")
def test_postgres_trigger_refuses_even_the_table_owner(app, org):
    post(date(2026, 5, 1), L("cash", "10"), L("sales", credit="10"))
    db.session.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT set_config('app.org_id', %s, false)", (str(org),))
        with pytest.raises(sa.exc.DBAPIError) as err:
            conn.exec_driver_sql("UPDATE journal_line SET credit = 0, debit = 0")
        assert "immutable" in str(err.value)


def test_zero_decimal_currency_takes_thirteen_digits(app, ctx):
    from tests.factories import VAT_VN
    org_id, _ = create_org(**VAT_VN)
    with tenant(org_id):
        post(date(2026, 5, 1), L("bank", "9999999999999"), L("sales", credit="9999999999999"))
        with pytest.raises(DomainError, match="more decimal places than VND"):
            post(date(2026, 5, 1), L("bank", "10.5"), L("sales", credit="10.5"))
        tb = __import__("webapp.ledger.queries", fromlist=["x"]).trial_balance(date(2026, 1, 1), date(2026, 12, 31))
        assert tb.closing_debit == tb.closing_credit == D("9999999999999")


def test_double_post_of_a_manual_journal_posts_once(org):
    j = services.create_manual_journal(date=date(2026, 5, 1))
    services.update_journal_line(j, j.lines[0], account=code("1110"), debit=D("5"), credit=None, memo=None, version=None)
    services.update_journal_line(j, j.lines[1], account=code("4100"), debit=None, credit=D("5"), memo=None, version=None)
    services.post_manual_journal(j)
    with pytest.raises(DomainError, match="already posted"):
        services.post_manual_journal(j)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 1


def test_stale_draft_edits_are_refused(org):
    from webapp.core.errors import StaleData
    j = services.create_manual_journal(date=date(2026, 5, 1))
    v = j.version
    services.update_journal_header(j, date=date(2026, 5, 2), memo="first", version=v)
    with pytest.raises(StaleData):
        services.update_journal_header(j, date=date(2026, 5, 3), memo="second", version=v)
    assert j.memo == "first"
