"""Products: list with live search, add, edit, detail, import, export."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from webapp.catalog import bp, queries, services
from webapp.catalog.forms import ConfirmForm, ImportForm, ProductForm
from webapp.catalog.models import Product
from webapp.core import imports, jobs
from webapp.core.clock import today
from webapp.core.errors import DomainError
from webapp.core.forms import form_error, status_for
from webapp.core.htmx import render
from webapp.audit.queries import latest_id
from webapp.core.imports import ImportBatch
from webapp.core.permissions import requires
from webapp.core.tenancy import get_or_404
from webapp.inventory import queries as stock


def _filter() -> queries.ProductFilter:
    a = request.args
    return queries.ProductFilter(q=a.get("q", "")[:60], category=a.get("category", "")[:80],
                                 kind=a.get("kind", ""), status=a.get("status", "active"),
                                 page=a.get("page", 1, type=int) or 1)


def _with_suppliers(form: ProductForm) -> ProductForm:
    from webapp.parties.queries import search as search_parties
    form.preferred_supplier_id.choices = {"": "None", **{str(p.id): p.name for p in search_parties("", kind="supplier",
                                                                                                 limit=500)}}
    return form


@bp.route("/")
@requires("catalog.view")
def index():
    """Products with search as you type, filters and pages."""
    f = _filter()
    rows, more = queries.products(f)
    on_hand = stock.on_hand_by_product([p.id for p in rows if p.stocked])
    return render("catalog/index.html", "results", products=rows, more=more, f=f, on_hand=on_hand,
                  categories=stock.categories())


@bp.route("/search")
@requires("catalog.view")
def search():
    """Options for product pickers (combobox)."""
    q = request.args.get("q", "")
    stocked = request.args.get("stocked") == "1"
    rows = queries.search_for_picker(q, stocked_only=stocked)
    return render("catalog/_options.html", products=rows,
                  on_hand=stock.on_hand_by_product([p.id for p in rows if p.stocked]))


@bp.route("/new", methods=["GET", "POST"])
@requires("catalog.manage")
def new():
    """Add a product or a service."""
    form = _with_suppliers(ProductForm())
    if form.validate_on_submit():
        try:
            product = services.create_product(**form.values())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{product.name} added.", "success")
            return redirect(url_for("catalog.detail", product_id=product.id), 303)
    return render("catalog/form.html", form=form, product=None, status=status_for(form))


@bp.route("/<int:product_id>/edit", methods=["GET", "POST"])
@requires("catalog.manage")
def edit(product_id: int):
    """Change a product."""
    product = get_or_404(Product, product_id)
    form = _with_suppliers(ProductForm(obj=product))
    if request.method == "GET":
        form.preferred_supplier_id.data = str(product.preferred_supplier_id or "")
    if form.validate_on_submit():
        try:
            services.update_product(product, form.version.data, **form.values())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{product.name} saved.", "success")
            return redirect(url_for("catalog.detail", product_id=product.id), 303)
    return render("catalog/form.html", form=form, product=product, frozen=services.has_moves(product),
                  status=status_for(form))


@bp.route("/<int:product_id>")
@requires("catalog.view")
def detail(product_id: int):
    """A product: prices, stock per location and batch, recent movements."""
    product = get_or_404(Product, product_id)
    t = today()
    opening, moves = stock.movements(product, t.replace(year=t.year - 1), t, limit=30)
    return render("catalog/detail.html", product=product, stock_rows=stock.stock_of(product),
                  pool=stock.product_stock(product), moves=moves[-30:][::-1])


@bp.route("/import", methods=["GET", "POST"])
@requires("catalog.manage")
def import_upload():
    """Upload a CSV of products; nothing is written until you confirm."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            batch = imports.start(services.PRODUCT_IMPORTER, upload.filename, upload.read())
        except DomainError as exc:
            form_error(form, exc)
        else:
            return redirect(url_for("catalog.import_preview", batch_id=batch.id), 303)
    return render("imports/upload.html", form=form, columns=services.COLUMNS, what="products",
                  hint="An existing SKU updates that product.", status=status_for(form))


@bp.route("/import/<int:batch_id>", methods=["GET", "POST"])
@requires("catalog.manage")
def import_preview(batch_id: int):
    """Every row with its errors; confirm to import the good ones."""
    batch = get_or_404(ImportBatch, batch_id)
    if batch.kind != "products":
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            batch, summary = imports.confirm(services.PRODUCT_IMPORTER, batch.id)
        except imports.AlreadyImported as exc:
            flash(exc.message, "info")
            return redirect(url_for("catalog.index"), 303)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Imported: {summary['created']} new, {summary['updated']} updated, "
                  f"{summary['skipped']} skipped.", "success")
            return redirect(url_for("catalog.index"), 303)
    checks = [] if batch.status == imports.IMPORTED else imports.preview(services.PRODUCT_IMPORTER, batch)
    return render("imports/preview.html", batch=batch, checks=checks, form=form, good=sum(1 for c in checks if c.ok),
                  back=url_for("catalog.index"), again=url_for("catalog.import_upload"), key="sku")


@bp.route("/export", methods=["POST"])
@requires("catalog.view")
def export():
    """Start the CSV or XLSX download of all products (a job)."""
    fmt = request.form.get("format")
    if fmt not in ("csv", "xlsx"):
        abort(400)
    # Any change to the organization's records makes a new file; a double
    # click finds the job the first click made.
    job = jobs.enqueue("products_export", {"format": fmt}, title=f"Products ({fmt.upper()})",
                       key=f"{fmt}:{latest_id()}")
    return render("jobs/_progress.html", job=job)
