"""Rows of a given organization for every ledger route that takes an id."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from tests.route_cases import case
from webapp.extensions import db
from webapp.ledger import services
from webapp.ledger.models import Account


def _account():
    n = db.session.scalar(sa.select(sa.func.count()).select_from(Account))
    return services.add_account(code=f"9{n:03d}", name="Petty cash drawer", type="asset")


@case("ledger.edit_account", "ledger.set_account_active")
def account(org_id, owner_id):
    return {"account_id": _account().id}


def _journal(posted=False):
    j = services.create_manual_journal(date=date(2026, 5, 1), memo="Case journal")
    cash, bank = services.account_for("cash"), services.account_for("bank")
    services.update_journal_line(j, j.lines[0], account=cash, debit=Decimal("10.00"), credit=None, memo=None, version=None)
    services.update_journal_line(j, j.lines[1], account=bank, debit=None, credit=Decimal("10.00"), memo=None, version=None)
    if posted:
        services.post_manual_journal(j)
    return j


@case("ledger.journal", "ledger.journal_header", "ledger.add_journal_line", "ledger.post_journal",
      "ledger.delete_journal")
def draft_journal(org_id, owner_id):
    return {"journal_id": _journal().id}


@case("ledger.update_journal_line", "ledger.remove_journal_line")
def journal_line(org_id, owner_id):
    j = _journal()
    return {"journal_id": j.id, "line_id": j.lines[0].id}


@case("ledger.reverse_journal")
def posted_journal(org_id, owner_id):
    return {"journal_id": _journal(posted=True).id}


@case("ledger.entry")
def entry(org_id, owner_id):
    return {"entry_id": _journal(posted=True).entry_id}
