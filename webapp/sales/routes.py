"""Quotes, orders and invoices: lists, the htmx line editor, post, cancel, convert, print."""
from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from sqlalchemy.orm import joinedload, lazyload

from webapp.catalog.models import Product
from webapp.core.clock import today
from webapp.core.errors import DomainError, NotFound
from webapp.core.forms import form_error
from webapp.core.htmx import render, render_fragment
from webapp.core.money import MoneyError, format_amount, parse_amount
from webapp.core.permissions import allowed, requires
from webapp.core.tenancy import MAX_ID, get_or_404
from webapp.core.trade import LineUrls, LineValues
from webapp.inventory import services as inventory
from webapp.inventory.models import Batch
from webapp.parties.models import Party
from webapp.reports.routes import PeriodForm
from webapp.sales import bp, queries, services
from webapp.sales.forms import CancelForm, HeaderForm, LineForm, PostForm
from webapp.sales.models import DOC_TYPES, DRAFT, INVOICE, ORDER, QUOTE, SalesDocument, SalesLine
from webapp.core.words import amount_in_words
from webapp.templating import format_date
from webapp.extensions import db

PLURAL = {"invoice": "invoices", "quote": "quotes", "order": "orders"}


def _list(doc_type: str):
    a = request.args
    period = PeriodForm(a)
    period.validate()
    f = queries.DocFilter(doc_type=doc_type, status=a.get("status", ""), customer_id=a.get("customer_id", type=int),
                          date_from=period.date_from.data, date_to=period.date_to.data, q=a.get("q", "")[:60],
                          sort=a.get("sort", "date"), page=a.get("page", 1, type=int) or 1)
    day = today()
    rows, more = queries.documents(f, day)
    code = g.org.base_currency
    for row in rows:
        row.show(code, day, format_date, format_amount)
    statuses = queries.INVOICE_STATUSES if doc_type == INVOICE else queries.ORDER_STATUSES
    return render("sales/index.html", "results", docs=rows, more=more, f=f, doc_type=doc_type, statuses=statuses,
                  period=period, title=DOC_TYPES[doc_type] + "s" if doc_type != ORDER else "Sales orders")


@bp.route("/invoices")
@requires("sales.view")
def invoices():
    """Invoices: filters, search, sort, pages, status badges."""
    return _list(INVOICE)


@bp.route("/quotes")
@requires("sales.view")
def quotes():
    """Quotes."""
    return _list(QUOTE)


@bp.route("/orders")
@requires("sales.view")
def orders():
    """Sales orders."""
    return _list(ORDER)


@bp.route("/new/<any(invoice, quote, order):doc_type>", methods=["POST"])
@requires("sales.edit")
def new_document(doc_type: str):
    """Start a draft (for a customer, if one is given)."""
    customer_id = request.form.get("customer_id", type=int)
    customer = get_or_404(Party, customer_id) if customer_id else None
    try:
        doc = services.create_document(doc_type, on=today(), customer=customer)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for(f"sales.{PLURAL[doc_type]}"), 303)
    return redirect(url_for("sales.document", doc_id=doc.id), 303)


def _words(doc: SalesDocument) -> str | None:
    return amount_in_words(doc.grand_total, doc.currency) if doc.currency == "INR" and doc.grand_total else None


def _batches(doc: SalesDocument, lines) -> dict:
    """The batches a draft's batch-tracked lines may choose from (at the default location), by line id."""
    batches = {}
    for line in lines:
        if doc.status == DRAFT and line.product is not None and line.product.tracks_batches:
            batches[line.id] = inventory.fefo_batches(line.product, None, doc.date, include_expired=True)
    return batches


def _urls(doc: SalesDocument) -> LineUrls:
    return LineUrls(lambda l: url_for("sales.update_line", doc_id=doc.id, line_id=l.id),
                    lambda l: url_for("sales.remove_line", doc_id=doc.id, line_id=l.id))


def _ctx(doc: SalesDocument, **extra) -> dict:
    context = dict(doc=doc, header=HeaderForm(obj=doc, customer_id=doc.customer_id), words=_words(doc),
                   batches=_batches(doc, doc.lines), urls=_urls(doc),
                   post_form=PostForm(version=doc.version), cancel_form=CancelForm(date=today()),
                   allocations=queries.allocations_of(doc) if doc.doc_type == INVOICE and doc.status != DRAFT else [],
                   derived=queries.derived_documents(doc) if doc.doc_type != INVOICE else [])
    context.update(extra)
    return context


@bp.route("/documents/<int:doc_id>")
@requires("sales.view")
def document(doc_id: int):
    """A quote, order or invoice: the line editor while a draft; the posted document after."""
    return render("sales/detail.html", **_ctx(get_or_404(SalesDocument, doc_id)))


@bp.route("/documents/<int:doc_id>/header", methods=["POST"])
@requires("sales.edit")
def header(doc_id: int):
    """Customer, dates, place of supply, prices with or without tax, notes."""
    doc = get_or_404(SalesDocument, doc_id)
    form = HeaderForm()
    error = None
    if form.validate():
        customer = get_or_404(Party, form.customer_id.data) if form.customer_id.data else None
        try:
            services.update_header(doc, customer=customer, on=form.date.data, due_date=form.due_date.data,
                                   reference=form.reference.data, notes=form.notes.data, terms=form.terms.data,
                                   prices_include_tax=form.prices_include_tax.data,
                                   place_of_supply=form.place_of_supply.data, version=form.version.data)
        except DomainError as exc:
            error = exc
            form_error(form, exc)
    else:
        name, messages = next(iter(form.errors.items()))
        error = DomainError(messages[0], field=name)
    # Refused: the document is as it was; the form keeps what was typed, beside the message.
    extra = {"header": form} if error and error.status_code != 409 else {}
    return render_fragment("sales/detail.html", "editor_update", status=error.status_code if error else 200,
                           **_ctx(doc, error=error, **extra))


def _line_values(form: LineForm, line: SalesLine | None = None) -> LineValues:
    pid = form.product_id.data
    if not pid:
        product = None
    elif line is not None and line.product is not None and str(line.product_id) == str(pid).strip():
        product = line.product  # the line's own product, loaded with the document (this organization's)
    else:
        product = get_or_404(Product, pid)
    return LineValues(product, form.description.data, form.quantity.data, form.unit_price.data,
                      form.discount.percent, form.discount.amount, form.tax_rate.data)


def _line_response(doc, line=None, form=None, error=None, status=200):
    # Only what the `line_update` block shows: the line, the totals, the message and the version
    # (not the header form, the posting forms or the batches of the other lines).
    return render_fragment("sales/detail.html", "line_update", status=status, doc=doc, line=line, line_form=form,
                           error=error, words=_words(doc), urls=_urls(doc),
                           batches=_batches(doc, [line] if line is not None else []))


@functools.cache
def _document_with_lines() -> sa.Select:
    """Built once: the statement of every line edit."""
    return (sa.select(SalesDocument).where(SalesDocument.id == sa.bindparam("doc_id"))
            .options(lazyload(SalesDocument.customer), joinedload(SalesDocument.lines).joinedload(SalesLine.product))
            .execution_options(built_once=True))


def _document_with_lines_or_404(doc_id: int) -> SalesDocument:
    """The document with its lines and their products in one statement (get_or_404's rules);
    its customer only if something asks for it (the line editor does not)."""
    try:
        doc_id = int(doc_id)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < doc_id <= MAX_ID:
        abort(404)
    doc = db.session.scalars(_document_with_lines(), {"doc_id": doc_id}).unique().first()
    if doc is None:
        abort(404)
    return doc


def _line_of(doc: SalesDocument, line_id: int) -> SalesLine:
    """A line of this document, or 404 (a line of another document is not found here)."""
    line = next((l for l in doc.lines if l.id == line_id), None)
    if line is None:
        abort(404)
    return line


@bp.route("/documents/<int:doc_id>/lines", methods=["POST"])
@requires("sales.edit")
def add_line(doc_id: int):
    """Add an empty line."""
    doc = _document_with_lines_or_404(doc_id)
    try:
        line = services.add_line(doc, request.form.get("version", type=int))
    except DomainError as exc:
        return _line_response(doc, error=exc, status=exc.status_code)
    return _line_response(doc, line)


@bp.route("/documents/<int:doc_id>/lines/<int:line_id>", methods=["POST"])
@requires("sales.edit")
def update_line(doc_id: int, line_id: int):
    """Save one line; the totals and tax breakdown come back with it."""
    doc = _document_with_lines_or_404(doc_id)
    line = _line_of(doc, line_id)
    form = LineForm()
    if not form.validate():
        return _line_response(doc, line, form, status=422)
    values = _line_values(form, line)
    batch = get_or_404(Batch, form.batch_id.data) if form.batch_id.data and values.product else None
    if batch is not None and batch.product_id != values.product.id:
        batch = None  # the product changed under a batch chosen for the old one
    try:
        services.update_line(doc, line, values, batch=batch, version=form.version.data)
    except DomainError as exc:
        form_error(form, exc)
        return _line_response(doc, line, form, exc if exc.status_code == 409 or not exc.field else None,
                              exc.status_code)
    return _line_response(doc, line)


@bp.route("/documents/<int:doc_id>/lines/<int:line_id>/remove", methods=["POST"])
@requires("sales.edit")
def remove_line(doc_id: int, line_id: int):
    """Remove a line."""
    doc = _document_with_lines_or_404(doc_id)
    line = _line_of(doc, line_id)
    try:
        services.remove_line(doc, line, request.form.get("version", type=int))
    except DomainError as exc:
        return _line_response(doc, line, error=exc, status=exc.status_code)
    return _line_response(doc)


@bp.route("/documents/<int:doc_id>/delete", methods=["POST"])
@requires("sales.edit")
def delete(doc_id: int):
    """Delete a draft."""
    doc = get_or_404(SalesDocument, doc_id)
    if not PostForm().validate_on_submit():
        abort(400)
    doc_type = doc.doc_type
    try:
        services.delete_draft(doc)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("sales.document", doc_id=doc_id), 303)
    flash("Draft deleted.", "info")
    return redirect(url_for(f"sales.{PLURAL[doc_type]}"), 303)


@bp.route("/documents/<int:doc_id>/post", methods=["POST"])
@requires("sales.post")
def post(doc_id: int):
    """Post an invoice: number, journal entry, stock."""
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    if form.allow_expired.data and not allowed_override():
        abort(403)
    try:
        # The service locks and reads the invoice itself (another organization's id is not found).
        posted = services.post_invoice(doc_id, version=form.version.data, allow_expired=form.allow_expired.data,
                                        override_credit=form.override_credit.data and allowed_credit_override())
    except NotFound:
        abort(404)
    except services.AlreadyPosted as exc:
        flash(exc.message, "info")
        return redirect(url_for("sales.document", doc_id=doc_id), 303)
    except DomainError as exc:
        doc = get_or_404(SalesDocument, doc_id)
        return render("sales/detail.html", status=exc.status_code, **_ctx(doc, error=exc, post_error=exc))
    for w in posted.warnings:
        flash(w, "warning")
    flash(f"Posted as {posted.number}.", "success")
    return redirect(url_for("sales.document", doc_id=doc_id), 303)


def allowed_override() -> bool:
    from flask import g
    return allowed(g.role, "inventory.override_expiry")


def allowed_credit_override() -> bool:
    from flask import g
    return allowed(g.role, "sales.cancel")  # owners and accountants decide on credit


@bp.route("/documents/<int:doc_id>/confirm", methods=["POST"])
@requires("sales.edit")
def confirm(doc_id: int):
    """Confirm a quote or an order (it gets its number)."""
    doc = get_or_404(SalesDocument, doc_id)
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.confirm(doc, form.version.data)
    except services.AlreadyPosted as exc:
        flash(exc.message, "info")
    except DomainError as exc:
        return render("sales/detail.html", status=exc.status_code, **_ctx(doc, error=exc))
    else:
        flash(f"Confirmed as {doc.number}.", "success")
    return redirect(url_for("sales.document", doc_id=doc.id), 303)


@bp.route("/documents/<int:doc_id>/cancel", methods=["POST"])
@requires("sales.cancel")
def cancel(doc_id: int):
    """Cancel a posted invoice: its journal entry and stock are reversed."""
    doc = get_or_404(SalesDocument, doc_id)
    form = CancelForm()
    if doc.doc_type != INVOICE:
        abort(404)
    if form.validate_on_submit():
        try:
            services.cancel_invoice(doc, reason=form.reason.data, on=form.date.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{doc.number} is cancelled; its journal and stock are reversed.", "success")
            return redirect(url_for("sales.document", doc_id=doc.id), 303)
    return render("sales/detail.html", status=getattr(form, "error_status", 422), **_ctx(doc, cancel_form=form))


@bp.route("/documents/<int:doc_id>/withdraw", methods=["POST"])
@requires("sales.edit")
def withdraw(doc_id: int):
    """Cancel a quote or an order."""
    doc = get_or_404(SalesDocument, doc_id)
    form = CancelForm()
    if doc.doc_type == INVOICE:
        abort(404)
    if form.validate_on_submit():
        try:
            services.cancel_document(doc, form.reason.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{doc.number or 'The draft'} is cancelled.", "success")
            return redirect(url_for("sales.document", doc_id=doc.id), 303)
    return render("sales/detail.html", status=422, **_ctx(doc, cancel_form=form))


@bp.route("/documents/<int:doc_id>/convert", methods=["GET", "POST"])
@requires("sales.edit")
def convert(doc_id: int):
    """Turn a quote or order into an invoice (or a quote into an order): all lines or some."""
    doc = get_or_404(SalesDocument, doc_id)
    if doc.doc_type == INVOICE:
        abort(404)
    target = request.values.get("to", INVOICE)
    if target not in (INVOICE, ORDER):
        abort(400)
    error = None
    if request.method == "POST" and PostForm().validate_on_submit():
        try:
            quantities = {l.id: parse_amount(request.form.get(f"qty-{l.id}") or "0", places=3)
                          for l in doc.lines if not l.is_blank}
            new = services.convert(doc, target, quantities)
        except (DomainError, MoneyError) as exc:
            error = exc if isinstance(exc, DomainError) else DomainError(str(exc))
        else:
            flash(f"Draft {DOC_TYPES[target].lower()} made from {doc.number}; check it and "
                  f"{'post' if target == INVOICE else 'confirm'} it.", "success")
            return redirect(url_for("sales.document", doc_id=new.id), 303)
    return render("sales/convert.html", doc=doc, target=target, error=error, form=PostForm(),
                  status=422 if error else 200)


@bp.route("/documents/<int:doc_id>/print")
@requires("sales.view")
def print_view(doc_id: int):
    """The document as it prints (the browser's print, or the PDF's layout)."""
    from webapp.sales.printing import print_context
    doc = get_or_404(SalesDocument, doc_id)
    return render("sales/print.html", **print_context(doc, for_pdf=False))


@bp.route("/documents/<int:doc_id>/pdf", methods=["POST"])
@requires("sales.view")
def pdf(doc_id: int):
    """Start (or find) the PDF job; it is kept until the document changes."""
    from webapp.sales.printing import enqueue_pdf
    job = enqueue_pdf(get_or_404(SalesDocument, doc_id))
    return render("jobs/_progress.html", job=job)


@bp.route("/invoices/pdfs", methods=["POST"])
@requires("sales.view")
def bulk_pdf():
    """One ZIP of the selected invoices' PDFs, from a job."""
    from webapp.sales.printing import enqueue_zip
    ids = sorted({int(i) for i in request.form.getlist("doc_id") if i.isdigit() and len(i) < 18})
    docs = [get_or_404(SalesDocument, i) for i in ids[:500]]
    if not docs:
        flash("Tick the invoices to download first.", "error")
        return redirect(url_for("sales.invoices"), 303)
    return render("jobs/_progress.html", job=enqueue_zip(docs))
