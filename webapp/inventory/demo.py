"""Demo data for stock: products (some batch-tracked with expiries), a shop
floor, opening stock, a transfer and a write-off."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import sqlalchemy as sa

from webapp.catalog import services as catalog
from webapp.catalog.models import Product
from webapp.core.clock import today
from webapp.demo import demo_step
from webapp.extensions import db
from webapp.inventory import documents, services
from webapp.inventory.models import Location, StockAdjustmentLine, StockTransferLine
from webapp.ledger.queries import fiscal_year_of

PRODUCTS = [
    # sku, name, unit, category, hsn, tax, price, batches, costing, reorder point, reorder qty, barcode
    ("DOLO-650", "Dolo 650 tablets (strip of 15)", "strip", "Medicines", "30049099", "12", "32.00", True, "fifo", "30", "200", "8906010500112"),
    ("CROCIN-A", "Crocin Advance (strip of 15)", "strip", "Medicines", "30049099", "12", "28.00", True, "fifo", "30", "150", "8901030865278"),
    ("AZI-500", "Azithromycin 500 mg (3 tabs)", "strip", "Medicines", "30042019", "12", "119.00", True, "fifo", "10", "50", "8908001234561"),
    ("ORS-21", "ORS electrolyte sachet 21 g", "pcs", "Medicines", "30049099", "12", "21.00", True, "fifo", "50", "300", "8901234500215"),
    ("DET-125", "Dettol soap 125 g", "pcs", "Personal care", "34011190", "18", "55.00", False, "average", "24", "96", "8901396310012"),
    ("COLG-200", "Colgate toothpaste 200 g", "pcs", "Personal care", "33061020", "18", "118.00", False, "average", "12", "48", "8901314010520"),
    ("HAND-500", "Hand sanitiser 500 ml", "bottle", "Personal care", "38089400", "18", "249.00", False, "fifo", "10", "40", "8904091100500"),
    ("BP-MON", "Digital BP monitor", "pcs", "Devices", "90189011", "12", "1899.00", False, "lifo", "3", "6", "8904261500012"),
    ("MASK-N95", "N95 mask", "pcs", "Devices", "63079090", "5", "45.00", False, "fifo", "100", "500", "8906112233445"),
    ("CONSULT", "Pharmacist consultation", "service", "Services", "999312", "18", "200.00", False, "fifo", None, None, None),
]

OPENING = {  # sku: [(quantity, unit cost, batch, days to expiry)]
    "DOLO-650": [(120, "21.50", "DL24A", 420), (40, "20.80", "DL23K", 25)],
    "CROCIN-A": [(90, "18.40", "CR2402", 300)],
    "AZI-500": [(8, "82.00", "AZ2311", -10), (30, "84.50", "AZ2405", 500)],
    "ORS-21": [(260, "12.10", "OR2406", 200)],
    "DET-125": [(72, "38.00", None, None)],
    "COLG-200": [(10, "86.00", None, None)],
    "HAND-500": [(25, "160.00", None, None)],
    "BP-MON": [(4, "1320.00", None, None)],
    "MASK-N95": [(420, "24.00", None, None)],
}


@demo_step
def inventory_demo(org, user) -> None:
    if db.session.scalar(sa.select(sa.exists().select_from(Product))):
        return
    by_sku = {}
    for sku, name, unit, cat, hsn, tax, price, batches, costing, rp, rq, barcode in PRODUCTS:
        by_sku[sku] = catalog.create_product(
            sku=sku, name=name, unit=unit if unit != "service" else "service", category=cat, hsn_code=hsn,
            tax_rate=tax, sale_price=price, tracks_batches=batches, costing_method=costing, reorder_point=rp,
            reorder_quantity=rq, barcode=barcode, kind="service" if unit == "service" else "stocked", active=True)
    main = services.default_location()
    floor = db.session.scalars(sa.select(Location).where(Location.code == "FLOOR")).first() or \
        services.add_location("FLOOR", "Shop floor", "store")
    start = fiscal_year_of(today())[0]
    opening = documents.create_adjustment(location=main, on=start, kind="opening", memo="Stock on the first day")
    opening.lines = []
    n = 0
    for sku, lots in OPENING.items():
        for qty, cost, batch, days in lots:
            n += 1
            opening.lines.append(StockAdjustmentLine(
                position=n, product_id=by_sku[sku].id, quantity=D(qty), unit_cost=D(cost), batch_number=batch,
                expiry_date=(today() + timedelta(days=days)) if days is not None else None))
    db.session.flush()
    documents.post_adjustment(opening)
    move = documents.create_transfer(from_location=main, to_location=floor, on=today() - timedelta(days=3),
                                     memo="Refill the shelves")
    move.lines = [StockTransferLine(position=1, product_id=by_sku["DOLO-650"].id, quantity=D(30)),
                  StockTransferLine(position=2, product_id=by_sku["DET-125"].id, quantity=D(24)),
                  StockTransferLine(position=3, product_id=by_sku["MASK-N95"].id, quantity=D(100))]
    db.session.flush()
    documents.post_transfer(move)
    wo = documents.create_adjustment(location=main, on=today() - timedelta(days=1), kind="write_off",
                                     reason="expiry", memo="Expired azithromycin returned to the bin")
    expired = services.batch_for(by_sku["AZI-500"], "AZ2311")
    wo.lines = [StockAdjustmentLine(position=1, product_id=by_sku["AZI-500"].id, quantity=D(-8),
                                    batch_number=expired.number)]
    db.session.flush()
    documents.post_adjustment(wo)
