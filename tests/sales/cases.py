"""Rows of a given organization for every sales and party route that takes an id."""

from tests.inventory.helpers import product
from tests.route_cases import case
from tests.sales.helpers import customer, invoice
from webapp.core import imports
from webapp.parties.services import PARTY_IMPORTER


@case("parties.customer", "parties.edit_customer")
def a_customer(org_id, owner_id):
    return {"party_id": customer().id}


@case("parties.supplier", "parties.edit_supplier")
def a_supplier(org_id, owner_id):
    return {"party_id": customer(is_supplier=True, is_customer=False).id}


@case("parties.import_customers_preview", "parties.import_suppliers_preview")
def a_party_import(org_id, owner_id):
    return {"batch_id": imports.start(PARTY_IMPORTER, "c.csv", b"code,name\nC9,Someone\n").id}


@case("sales.document", "sales.header", "sales.add_line", "sales.delete", "sales.post", "sales.confirm",
      "sales.cancel", "sales.withdraw", "sales.convert", "sales.print_view", "sales.pdf", "sales.quick",
      "sales.quick_checkout", "sales.quick_done")
def a_draft_invoice(org_id, owner_id):
    return {"doc_id": invoice(customer(), (product(), 1)).id}


@case("sales.update_line", "sales.remove_line", "sales.quick_quantity")
def a_line(org_id, owner_id):
    doc = invoice(customer(), (product(), 1))
    return {"doc_id": doc.id, "line_id": doc.lines[0].id}
