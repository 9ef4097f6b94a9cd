"""Shop-floor stock lookup, locations, stock reports, stock settings."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, g, redirect, request, url_for

from webapp.catalog.models import Product
from webapp.core import jobs
from webapp.core.clock import today
from webapp.core.errors import DomainError
from webapp.core.forms import form_error, status_for
from webapp.core.htmx import render
from webapp.core.permissions import requires
from webapp.core.tenancy import get_or_404
from webapp.inventory import bp, queries, services
from webapp.inventory.forms import LocationEditForm, LocationForm, SettingsForm
from webapp.inventory.models import Location
from webapp.ledger.queries import balance_of_role
from webapp.reports.routes import PeriodForm


@bp.route("/lookup")
@requires("catalog.view")
def lookup():
    """One big search box: name, SKU, barcode or batch. Typing searches as you go;
    Enter (what a barcode scanner sends after the digits) on an exact barcode or
    SKU jumps straight to the product."""
    q = request.args.get("q", "")[:60]
    if q and not request.headers.get("HX-Request"):
        product = queries.find_by_code(q)
        if product is not None:
            return redirect(url_for("catalog.detail", product_id=product.id), 303)
    return render("inventory/lookup.html", "results", q=q, hits=queries.lookup(q))


@bp.route("/locations")
@requires("catalog.view")
def locations():
    """Where stock is kept."""
    return render("inventory/locations.html", locations=queries.locations(active_only=False), form=LocationForm())


@bp.route("/locations/new", methods=["POST"])
@requires("inventory.locations")
def new_location():
    """Add a location."""
    form = LocationForm()
    if form.validate_on_submit():
        try:
            loc = services.add_location(form.code.data, form.name.data, form.kind.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{loc.name} added.", "success")
            return redirect(url_for("inventory.locations"), 303)
    return render("inventory/locations.html", locations=queries.locations(active_only=False), form=form,
                  status=422)


@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
@requires("inventory.locations")
def edit_location(location_id: int):
    """Rename, deactivate or make a location the default."""
    loc = get_or_404(Location, location_id)
    form = LocationEditForm(obj=loc)
    if form.validate_on_submit():
        try:
            services.update_location(loc, name=form.name.data, active=form.active.data,
                                     is_default=form.is_default.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{loc.name} saved.", "success")
            return redirect(url_for("inventory.locations"), 303)
    return render("inventory/location_form.html", form=form, location=loc, status=status_for(form))


@bp.route("/settings", methods=["GET", "POST"])
@requires("org.settings")
def settings():
    """Stock settings: negative stock, receiving more than ordered."""
    from webapp.purchases.services import set_allow_over_receipt
    form = SettingsForm(allow_negative_stock=g.org.allow_negative_stock, allow_over_receipt=g.org.allow_over_receipt)
    if form.validate_on_submit():
        services.set_allow_negative_stock(g.org, form.allow_negative_stock.data)
        set_allow_over_receipt(g.org, form.allow_over_receipt.data)
        flash("Stock settings saved.", "success")
        return redirect(url_for("inventory.settings"), 303)
    return render("inventory/settings.html", form=form)


# ---------------------------------------------------------------- reports

@bp.route("/reports")
@requires("inventory.reports")
def reports():
    """Stock reports."""
    return render("inventory/reports/index.html")


@bp.route("/reports/valuation")
@requires("inventory.reports")
def valuation_report():
    """Stock on hand and its value at the end of any day."""
    form = PeriodForm(request.args)
    form.validate()
    as_of = form.date_to.data or today()
    category = request.args.get("category", "")[:80] or None
    page = queries.valuation_page(as_of, category=category, page=request.args.get("page", 1, type=int) or 1)
    # The inventory account beside the report's total: they must agree. The page lists 100
    # products at a time; the totals are the whole report's, and the downloads have every row.
    return render("inventory/reports/valuation.html", report=page, rows=page.rows, total=page.total, as_of=as_of,
                  form=form, category=category, categories=queries.categories(),
                  inventory_account=None if category else balance_of_role("inventory", as_of))


@bp.route("/reports/movements")
@requires("inventory.reports")
def movement_report():
    """One product's movements over a period, with the running quantity."""
    form = PeriodForm(request.args)
    form.validate()
    product_id = request.args.get("product_id", type=int)
    product = get_or_404(Product, product_id) if product_id else None
    d_to = form.date_to.data or today()
    d_from = form.date_from.data or (d_to - timedelta(days=90))
    opening, rows = queries.movements(product, d_from, d_to, limit=1000) if product else (0, [])
    return render("inventory/reports/movements.html", product=product, rows=rows, opening=opening,
                  date_from=d_from, date_to=d_to, form=form)


@bp.route("/reports/reorder")
@requires("inventory.reports")
def reorder_report():
    """Products at or below their reorder point, with a suggested quantity."""
    from webapp.purchases.queries import on_order
    rows = queries.reorder()
    return render("inventory/reports/reorder.html", rows=rows, on_order=on_order(r.product.id for r in rows))


@bp.route("/reports/expiring")
@requires("inventory.reports")
def expiring_report():
    """Batches that expire within N days."""
    days = max(0, min(request.args.get("days", 30, type=int) or 0, 3650))
    return render("inventory/reports/expiring.html", rows=queries.expiring(days, today()), days=days)


STOCK_REPORTS = {"valuation": "Stock valuation", "reorder": "Reorder", "expiring": "Expiring batches",
                 "movements": "Movement history"}


@bp.route("/reports/export", methods=["POST"])
@requires("inventory.reports")
def export_report():
    """Start the CSV or XLSX download of a stock report (a job)."""
    report, fmt = request.form.get("report"), request.form.get("format")
    if report not in STOCK_REPORTS or fmt not in ("csv", "xlsx"):
        abort(400)
    params = {"report": report, "format": fmt, "as_of": request.form.get("as_of") or today().isoformat(),
              "days": request.form.get("days", "30"), "category": request.form.get("category") or "",
              "product_id": request.form.get("product_id") or "", "date_from": request.form.get("date_from") or "",
              "date_to": request.form.get("date_to") or ""}
    if report == "movements":
        params["product_id"] = get_or_404(Product, request.form.get("product_id", type=int)).id
    from webapp.inventory.jobs import data_version
    job = jobs.enqueue("stock_report", params, title=f"{STOCK_REPORTS[report]} ({fmt.upper()})",
                       key=f"{sorted(params.items())}:{data_version()}")
    return render("jobs/_progress.html", job=job)
