from datetime import date
from decimal import Decimal as D

from tests.sales.helpers import customer
from webapp.core.trade import LineValues
from webapp.purchases import services


def supplier(name=None, **kw):
    kw.setdefault("is_supplier", True)
    kw.setdefault("is_customer", False)
    return customer(name, **kw)


def order(supp, *lines, on=date(2026, 5, 1), send=True):
    doc = services.create_document("order", on=on, supplier=supp)
    for i, (product, qty, price, *rest) in enumerate(lines):
        line = doc.lines[0] if i == 0 else services.add_line(doc, None)
        services.update_line(doc, line, LineValues(product, None, D(str(qty)), D(str(price)), None, None,
                                                   D(str(rest[0])) if rest else product.tax_rate))
        services.update_line(doc, line, LineValues(product, None, D(str(qty)), D(str(price)), None, None,
                                                   D(str(rest[0])) if rest else product.tax_rate))
    if send:
        services.send_order(doc)
    return doc


def receive(order_doc, location, *quantities, on=date(2026, 5, 5), batches=()):
    """quantities per order line (None = skip); batches: (number, expiry) per line."""
    r = services.create_receipt(on=on, location=location, order=order_doc)
    for i, line in enumerate(list(r.lines)):
        qty = quantities[i] if i < len(quantities) else None
        if qty is None:
            services.remove_receipt_line(r, line, None)
            continue
        number, expiry = batches[i] if i < len(batches) else (None, None)
        services.update_receipt_line(r, line, product=line.product, quantity=D(str(qty)), unit_cost=line.unit_cost,
                                     batch_number=number, expiry=expiry, mrp=None, version=None)
    services.post_receipt(r)
    return r
