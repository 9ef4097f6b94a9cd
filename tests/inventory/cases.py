"""Rows of a given organization for every inventory and catalog route that takes an id."""
from datetime import date

from tests.inventory.helpers import product, receive
from tests.route_cases import case
from webapp.core import imports
from webapp.catalog.services import PRODUCT_IMPORTER
from webapp.inventory import documents, services


@case("catalog.edit", "catalog.detail")
def a_product(org_id, owner_id):
    return {"product_id": product().id}


@case("catalog.import_preview")
def an_import(org_id, owner_id):
    batch = imports.start(PRODUCT_IMPORTER, "p.csv", b"sku,name\nX1,Thing\n")
    return {"batch_id": batch.id}


@case("inventory.edit_location")
def a_location(org_id, owner_id):
    return {"location_id": services.add_location(f"L{org_id}{owner_id}", "Back room").id}


def _adjustment():
    return documents.create_adjustment(location=services.default_location(), on=date(2026, 5, 1))


@case("inventory.adjustment", "inventory.adjustment_header", "inventory.add_adjustment_line",
      "inventory.post_adjustment", "inventory.cancel_adjustment")
def an_adjustment(org_id, owner_id):
    return {"adjustment_id": _adjustment().id}


@case("inventory.update_adjustment_line", "inventory.remove_adjustment_line")
def an_adjustment_line(org_id, owner_id):
    adj = _adjustment()
    return {"adjustment_id": adj.id, "line_id": adj.lines[0].id}


def _transfer():
    other = services.add_location(f"T{next(_seq)}", "Shop floor", "store")
    return documents.create_transfer(from_location=services.default_location(), to_location=other,
                                     on=date(2026, 5, 1))


import itertools  # noqa: E402
_seq = itertools.count(1)


@case("inventory.transfer", "inventory.add_transfer_line", "inventory.post_transfer", "inventory.cancel_transfer")
def a_transfer(org_id, owner_id):
    return {"transfer_id": _transfer().id}


@case("inventory.update_transfer_line", "inventory.remove_transfer_line")
def a_transfer_line(org_id, owner_id):
    t = _transfer()
    return {"transfer_id": t.id, "line_id": t.lines[0].id}


def _stocktake():
    p = product()
    receive(p, 5, 10)
    return documents.create_stocktake(location=services.default_location(), on=date(2026, 5, 2))


@case("inventory.stocktake", "inventory.add_stocktake_product", "inventory.stocktake_sheet",
      "inventory.upload_counts", "inventory.finish_stocktake")
def a_stocktake(org_id, owner_id):
    return {"stocktake_id": _stocktake().id}


@case("inventory.count_line")
def a_count_line(org_id, owner_id):
    st = _stocktake()
    return {"stocktake_id": st.id, "line_id": st.lines[0].id}
