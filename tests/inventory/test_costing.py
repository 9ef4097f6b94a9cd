"""Costing worked out by hand: FIFO, LIFO and moving average.

Same story for each method, at the default location of an INR organization:
  1 May  receive 10 @ 100.00   (1,000.00)
  3 May  receive 10 @ 120.00   (1,200.00)
  5 May  sell 15
  6 May  customer returns 2 of them, taken back at the cost they left at
  8 May  receive 5 @ 130.00    (650.00)
  9 May  sell 8
"""
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.factories import create_org
from tests.inventory.helpers import move, product, receive, sell
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory import queries, services
from webapp.inventory.models import RETURN_IN, CostLayer, ProductStock
from webapp.ledger.queries import balance_of_role


@pytest.fixture
def org(app, ctx):
    org_id, _ = create_org()
    with tenant(org_id):
        yield org_id


def story(method):
    p = product(costing=method)
    receive(p, 10, "100", on=date(2026, 5, 1))
    receive(p, 10, "120", on=date(2026, 5, 3))
    first = sell(p, 15, on=date(2026, 5, 5))
    unit_back = (first.cost_out / 15).quantize(D("0.000001"))
    move(RETURN_IN, p, 2, cost=unit_back, on=date(2026, 5, 6))
    receive(p, 5, "130", on=date(2026, 5, 8))
    second = sell(p, 8, on=date(2026, 5, 9))
    return p, first.cost_out, unit_back, second.cost_out


def closing(p):
    ps = db.session.scalars(sa.select(ProductStock).where(ProductStock.product_id == p.id)).one()
    return ps.on_hand, ps.value


def test_fifo(org):
    # Sale 1: 10 @ 100 + 5 @ 120 = 1,600.00; back 2 at 106.666667 = 213.33 → a layer of 2 @ 106.666667.
    # Layers before sale 2 (oldest first): 5 @ 120 (600), 2 @ 106.67 (213.33), 5 @ 130 (650).
    # Sale 2 takes 8: 5 @ 120 = 600.00, 2 = 213.33, 1 @ 130 = 130.00 → 943.33.
    # Left: 4 @ 130 = 520.00.  COGS 1,600.00 − 213.33 + 943.33 = 2,330.00.
    p, cogs1, back, cogs2 = story("fifo")
    assert cogs1 == D("1600.00") and back == D("106.666667") and cogs2 == D("943.33")
    assert closing(p) == (D("4"), D("520.00"))
    assert balance_of_role("cogs", date(2026, 5, 31)) == D("2330.00")
    assert balance_of_role("inventory", date(2026, 5, 31)) == D("520.00")


def test_lifo(org):
    # Sale 1 takes the newest first: 10 @ 120 + 5 @ 100 = 1,700.00; back 2 at 113.333333 = 226.67.
    # Layers (newest last): 5 @ 100 (500), 2 @ 113.33 (226.67), 5 @ 130 (650).
    # Sale 2 takes 8 newest first: 5 @ 130 = 650, 2 = 226.67, 1 @ 100 = 100 → 976.67.
    # Left: 4 @ 100 = 400.00.  COGS 1,700.00 − 226.67 + 976.67 = 2,450.00.
    p, cogs1, back, cogs2 = story("lifo")
    assert cogs1 == D("1700.00") and back == D("113.333333") and cogs2 == D("976.67")
    assert closing(p) == (D("4"), D("400.00"))
    assert balance_of_role("cogs", date(2026, 5, 31)) == D("2450.00")
    assert balance_of_role("inventory", date(2026, 5, 31)) == D("400.00")


def test_moving_average(org):
    # After two receipts: 20 units worth 2,200.00 (average 110).
    # Sale 1: 15 × 2,200/20 = 1,650.00 → 5 left worth 550.00.
    # Return 2 at 110.000000 = 220.00 → 7 worth 770.00.
    # Receive 5 @ 130 = 650.00 → 12 worth 1,420.00 (average 118.333…).
    # Sale 2: 8 × 1,420/12 = 946.666… → 946.67 → 4 left worth 473.33.
    # COGS 1,650.00 − 220.00 + 946.67 = 2,376.67.
    p, cogs1, back, cogs2 = story("average")
    assert cogs1 == D("1650.00") and back == D("110") and cogs2 == D("946.67")
    assert closing(p) == (D("4"), D("473.33"))
    assert balance_of_role("cogs", date(2026, 5, 31)) == D("2376.67")
    assert balance_of_role("inventory", date(2026, 5, 31)) == D("473.33")


@pytest.mark.parametrize("method", ["fifo", "lifo", "average"])
def test_valuation_report_equals_inventory_account_on_every_day(org, method):
    p, *_ = story(method)
    for day in range(1, 11):
        as_of = date(2026, 5, day)
        rows, total = queries.valuation(as_of)
        assert total == balance_of_role("inventory", as_of), as_of
    rows, total = queries.valuation(date(2026, 5, 4))
    assert [(r.quantity, r.value) for r in rows] == [(D("20"), D("2200.00"))]
    if method != "average":
        layers = db.session.scalars(sa.select(CostLayer).where(CostLayer.product_id == p.id)).all()
        assert sum(l.remaining_value for l in layers) == closing(p)[1]


def test_selling_the_last_unit_empties_the_value_exactly(org):
    p = product(costing="average")
    receive(p, 3, "10")
    receive(p, 3, "11.11")       # 6 worth 63.33; average 10.555
    sell(p, 1)                   # 10.56 → 52.77
    sell(p, 5)                   # the rest: exactly 52.77, never a stray paisa
    assert closing(p) == (D("0"), D("0.00"))
    assert balance_of_role("inventory", date(2026, 5, 31)) == D("0.00")


def test_negative_stock_is_costed_at_last_cost_and_trued_up(app, org):
    from webapp.inventory.services import set_allow_negative_stock
    from webapp.orgs.queries import current_organization
    set_allow_negative_stock(current_organization(), True)
    p = product(costing="fifo")
    receive(p, 2, "50", on=date(2026, 5, 1))
    sold = sell(p, 5, on=date(2026, 5, 2))
    # 2 @ 50 from stock + 3 charged at the last cost 50 = 250.00; on hand −3.
    assert sold.cost_out == D("250.00")
    assert closing(p) == (D("-3"), D("-150.00"))
    assert services.available(p, services.default_location()) == D("-3")
    # The goods arrive at 60: 3 cover the backlog (true-up 3 × 10 = 30.00 more cost), 1 goes on the shelf.
    receive(p, 4, "60", on=date(2026, 5, 3))
    assert closing(p) == (D("1"), D("60.00"))
    assert balance_of_role("cogs", date(2026, 5, 31)) == D("280.00")
    assert balance_of_role("inventory", date(2026, 5, 31)) == D("60.00")
    rows, total = queries.valuation(date(2026, 5, 31))
    assert total == D("60.00")
    rows, total = queries.valuation(date(2026, 5, 2))
    assert total == balance_of_role("inventory", date(2026, 5, 2)) == D("-150.00")
