"""Goods receipts: against an order or standalone; made for receiving on a phone."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from webapp.catalog.models import Product
from webapp.core.clock import today
from webapp.core.errors import DomainError
from webapp.core.forms import form_error
from webapp.core.htmx import render, render_fragment
from webapp.core.permissions import requires
from webapp.core.tenancy import get_or_404
from webapp.inventory.queries import find_by_code, locations
from webapp.inventory.services import default_location
from webapp.inventory.models import Location
from webapp.parties.models import Party
from webapp.purchases import bp, queries, services
from webapp.purchases.forms import ReceiptLineForm, VersionForm
from webapp.purchases.models import GoodsReceipt, GoodsReceiptLine, PurchaseDocument


@bp.route("/receipts")
@requires("purchases.view")
def receipts():
    """Goods receipts."""
    q, page = request.args.get("q", "")[:60], request.args.get("page", 1, type=int) or 1
    rows, more = queries.receipts(q, page)
    open_orders, _ = queries.documents("order", "sent")
    partly, _ = queries.documents("order", "partly_received")
    return render("purchases/receipts/index.html", "results", receipts=rows, more=more, q=q, page=page,
                  open_orders=partly + open_orders, locations=locations())


@bp.route("/receipts/new", methods=["POST"])
@requires("purchases.receive")
def new_receipt():
    """Start receiving: against an order (its lines come in) or from a supplier."""
    order_id = request.form.get("order_id", type=int)
    supplier_id = request.form.get("supplier_id", type=int)
    location_id = request.form.get("location_id", type=int)
    try:
        receipt = services.create_receipt(
            on=today(), location=get_or_404(Location, location_id) if location_id else default_location(),
            order=get_or_404(PurchaseDocument, order_id) if order_id else None,
            supplier=get_or_404(Party, supplier_id) if supplier_id else None)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("purchases.receipts"), 303)
    return redirect(url_for("purchases.receipt", receipt_id=receipt.id), 303)


@bp.route("/receipts/<int:receipt_id>")
@requires("purchases.view")
def receipt(receipt_id: int):
    """A goods receipt: scan, type quantities, batches and expiry dates, post."""
    return render("purchases/receipts/detail.html", r=get_or_404(GoodsReceipt, receipt_id))


def _order(r, line=None, to_top=False) -> list[GoodsReceiptLine]:
    """The lines in the order the screen shows them (`order`, sent with every request), so that an
    answer never shuffles them: a save that was queued behind a scan comes back with the scanned
    line still on top. A line the screen did not have yet (just added or scanned in) comes first,
    and so does a line scanned again (`to_top`)."""
    by_id = {l.id: l for l in r.lines}
    shown = []
    for part in (request.form.get("order") or "").split(",")[:1000]:
        found = by_id.pop(int(part), None) if part.strip().isdigit() and len(part.strip()) < 19 else None
        if found is not None:
            shown.append(found)
    lines = list(by_id.values()) + shown   # the new ones first, in the receipt's order
    if to_top and line is not None and line in lines:
        lines.remove(line)
        lines.insert(0, line)
    return lines


def _lines_fragment(r, line=None, form=None, error=None, status=200, scanned=False, to_top=False):
    return render_fragment("purchases/receipts/detail.html", "receipt_lines", status=status, r=r, line_form=form,
                           form_line=line, error=error, scanned=scanned, lines=_order(r, line, to_top))


@bp.route("/receipts/<int:receipt_id>/scan", methods=["POST"])
@requires("purchases.receive")
def scan(receipt_id: int):
    """A scanned (or typed) barcode or SKU: its line comes to the top of the list, ready to fill in."""
    r = get_or_404(GoodsReceipt, receipt_id)
    code = (request.form.get("code") or "").strip()
    product = find_by_code(code)
    if product is None:
        return _lines_fragment(r, error=DomainError(f"No product has the code {code}." if code else "Scan a product."),
                               status=422)
    try:
        line = services.scan_into_receipt(r, product, request.form.get("version", type=int))
    except DomainError as exc:
        return _lines_fragment(r, error=exc, status=exc.status_code)
    return _lines_fragment(r, line, scanned=True, to_top=True)


@bp.route("/receipts/<int:receipt_id>/lines", methods=["POST"])
@requires("purchases.receive")
def add_receipt_line(receipt_id: int):
    """Add an empty line (for a second batch of the same product, say)."""
    r = get_or_404(GoodsReceipt, receipt_id)
    try:
        line = services.add_receipt_line(r, request.form.get("version", type=int))
    except DomainError as exc:
        return _lines_fragment(r, error=exc, status=exc.status_code)
    return _lines_fragment(r, line, to_top=True)


@bp.route("/receipts/<int:receipt_id>/lines/<int:line_id>", methods=["POST"])
@requires("purchases.receive")
def update_receipt_line(receipt_id: int, line_id: int):
    """Save one line: quantity, cost, batch, expiry, MRP."""
    r = get_or_404(GoodsReceipt, receipt_id)
    line = get_or_404(GoodsReceiptLine, line_id)
    if line.receipt_id != r.id:
        abort(404)
    form = ReceiptLineForm()
    if not form.validate():
        return _lines_fragment(r, line, form, status=422)
    product = get_or_404(Product, form.product_id.data) if form.product_id.data else None
    try:
        services.update_receipt_line(r, line, product=product, quantity=form.quantity.data,
                                     unit_cost=form.unit_cost.data, batch_number=form.batch_number.data,
                                     expiry=form.expiry_date.data, mrp=form.mrp.data, version=form.version.data)
    except DomainError as exc:
        form_error(form, exc)
        return _lines_fragment(r, line, form, exc if exc.status_code == 409 else None, exc.status_code)
    return _lines_fragment(r, line)


@bp.route("/receipts/<int:receipt_id>/lines/<int:line_id>/remove", methods=["POST"])
@requires("purchases.receive")
def remove_receipt_line(receipt_id: int, line_id: int):
    """Remove a line."""
    r = get_or_404(GoodsReceipt, receipt_id)
    line = get_or_404(GoodsReceiptLine, line_id)
    if line.receipt_id != r.id:
        abort(404)
    try:
        services.remove_receipt_line(r, line, request.form.get("version", type=int))
    except DomainError as exc:
        return _lines_fragment(r, error=exc, status=exc.status_code)
    return _lines_fragment(r)


@bp.route("/receipts/<int:receipt_id>/post", methods=["POST"])
@requires("purchases.receive")
def post_receipt(receipt_id: int):
    """Post: the stock comes in, valued at the receiving cost."""
    r = get_or_404(GoodsReceipt, receipt_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.post_receipt(r, form.version.data)
    except services.AlreadyDone as exc:
        flash(exc.message, "info")
    except DomainError as exc:
        return render("purchases/receipts/detail.html", r=r, error=exc, status=exc.status_code)
    else:
        flash(f"Received as {r.number}.", "success")
    return redirect(url_for("purchases.receipt", receipt_id=r.id), 303)


@bp.route("/receipts/<int:receipt_id>/bill", methods=["POST"])
@requires("purchases.bill")
def bill_receipt(receipt_id: int):
    """A draft bill for this receipt's unbilled lines."""
    r = get_or_404(GoodsReceipt, receipt_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        bill = services.bill_from(receipt=r, on=today())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("purchases.receipt", receipt_id=r.id), 303)
    return redirect(url_for("purchases.document", doc_id=bill.id), 303)
