"""Adjustments (with write-offs and opening stock), transfers and stocktakes."""
from __future__ import annotations


import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, request, url_for

from webapp.catalog.models import Product
from webapp.core.clock import today
from webapp.core.errors import DomainError
from webapp.core.exports import csv_bytes, safe_filename
from webapp.core.forms import form_error
from webapp.core.htmx import render, render_fragment
from webapp.core.imports import Column, read_csv
from webapp.core.permissions import requires
from webapp.core.tenancy import get_or_404
from webapp.extensions import db
from webapp.inventory import bp, documents, queries, services
from webapp.inventory.forms import (AdjustmentHeaderForm, AdjustmentLineForm, CountForm, CountUploadForm,
                                    DocVersionForm, NewAdjustmentForm, NewStocktakeForm, NewTransferForm,
                                    TransferLineForm)
from webapp.inventory.models import (Batch, Location, StockAdjustment, StockAdjustmentLine, Stocktake,
                                     StocktakeLine, StockTransfer, StockTransferLine)


def _location_choices(form_field):
    form_field.choices = {str(l.id): l.name for l in queries.locations()}


def _version() -> int | None:
    return request.form.get("version", type=int)


# ---------------------------------------------------------------- adjustments

@bp.route("/adjustments")
@requires("inventory.move")
def adjustments():
    """Stock adjustments, write-offs and opening stock."""
    form = NewAdjustmentForm(date=today())
    _location_choices(form.location_id)
    rows = db.session.scalars(sa.select(StockAdjustment).order_by(StockAdjustment.id.desc()).limit(100)).all()
    return render("inventory/adjustments/index.html", adjustments=rows, form=form)


@bp.route("/adjustments/new", methods=["POST"])
@requires("inventory.move")
def new_adjustment():
    """Start a draft adjustment."""
    form = NewAdjustmentForm()
    _location_choices(form.location_id)
    if not form.validate_on_submit():
        flash("Choose a location and a date.", "error")
        return redirect(url_for("inventory.adjustments"), 303)
    try:
        adj = documents.create_adjustment(location=get_or_404(Location, form.location_id.data), on=form.date.data,
                                          kind=form.kind.data, reason=form.reason.data, memo=form.memo.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("inventory.adjustments"), 303)
    return redirect(url_for("inventory.adjustment", adjustment_id=adj.id), 303)


def _adj_ctx(adj, **extra):
    return dict(doc=adj, header=AdjustmentHeaderForm(obj=adj), **extra)


@bp.route("/adjustments/<int:adjustment_id>")
@requires("inventory.move")
def adjustment(adjustment_id: int):
    """An adjustment: the line editor while a draft."""
    return render("inventory/adjustments/detail.html", **_adj_ctx(get_or_404(StockAdjustment, adjustment_id)))


@bp.route("/adjustments/<int:adjustment_id>/header", methods=["POST"])
@requires("inventory.move")
def adjustment_header(adjustment_id: int):
    """Date, reason, note of a draft."""
    adj = get_or_404(StockAdjustment, adjustment_id)
    form = AdjustmentHeaderForm()
    error = None
    if form.validate():
        try:
            documents.update_adjustment_header(adj, on=form.date.data, reason=form.reason.data,
                                               memo=form.memo.data, version=form.version.data)
        except DomainError as exc:
            error = exc
    else:
        error = DomainError(next(iter(form.errors.values()))[0])
    return render_fragment("inventory/adjustments/detail.html", "header_update",
                           status=error.status_code if error else 200, **_adj_ctx(adj, header_error=error))


def _adj_line(adj, line, form=None, status=200, error=None):
    return render_fragment("inventory/adjustments/detail.html", "line_update", status=status,
                           **_adj_ctx(adj, line=line, line_form=form, line_error=error))


@bp.route("/adjustments/<int:adjustment_id>/lines", methods=["POST"])
@requires("inventory.move")
def add_adjustment_line(adjustment_id: int):
    """Add an empty line."""
    adj = get_or_404(StockAdjustment, adjustment_id)
    try:
        line = documents.add_adjustment_line(adj, _version())
    except DomainError as exc:
        return _adj_line(adj, None, status=exc.status_code, error=exc)
    return _adj_line(adj, line)


@bp.route("/adjustments/<int:adjustment_id>/lines/<int:line_id>", methods=["POST"])
@requires("inventory.move")
def update_adjustment_line(adjustment_id: int, line_id: int):
    """Save one line."""
    adj = get_or_404(StockAdjustment, adjustment_id)
    line = get_or_404(StockAdjustmentLine, line_id)
    if line.adjustment_id != adj.id:
        abort(404)
    form = AdjustmentLineForm()
    if not form.validate():
        return _adj_line(adj, line, form, 422)
    product = get_or_404(Product, form.product_id.data) if form.product_id.data else None
    try:
        documents.update_adjustment_line(adj, line, product=product, quantity=form.quantity.data,
                                         batch_number=form.batch_number.data, expiry=form.expiry_date.data,
                                         unit_cost=form.unit_cost.data, version=form.version.data)
    except DomainError as exc:
        form_error(form, exc)
        return _adj_line(adj, line, form, exc.status_code, exc if exc.field is None or exc.status_code == 409 else None)
    return _adj_line(adj, line)


@bp.route("/adjustments/<int:adjustment_id>/lines/<int:line_id>/remove", methods=["POST"])
@requires("inventory.move")
def remove_adjustment_line(adjustment_id: int, line_id: int):
    """Remove a line."""
    adj = get_or_404(StockAdjustment, adjustment_id)
    line = get_or_404(StockAdjustmentLine, line_id)
    if line.adjustment_id != adj.id:
        abort(404)
    try:
        documents.remove_adjustment_line(adj, line, _version())
    except DomainError as exc:
        return _adj_line(adj, line, None, exc.status_code, exc)
    return _adj_line(adj, None)


@bp.route("/adjustments/<int:adjustment_id>/post", methods=["POST"])
@requires("inventory.approve")
def post_adjustment(adjustment_id: int):
    """Approve and post: stock moves and the journal entry."""
    adj = get_or_404(StockAdjustment, adjustment_id)
    form = DocVersionForm()
    if not form.validate_on_submit():
        abort(400)
    if adj.status != "draft":
        flash(f"This adjustment is already {adj.status}.", "info")
        return redirect(url_for("inventory.adjustment", adjustment_id=adj.id), 303)
    try:
        documents.post_adjustment(adj, form.version.data)
    except DomainError as exc:
        return render("inventory/adjustments/detail.html", status=exc.status_code, **_adj_ctx(adj, error=exc))
    flash(f"Posted as {adj.number}.", "success")
    return redirect(url_for("inventory.adjustment", adjustment_id=adj.id), 303)


@bp.route("/adjustments/<int:adjustment_id>/cancel", methods=["POST"])
@requires("inventory.move")
def cancel_adjustment(adjustment_id: int):
    """Cancel a draft."""
    return _cancel(get_or_404(StockAdjustment, adjustment_id), "inventory.adjustment", "adjustment_id")


def _cancel(doc, endpoint, arg):
    if not DocVersionForm().validate_on_submit():
        abort(400)
    try:
        documents.cancel_draft(doc)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash("Draft cancelled.", "info")
    return redirect(url_for(endpoint, **{arg: doc.id}), 303)


# ---------------------------------------------------------------- transfers

@bp.route("/transfers")
@requires("inventory.move")
def transfers():
    """Transfers between locations."""
    form = NewTransferForm(date=today())
    _location_choices(form.from_location_id)
    _location_choices(form.to_location_id)
    rows = db.session.scalars(sa.select(StockTransfer).order_by(StockTransfer.id.desc()).limit(100)).all()
    return render("inventory/transfers/index.html", transfers=rows, form=form)


@bp.route("/transfers/new", methods=["POST"])
@requires("inventory.move")
def new_transfer():
    """Start a draft transfer."""
    form = NewTransferForm()
    _location_choices(form.from_location_id)
    _location_choices(form.to_location_id)
    if not form.validate_on_submit():
        flash("Choose both locations and a date.", "error")
        return redirect(url_for("inventory.transfers"), 303)
    try:
        t = documents.create_transfer(from_location=get_or_404(Location, form.from_location_id.data),
                                      to_location=get_or_404(Location, form.to_location_id.data),
                                      on=form.date.data, memo=form.memo.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("inventory.transfers"), 303)
    return redirect(url_for("inventory.transfer", transfer_id=t.id), 303)


def _tr_ctx(t, **extra):
    return dict(doc=t, batches_for=lambda product: services.fefo_batches(product, t.from_location, t.date,
                                                                          include_expired=True), **extra)


@bp.route("/transfers/<int:transfer_id>")
@requires("inventory.move")
def transfer(transfer_id: int):
    """A transfer: the line editor while a draft."""
    return render("inventory/transfers/detail.html", **_tr_ctx(get_or_404(StockTransfer, transfer_id)))


def _tr_line(t, line, form=None, status=200, error=None):
    return render_fragment("inventory/transfers/detail.html", "line_update", status=status,
                           **_tr_ctx(t, line=line, line_form=form, line_error=error))


@bp.route("/transfers/<int:transfer_id>/lines", methods=["POST"])
@requires("inventory.move")
def add_transfer_line(transfer_id: int):
    """Add an empty line."""
    t = get_or_404(StockTransfer, transfer_id)
    try:
        line = documents.add_transfer_line(t, _version())
    except DomainError as exc:
        return _tr_line(t, None, status=exc.status_code, error=exc)
    return _tr_line(t, line)


@bp.route("/transfers/<int:transfer_id>/lines/<int:line_id>", methods=["POST"])
@requires("inventory.move")
def update_transfer_line(transfer_id: int, line_id: int):
    """Save one line."""
    t = get_or_404(StockTransfer, transfer_id)
    line = get_or_404(StockTransferLine, line_id)
    if line.transfer_id != t.id:
        abort(404)
    form = TransferLineForm()
    if not form.validate():
        return _tr_line(t, line, form, 422)
    product = get_or_404(Product, form.product_id.data) if form.product_id.data else None
    batch = get_or_404(Batch, form.batch_id.data) if form.batch_id.data and product else None
    if batch is not None and product is not None and batch.product_id != product.id:
        batch = None  # the product changed; the old batch no longer applies
    try:
        documents.update_transfer_line(t, line, product=product, batch=batch, quantity=form.quantity.data,
                                       version=form.version.data)
    except DomainError as exc:
        form_error(form, exc)
        return _tr_line(t, line, form, exc.status_code, exc if exc.status_code == 409 else None)
    return _tr_line(t, line)


@bp.route("/transfers/<int:transfer_id>/lines/<int:line_id>/remove", methods=["POST"])
@requires("inventory.move")
def remove_transfer_line(transfer_id: int, line_id: int):
    """Remove a line."""
    t = get_or_404(StockTransfer, transfer_id)
    line = get_or_404(StockTransferLine, line_id)
    if line.transfer_id != t.id:
        abort(404)
    try:
        documents.remove_transfer_line(t, line, _version())
    except DomainError as exc:
        return _tr_line(t, line, None, exc.status_code, exc)
    return _tr_line(t, None)


@bp.route("/transfers/<int:transfer_id>/post", methods=["POST"])
@requires("inventory.move")
def post_transfer(transfer_id: int):
    """Move the stock."""
    t = get_or_404(StockTransfer, transfer_id)
    form = DocVersionForm()
    if not form.validate_on_submit():
        abort(400)
    if t.status != "draft":
        flash(f"This transfer is already {t.status}.", "info")
        return redirect(url_for("inventory.transfer", transfer_id=t.id), 303)
    try:
        documents.post_transfer(t, form.version.data)
    except DomainError as exc:
        return render("inventory/transfers/detail.html", status=exc.status_code, **_tr_ctx(t, error=exc))
    flash(f"Transferred as {t.number}.", "success")
    return redirect(url_for("inventory.transfer", transfer_id=t.id), 303)


@bp.route("/transfers/<int:transfer_id>/cancel", methods=["POST"])
@requires("inventory.move")
def cancel_transfer(transfer_id: int):
    """Cancel a draft."""
    return _cancel(get_or_404(StockTransfer, transfer_id), "inventory.transfer", "transfer_id")


# ---------------------------------------------------------------- stocktakes

@bp.route("/stocktakes")
@requires("inventory.move")
def stocktakes():
    """Count sheets."""
    form = NewStocktakeForm(date=today())
    _location_choices(form.location_id)
    rows = db.session.scalars(sa.select(Stocktake).order_by(Stocktake.id.desc()).limit(100)).all()
    return render("inventory/stocktakes/index.html", stocktakes=rows, form=form)


@bp.route("/stocktakes/new", methods=["POST"])
@requires("inventory.move")
def new_stocktake():
    """Make a count sheet for a location."""
    form = NewStocktakeForm()
    _location_choices(form.location_id)
    if not form.validate_on_submit():
        flash("Choose a location and a date.", "error")
        return redirect(url_for("inventory.stocktakes"), 303)
    try:
        st = documents.create_stocktake(location=get_or_404(Location, form.location_id.data), on=form.date.data,
                                        memo=form.memo.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("inventory.stocktakes"), 303)
    return redirect(url_for("inventory.stocktake", stocktake_id=st.id), 303)


@bp.route("/stocktakes/<int:stocktake_id>")
@requires("inventory.move")
def stocktake(stocktake_id: int):
    """Enter counts (works on a phone), or download and upload the sheet."""
    st = get_or_404(Stocktake, stocktake_id)
    return render("inventory/stocktakes/detail.html", st=st, upload=CountUploadForm())


@bp.route("/stocktakes/<int:stocktake_id>/lines/<int:line_id>", methods=["POST"])
@requires("inventory.move")
def count_line(stocktake_id: int, line_id: int):
    """Save one count."""
    st = get_or_404(Stocktake, stocktake_id)
    line = get_or_404(StocktakeLine, line_id)
    if line.stocktake_id != st.id:
        abort(404)
    form = CountForm()
    if form.validate():
        try:
            documents.record_count(st, line, form.counted.data)
        except DomainError as exc:
            form_error(form, exc)
    status = 422 if form.errors or form.form_errors else 200
    return render_fragment("inventory/stocktakes/detail.html", "count_row", status=status, st=st, line=line,
                           count_form=form)


@bp.route("/stocktakes/<int:stocktake_id>/add", methods=["POST"])
@requires("inventory.move")
def add_stocktake_product(stocktake_id: int):
    """Add a product found on the shelf that the sheet does not list."""
    st = get_or_404(Stocktake, stocktake_id)
    product_id = request.form.get("product_id", type=int)
    if product_id:
        try:
            documents.add_stocktake_product(st, get_or_404(Product, product_id))
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(url_for("inventory.stocktake", stocktake_id=st.id), 303)


COUNT_COLUMNS = [Column("sku", True), Column("product"), Column("batch"), Column("expiry"), Column("counted", True)]


@bp.route("/stocktakes/<int:stocktake_id>/sheet.csv")
@requires("inventory.move")
def stocktake_sheet(stocktake_id: int):
    """The count sheet to print or fill in (blind: the book quantity is not on it)."""
    st = get_or_404(Stocktake, stocktake_id)
    rows = [[l.product.sku, l.product.name, l.batch.number if l.batch else "",
             l.batch.expiry_date if l.batch and l.batch.expiry_date else "",
             l.counted if l.counted is not None else ""] for l in st.lines]
    response = make_response(csv_bytes([c.name for c in COUNT_COLUMNS], rows))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(st.number)}-count-sheet.csv"'
    return response


@bp.route("/stocktakes/<int:stocktake_id>/upload", methods=["POST"])
@requires("inventory.move")
def upload_counts(stocktake_id: int):
    """Read a filled-in count sheet; every row is checked before anything is saved."""
    st = get_or_404(Stocktake, stocktake_id)
    form = CountUploadForm()
    if form.validate_on_submit():
        try:
            n = documents.record_counts_from_sheet(st, read_csv(form.file.data.read(), COUNT_COLUMNS))
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{n} counts read from the sheet.", "success")
            return redirect(url_for("inventory.stocktake", stocktake_id=st.id), 303)
    return render("inventory/stocktakes/detail.html", st=st, upload=form, status=422)


@bp.route("/stocktakes/<int:stocktake_id>/finish", methods=["POST"])
@requires("inventory.move")
def finish_stocktake(stocktake_id: int):
    """Close counting; the differences become a draft adjustment to approve."""
    st = get_or_404(Stocktake, stocktake_id)
    if not DocVersionForm().validate_on_submit():
        abort(400)
    try:
        adj = documents.finish_stocktake(st)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("inventory.stocktake", stocktake_id=st.id), 303)
    if adj is None:
        flash("Every count matched the books; nothing to adjust.", "success")
        return redirect(url_for("inventory.stocktake", stocktake_id=st.id), 303)
    flash("The differences are in this draft adjustment; an owner or storekeeper approves and posts it.", "info")
    return redirect(url_for("inventory.adjustment", adjustment_id=adj.id), 303)
