"""Rows of a given organization for every purchasing route that takes an id."""
from datetime import date

from tests.inventory.helpers import product
from tests.purchases.helpers import order, supplier
from tests.route_cases import EXEMPT, EXEMPT_ARGS, case
from webapp.inventory.services import default_location
from webapp.purchases import services

EXEMPT["purchases.new_document"] = "a kind of document (order, bill), not a record"
EXEMPT_ARGS["purchases.new_document"] = {"doc_type": "order"}


def _draft_order():
    return order(supplier(), (product(), 2, "10.00"), send=False)


@case("purchases.document", "purchases.header", "purchases.add_line", "purchases.delete", "purchases.send",
      "purchases.post", "purchases.cancel", "purchases.make_bill", "purchases.pdf", "purchases.attach")
def a_draft_order(org_id, owner_id):
    return {"doc_id": _draft_order().id}


@case("purchases.update_line", "purchases.remove_line")
def an_order_line(org_id, owner_id):
    doc = _draft_order()
    return {"doc_id": doc.id, "line_id": doc.lines[0].id}


@case("purchases.attachment")
def an_attachment(org_id, owner_id):
    doc = _draft_order()
    return {"attachment_id": services.attach("purchase", doc.id, "bill.pdf", b"%PDF-1.4\n%%EOF\n").id}


def _draft_receipt():
    doc = order(supplier(), (product(), 2, "10.00"))
    return services.create_receipt(on=date(2026, 5, 5), location=default_location(), order=doc)


@case("purchases.receipt", "purchases.scan", "purchases.add_receipt_line", "purchases.post_receipt",
      "purchases.bill_receipt")
def a_receipt(org_id, owner_id):
    return {"receipt_id": _draft_receipt().id}


@case("purchases.update_receipt_line", "purchases.remove_receipt_line")
def a_receipt_line(org_id, owner_id):
    r = _draft_receipt()
    return {"receipt_id": r.id, "line_id": r.lines[0].id}
