"""Rows of a given organization for every payments route that takes an id."""
from datetime import date

from tests.payments.helpers import customer, receive, sale
from tests.route_cases import EXEMPT, EXEMPT_ARGS, case
from webapp.ledger.services import account_for

for endpoint, args in (("payments.new", {"direction": "in"}), ("payments.preview", {"direction": "in"}),
                       ("payments.aged", {"kind": "customer"}), ("payments.aged_export", {"kind": "customer"})):
    EXEMPT[endpoint] = "a kind (in/out, customer/supplier), not a record"
    EXEMPT_ARGS[endpoint] = args


def _payment():
    c = customer()
    inv = sale(c, 500, date(2026, 5, 1))
    return receive(c, 800, date(2026, 5, 2), [(inv, 300)])


@case("payments.payment", "payments.allocate", "payments.cancel", "payments.refund")
def a_payment(org_id, owner_id):
    return {"payment_id": _payment().id}


@case("payments.unallocate")
def an_allocation(org_id, owner_id):
    return {"allocation_id": _payment().allocations[0].id}


@case("payments.party_ledger", "payments.statement", "payments.aged_party")
def a_customer(org_id, owner_id):
    return {"kind": "customer", "party_id": customer().id}


@case("payments.opening")
def a_cash_account(org_id, owner_id):
    return {"account_id": account_for("cash").id}
