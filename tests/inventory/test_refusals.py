"""Refused, with a message and nothing written."""
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.factories import create_org
from tests.inventory.helpers import product, receive, sell
from webapp.core.audit import AuditLog
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory import services
from webapp.inventory.models import ISSUE, RECEIPT, ProductStock, StockBalance, StockMove
from webapp.inventory.services import MoveSpec
from webapp.ledger.models import JournalEntry


def snapshot():
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(t))
                 for t in (StockMove, StockBalance, JournalEntry)) + (
        db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockBalance.quantity), 0))),)


@pytest.fixture
def org(app, ctx):
    org_id, _ = create_org()
    with tenant(org_id):
        yield org_id


@pytest.mark.parametrize("quantity", ["0", "-1", "0.0001", "1e20"])
def test_zero_negative_or_silly_quantities(org, quantity):
    p = product()
    before = snapshot()
    with pytest.raises(DomainError):
        services.apply([MoveSpec(RECEIPT, p, D(quantity), to_location=services.default_location(), unit_cost=D(1))],
                       on=date(2026, 5, 1), source_type="test")
    assert snapshot() == before


def test_insufficient_stock_on_a_later_line_leaves_nothing(org):
    a, b = product(), product()
    receive(a, 5, "10")
    receive(b, 1, "10")
    before = snapshot()
    loc = services.default_location()
    with pytest.raises(DomainError, match="only 1 pcs"):
        services.apply([MoveSpec(ISSUE, a, D(3), from_location=loc), MoveSpec(ISSUE, b, D(2), from_location=loc)],
                       on=date(2026, 5, 2), source_type="test")
    assert snapshot() == before
    ps = db.session.scalars(sa.select(ProductStock).where(ProductStock.product_id == a.id)).one()
    assert ps.pool_quantity == D(5)


def test_two_lines_of_one_product_are_judged_on_their_sum(org):
    """The lines' takes go to the database together; the second line finds what the first left."""
    a = product()
    receive(a, 5, "10")
    loc = services.default_location()
    before = snapshot()
    with pytest.raises(DomainError, match=r"only 2 pcs of .*; you asked for 3\."):
        services.apply([MoveSpec(ISSUE, a, D(3), from_location=loc), MoveSpec(ISSUE, a, D(3), from_location=loc)],
                       on=date(2026, 5, 2), source_type="test")
    assert snapshot() == before
    services.apply([MoveSpec(ISSUE, a, D(3), from_location=loc), MoveSpec(ISSUE, a, D(2), from_location=loc)],
                   on=date(2026, 5, 2), source_type="test")
    assert services.available(a, loc) == D(0)


def test_the_first_short_line_is_named(org):
    a, b = product(), product()
    receive(a, 1, "10")
    receive(b, 1, "10")
    loc = services.default_location()
    with pytest.raises(DomainError, match=f"of {a.name} in"):
        services.apply([MoveSpec(ISSUE, b, D(1), from_location=loc), MoveSpec(ISSUE, a, D(4), from_location=loc),
                        MoveSpec(ISSUE, b, D(6), from_location=loc)], on=date(2026, 5, 2), source_type="test")


def test_stock_going_out_before_stock_comes_in_is_taken_first(org):
    """Lines are taken in order: an issue before a receipt of the same product cannot use it."""
    a = product()
    receive(a, 1, "10")
    loc = services.default_location()
    before = snapshot()
    with pytest.raises(DomainError, match="only 1 pcs"):
        services.apply([MoveSpec(ISSUE, a, D(2), from_location=loc),
                        MoveSpec(RECEIPT, a, D(5), to_location=loc, unit_cost=D(10))],
                       on=date(2026, 5, 2), source_type="test")
    assert snapshot() == before
    services.apply([MoveSpec(RECEIPT, a, D(5), to_location=loc, unit_cost=D(10)),
                    MoveSpec(ISSUE, a, D(2), from_location=loc)], on=date(2026, 5, 2), source_type="test")
    assert services.available(a, loc) == D(4)


def test_a_service_has_no_stock(org):
    s = product(kind="service", tracks_batches=False)
    with pytest.raises(DomainError, match="service"):
        receive(s, 1, "1")


def test_another_organizations_product_or_location_is_refused(app, org):
    p = product()
    other_id, _ = create_org()
    with tenant(other_id):
        foreign_loc = services.default_location()
    with tenant(org):
        before = snapshot()
        with pytest.raises(Exception):
            receive(p, 1, "1", dst=foreign_loc)
        db.session.rollback()
        assert snapshot() == before


def test_expired_batch_needs_an_override_which_is_audited(org):
    p = product(batches=True)
    old = services.batch_for(p, "B-OLD", date(2026, 4, 30))
    new = services.batch_for(p, "B-NEW", date(2027, 1, 31))
    receive(p, 3, "10", batch=old, on=date(2026, 4, 1))
    receive(p, 3, "10", batch=new, on=date(2026, 4, 1))
    before = snapshot()
    with pytest.raises(DomainError, match="expired on 30 Apr 2026"):
        sell(p, 1, batch=old, on=date(2026, 5, 2))
    assert snapshot() == before
    # First-expiry-first-out skips the expired batch.
    r = sell(p, 2, on=date(2026, 5, 2))
    assert [m.batch_id for m in r.moves] == [new.id]
    with pytest.raises(DomainError, match="expired batches, which need an owner"):
        sell(p, 3, on=date(2026, 5, 2))
    sell(p, 1, batch=old, on=date(2026, 5, 2), allow_expired=True)
    events = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "inventory.expired_batch_override")).all()
    assert len(events) == 1 and events[0].record_id == old.id


def test_two_lines_of_one_batch_tracked_product_take_batches_in_turn(org):
    """The second line picks its batches after the first line's take (first expiry first)."""
    p = product(batches=True)
    soon = services.batch_for(p, "B-SOON", date(2026, 8, 31))
    later = services.batch_for(p, "B-LATER", date(2027, 1, 31))
    receive(p, 3, "10", batch=soon, on=date(2026, 4, 1))
    receive(p, 5, "10", batch=later, on=date(2026, 4, 1))
    loc = services.default_location()
    r = services.apply([MoveSpec(ISSUE, p, D(2), from_location=loc), MoveSpec(ISSUE, p, D(3), from_location=loc)],
                       on=date(2026, 5, 2), source_type="test")
    assert [(m.batch_id, m.quantity) for m in r.moves] == [(soon.id, D(2)), (soon.id, D(1)), (later.id, D(2))]
    assert (services.available(p, loc, soon), services.available(p, loc, later)) == (D(0), D(3))
    before = snapshot()
    with pytest.raises(DomainError, match="only 2 pcs"):     # 3 on hand, less the first line's 1
        services.apply([MoveSpec(ISSUE, p, D(1), from_location=loc), MoveSpec(ISSUE, p, D(3), from_location=loc)],
                       on=date(2026, 5, 2), source_type="test")
    assert snapshot() == before


def test_a_batch_tracked_receipt_needs_a_batch(org):
    p = product(batches=True)
    with pytest.raises(DomainError, match="tracked by batch"):
        receive(p, 1, "1")


def test_locked_period_refuses_stock_moves(org):
    from webapp.ledger.services import set_lock_date
    from webapp.orgs.queries import current_organization
    p = product()
    receive(p, 5, "10", on=date(2026, 5, 1))
    set_lock_date(current_organization(), date(2026, 5, 31))
    before = snapshot()
    with pytest.raises(DomainError, match="locked"):
        sell(p, 1, on=date(2026, 5, 15))
    assert snapshot() == before


def test_costing_method_is_fixed_once_moved(org):
    from webapp.catalog import services as catalog
    p = product(costing="fifo")
    receive(p, 1, "1")
    values = {k: getattr(p, k) for k in ("sku", "name", "barcode", "unit", "category", "hsn_code", "tax_rate",
                                        "sale_price", "kind", "tracks_batches", "reorder_point",
                                        "reorder_quantity", "active", "description")}
    with pytest.raises(DomainError, match="costing method cannot change"):
        catalog.update_product(p, None, **dict(values, costing_method="average"))


def test_a_unit_cost_of_more_than_six_places_is_refused(org):
    p = product()
    before = snapshot()
    with pytest.raises(DomainError, match="6 decimal places") as refused:
        receive(p, 1, "1.0000001")
    assert refused.value.field == "unit_cost"
    db.session.rollback()
    assert snapshot() == before


def test_a_figure_left_below_zero_can_come_back_after_negative_stock_is_turned_off(org):
    """Negative stock was allowed, a sale took the figure to −5, then the owner turned it off: the
    figure may come back up (a receipt, a count, a return), while taking more out is refused."""
    from webapp.orgs.queries import current_organization
    p = product(costing="fifo")
    services.set_allow_negative_stock(current_organization(), True)
    sell(p, 5, on=date(2026, 5, 1))
    services.set_allow_negative_stock(current_organization(), False)
    db.session.commit()
    receive(p, 3, "4", on=date(2026, 5, 2))
    db.session.commit()
    assert services.available(p, services.default_location()) == D(-2)
    with pytest.raises(DomainError, match="Insufficient stock"):
        sell(p, 1, on=date(2026, 5, 3))
    db.session.rollback()
    receive(p, 4, "4", on=date(2026, 5, 3))
    sell(p, 2, on=date(2026, 5, 3))
    db.session.commit()
    assert services.available(p, services.default_location()) == D(0)
