"""Quick sale at the counter, made for a phone: scan or pick, adjust, take cash, done."""
from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, request, url_for

from webapp.catalog.models import Product
from webapp.core.clock import today
from webapp.core.errors import DomainError
from webapp.core.htmx import render
from webapp.core.money import MoneyError, format_amount, parse_amount
from webapp.core.permissions import requires
from webapp.core.tenancy import get_or_404
from webapp.core.trade import LineValues
from webapp.inventory.queries import find_by_code
from webapp.parties.models import Party
from webapp.parties.services import walk_in_customer
from webapp.sales import bp, services
from webapp.sales.forms import CheckoutForm
from webapp.sales.models import DRAFT, INVOICE, SalesDocument, SalesLine


def _cart(doc_id) -> SalesDocument | None:
    if not doc_id:
        return None
    doc = get_or_404(SalesDocument, doc_id)
    if doc.doc_type != INVOICE:
        abort(404)
    return doc


def _page(doc, error=None, status=200):
    return render("sales/quick.html", "cart", doc=doc, error=error, walk_in=walk_in_customer(),
                  checkout=CheckoutForm(), status=status)


@bp.route("/quick")
@requires("sales.edit")
def quick():
    """The counter: a big scan box, the cart, the cash."""
    doc = _cart(request.args.get("doc", type=int))
    if doc is not None and doc.status != DRAFT:
        return redirect(url_for("sales.quick_done", doc_id=doc.id))
    return _page(doc)


@bp.route("/quick/scan", methods=["POST"])
@requires("sales.edit")
def quick_scan():
    """Add one of a product, found by barcode/SKU or chosen in the picker."""
    doc = _cart(request.form.get("doc_id", type=int))
    code = (request.form.get("code") or "").strip()
    product_id = request.form.get("product_id", type=int)
    product = get_or_404(Product, product_id) if product_id else find_by_code(code)
    if product is None:
        return _page(doc, DomainError(f"No product has the code {code}." if code else "Scan or choose a product."), 422)
    try:
        if doc is None:
            doc = services.create_document(INVOICE, on=today(), customer=walk_in_customer())
        services.add_product(doc, product)
    except DomainError as exc:
        return _page(doc, exc, exc.status_code)
    if not request.headers.get("HX-Request"):
        return redirect(url_for("sales.quick", doc=doc.id), 303)
    return _page(doc)


@bp.route("/quick/<int:doc_id>/lines/<int:line_id>", methods=["POST"])
@requires("sales.edit")
def quick_quantity(doc_id: int, line_id: int):
    """Change a quantity (0 takes the line off)."""
    doc = _cart(doc_id)
    line = get_or_404(SalesLine, line_id)
    if line.document_id != doc.id:
        abort(404)
    try:
        qty = parse_amount(request.form.get("quantity") or "0", places=3)
        if qty == 0:
            services.remove_line(doc, line, None)
        else:
            services.update_line(doc, line, LineValues(line.product, line.description, qty, line.unit_price,
                                                       line.discount_percent, line.discount_amount, line.tax_rate))
    except MoneyError as exc:
        return _page(doc, DomainError(str(exc)), 422)
    except DomainError as exc:
        return _page(doc, exc, exc.status_code)
    return _page(doc)


@bp.route("/quick/<int:doc_id>/checkout", methods=["POST"])
@requires("sales.post")
def quick_checkout(doc_id: int):
    """Post the sale and take the cash; a second tap shows the same sale."""
    doc = _cart(doc_id)
    form = CheckoutForm()
    if not form.validate_on_submit():
        return _page(doc, DomainError(next(iter(form.errors.values()))[0]), 422)
    customer = get_or_404(Party, form.customer_id.data) if form.customer_id.data else walk_in_customer()
    try:
        change = services.checkout(doc, customer=customer, cash=form.cash.data or Decimal(0))
    except services.AlreadyPosted:
        return redirect(url_for("sales.quick_done", doc_id=doc.id), 303)
    except DomainError as exc:
        return _page(doc, exc, exc.status_code)
    flash(f"Change to give: {format_amount(change, doc.currency, symbol=True)}" if change else "No change due.",
          "success")
    if request.headers.get("HX-Request"):
        from webapp.core.htmx import redirect as hx_redirect
        return hx_redirect(url_for("sales.quick_done", doc_id=doc.id))
    return redirect(url_for("sales.quick_done", doc_id=doc.id), 303)


@bp.route("/quick/<int:doc_id>/done")
@requires("sales.edit")
def quick_done(doc_id: int):
    """The receipt of a finished sale, and the button for the next one."""
    doc = _cart(doc_id)
    return render("sales/quick_done.html", doc=doc)
