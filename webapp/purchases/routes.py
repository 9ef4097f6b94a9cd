"""Purchase orders and supplier bills: lists, the shared line editor, send, post, cancel, match."""
from __future__ import annotations

from flask import abort, flash, g, make_response, redirect, request, url_for

from webapp.catalog.models import Product
from webapp.core.clock import today
from webapp.core.errors import DomainError
from webapp.core.exports import safe_filename
from webapp.core.forms import form_error
from webapp.core.htmx import render, render_fragment
from webapp.core.permissions import allowed, requires
from webapp.core.tenancy import get_or_404
from webapp.core.trade import LineUrls, LineValues
from webapp.ledger.models import Account
from webapp.ledger.queries import accounts as all_accounts
from webapp.parties.models import Party
from webapp.purchases import bp, queries, services
from webapp.purchases.forms import AttachmentForm, CancelForm, HeaderForm, LineForm, VersionForm
from webapp.purchases.models import BILL, DRAFT, ORDER, Attachment, PurchaseDocument, PurchaseLine

TITLES = {ORDER: "Purchase orders", BILL: "Supplier bills"}
STATUSES = {ORDER: {"draft": "Draft", "sent": "Sent", "partly_received": "Partly received", "received": "Received",
                    "billed": "Billed", "cancelled": "Cancelled"},
            BILL: {"draft": "Draft", "posted": "Posted", "unpaid": "Not fully paid", "cancelled": "Cancelled"}}


def _list(doc_type):
    status, q = request.args.get("status", ""), request.args.get("q", "")[:60]
    page = request.args.get("page", 1, type=int) or 1
    rows, more = queries.documents(doc_type, status if status in STATUSES[doc_type] else "", q, page)
    return render("purchases/index.html", "results", docs=rows, more=more, doc_type=doc_type, title=TITLES[doc_type],
                  statuses=STATUSES[doc_type], state=status, q=q, page=page)


@bp.route("/orders")
@requires("purchases.view")
def orders():
    """Purchase orders."""
    return _list(ORDER)


@bp.route("/bills")
@requires("purchases.view")
def bills():
    """Supplier bills."""
    return _list(BILL)


@bp.route("/new/<any(order, bill):doc_type>", methods=["POST"])
@requires("purchases.order")
def new_document(doc_type: str):
    """Start a draft order or a direct bill (expenses, services)."""
    supplier_id = request.form.get("supplier_id", type=int)
    supplier = get_or_404(Party, supplier_id) if supplier_id else None
    try:
        doc = services.create_document(doc_type, on=today(), supplier=supplier)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for(f"purchases.{doc_type}s"), 303)
    return redirect(url_for("purchases.document", doc_id=doc.id), 303)


def _ctx(doc: PurchaseDocument, **extra) -> dict:
    urls = LineUrls(lambda l: url_for("purchases.update_line", doc_id=doc.id, line_id=l.id),
                    lambda l: url_for("purchases.remove_line", doc_id=doc.id, line_id=l.id))
    accounts = [a for a in all_accounts() if a.type in ("expense", "asset") and not a.is_group and a.active
                and not a.role] if doc.doc_type == BILL else None
    context = dict(doc=doc, header=HeaderForm(obj=doc, supplier_id=doc.supplier_id), urls=urls, accounts=accounts,
                   cancel_form=CancelForm(date=today()), attach_form=AttachmentForm(),
                   attachments=queries.attachments("bill", doc.id) if doc.doc_type == BILL else [],
                   match=queries.three_way_match(doc) if doc.doc_type == ORDER and doc.status != DRAFT else [],
                   receipts=queries.receipts_of(doc) if doc.doc_type == ORDER else [],
                   bills=queries.bills_of(doc) if doc.doc_type == ORDER else [],
                   payments=queries.payments_of(doc) if doc.doc_type == BILL and doc.status != DRAFT else [])
    context.update(extra)
    return context


@bp.route("/documents/<int:doc_id>")
@requires("purchases.view")
def document(doc_id: int):
    """An order or a bill: the line editor while a draft."""
    return render("purchases/detail.html", **_ctx(get_or_404(PurchaseDocument, doc_id)))


@bp.route("/documents/<int:doc_id>/header", methods=["POST"])
@requires("purchases.order")
def header(doc_id: int):
    """Supplier, dates, the supplier's bill number, typed tax."""
    doc = get_or_404(PurchaseDocument, doc_id)
    form = HeaderForm()
    error = None
    if form.validate():
        supplier = get_or_404(Party, form.supplier_id.data) if form.supplier_id.data else None
        try:
            services.update_header(doc, supplier=supplier, on=form.date.data, due_date=form.due_date.data,
                                   expected_date=form.expected_date.data, supplier_reference=form.supplier_reference.data,
                                   supplier_date=form.supplier_date.data, typed_tax=form.typed_tax.data,
                                   typed_total=form.typed_total.data,
                                   notes=form.notes.data, prices_include_tax=form.prices_include_tax.data,
                                   version=form.version.data)
        except DomainError as exc:
            error = exc
            form_error(form, exc)
    else:
        name, messages = next(iter(form.errors.items()))
        error = DomainError(messages[0], field=name)
    # Refused: the document is as it was; the form keeps what was typed, beside the message.
    extra = {"header": form} if error and error.status_code != 409 else {}
    return render_fragment("purchases/detail.html", "editor_update", status=error.status_code if error else 200,
                           **_ctx(doc, error=error, **extra))


def _line_response(doc, line=None, form=None, error=None, status=200):
    return render_fragment("purchases/detail.html", "line_update", status=status,
                           **_ctx(doc, line=line, line_form=form, error=error))


@bp.route("/documents/<int:doc_id>/lines", methods=["POST"])
@requires("purchases.order")
def add_line(doc_id: int):
    """Add an empty line."""
    doc = get_or_404(PurchaseDocument, doc_id)
    try:
        line = services.add_line(doc, request.form.get("version", type=int))
    except DomainError as exc:
        return _line_response(doc, error=exc, status=exc.status_code)
    return _line_response(doc, line)


@bp.route("/documents/<int:doc_id>/lines/<int:line_id>", methods=["POST"])
@requires("purchases.order")
def update_line(doc_id: int, line_id: int):
    """Save one line; totals come back with it."""
    doc = get_or_404(PurchaseDocument, doc_id)
    line = get_or_404(PurchaseLine, line_id)
    if line.document_id != doc.id:
        abort(404)
    form = LineForm()
    if not form.validate():
        return _line_response(doc, line, form, status=422)
    product = get_or_404(Product, form.product_id.data) if form.product_id.data else None
    account = get_or_404(Account, form.account_id.data) if form.account_id.data and not product else None
    values = LineValues(product, form.description.data, form.quantity.data, form.unit_price.data,
                        form.discount.percent, form.discount.amount, form.tax_rate.data)
    try:
        services.update_line(doc, line, values, account=account, version=form.version.data)
    except DomainError as exc:
        form_error(form, exc)
        return _line_response(doc, line, form, exc if exc.status_code == 409 or not exc.field else None,
                              exc.status_code)
    return _line_response(doc, line)


@bp.route("/documents/<int:doc_id>/lines/<int:line_id>/remove", methods=["POST"])
@requires("purchases.order")
def remove_line(doc_id: int, line_id: int):
    """Remove a line."""
    doc = get_or_404(PurchaseDocument, doc_id)
    line = get_or_404(PurchaseLine, line_id)
    if line.document_id != doc.id:
        abort(404)
    try:
        services.remove_line(doc, line, request.form.get("version", type=int))
    except DomainError as exc:
        return _line_response(doc, line, error=exc, status=exc.status_code)
    return _line_response(doc)


@bp.route("/documents/<int:doc_id>/delete", methods=["POST"])
@requires("purchases.order")
def delete(doc_id: int):
    """Delete a draft."""
    doc = get_or_404(PurchaseDocument, doc_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    doc_type = doc.doc_type
    try:
        services.delete_draft(doc)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("purchases.document", doc_id=doc_id), 303)
    flash("Draft deleted.", "info")
    return redirect(url_for(f"purchases.{doc_type}s"), 303)


def _act(doc, action, success):
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(doc, form.version.data)
    except services.AlreadyDone as exc:
        flash(exc.message, "info")
    except DomainError as exc:
        return render("purchases/detail.html", status=exc.status_code, **_ctx(doc, error=exc))
    else:
        flash(success(doc), "success")
    return redirect(url_for("purchases.document", doc_id=doc.id), 303)


@bp.route("/documents/<int:doc_id>/send", methods=["POST"])
@requires("purchases.order")
def send(doc_id: int):
    """Number the order, mark it sent, and make its PDF."""
    doc = get_or_404(PurchaseDocument, doc_id)
    if doc.doc_type != ORDER:
        abort(404)
    response = _act(doc, services.send_order, lambda d: f"Sent as {d.number}; its PDF is being made.")
    if doc.number:
        from webapp.purchases.jobs import enqueue_pdf
        enqueue_pdf(doc)
    return response


@bp.route("/documents/<int:doc_id>/post", methods=["POST"])
@requires("purchases.bill")
def post(doc_id: int):
    """Post a supplier bill."""
    doc = get_or_404(PurchaseDocument, doc_id)
    if doc.doc_type != BILL:
        abort(404)
    return _act(doc, services.post_bill, lambda d: f"Posted as {d.number}.")


@bp.route("/documents/<int:doc_id>/cancel", methods=["POST"])
@requires("purchases.order")
def cancel(doc_id: int):
    """Cancel a posted bill (unpaid; whoever posts bills) or an open order (whoever sends orders)."""
    doc = get_or_404(PurchaseDocument, doc_id)
    if doc.doc_type == BILL and not allowed(g.role, "purchases.bill"):
        abort(403)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            if doc.doc_type == BILL:
                services.cancel_bill(doc, reason=form.reason.data, on=form.date.data or today())
            else:
                services.cancel_order(doc, form.reason.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{doc.number or 'The draft'} is cancelled.", "success")
            return redirect(url_for("purchases.document", doc_id=doc.id), 303)
    return render("purchases/detail.html", status=getattr(form, "error_status", 422), **_ctx(doc, cancel_form=form))


@bp.route("/documents/<int:doc_id>/bill", methods=["POST"])
@requires("purchases.bill")
def make_bill(doc_id: int):
    """A draft bill for what this order's receipts brought and is not billed yet."""
    doc = get_or_404(PurchaseDocument, doc_id)
    if doc.doc_type != ORDER or not VersionForm().validate_on_submit():
        abort(404)
    try:
        bill = services.bill_from(order=doc, on=today())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("purchases.document", doc_id=doc.id), 303)
    flash("Draft bill made; type the supplier's bill number and check the prices.", "info")
    return redirect(url_for("purchases.document", doc_id=bill.id), 303)


@bp.route("/documents/<int:doc_id>/pdf", methods=["POST"])
@requires("purchases.view")
def pdf(doc_id: int):
    """Start (or find) the order's PDF job."""
    from webapp.purchases.jobs import enqueue_pdf
    return render("jobs/_progress.html", job=enqueue_pdf(get_or_404(PurchaseDocument, doc_id)))


@bp.route("/documents/<int:doc_id>/attachments", methods=["POST"])
@requires("purchases.bill")
def attach(doc_id: int):
    """Attach the scanned supplier bill."""
    doc = get_or_404(PurchaseDocument, doc_id)
    if doc.doc_type != BILL:
        abort(404)
    form = AttachmentForm()
    if form.validate_on_submit():
        try:
            services.attach("bill", doc.id, form.file.data.filename, form.file.data.read())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash("Attached.", "success")
            return redirect(url_for("purchases.document", doc_id=doc.id), 303)
    return render("purchases/detail.html", status=422, **_ctx(doc, attach_form=form))


@bp.route("/attachments/<int:attachment_id>")
@requires("purchases.view")
def attachment(attachment_id: int):
    """Download an attachment (under a safe name, never the uploaded one)."""
    from sqlalchemy.orm import undefer
    import sqlalchemy as sa
    from webapp.extensions import db
    att = db.session.scalars(sa.select(Attachment).options(undefer(Attachment.data))
                             .where(Attachment.id == attachment_id)).first() if 0 < attachment_id < 2**63 else None
    if att is None:
        abort(404)
    doc = get_or_404(PurchaseDocument, att.owner_id)
    response = make_response(att.data)
    response.headers["Content-Type"] = att.mime
    name = safe_filename(f"{doc.number or 'bill'}-{att.id}") + "." + att.stored_name.rsplit(".", 1)[1]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/reorder", methods=["POST"])
@requires("purchases.order")
def from_reorder():
    """Draft purchase orders from the reorder report, one per preferred supplier."""
    from webapp.inventory.queries import reorder
    if not VersionForm().validate_on_submit():
        abort(400)
    outcome = services.orders_from_reorder(reorder())
    for products, why in ((outcome.on_order, "already on open purchase orders"),
                          (outcome.without_supplier, "without a preferred supplier (set one on the product)")):
        if products:
            names = ", ".join(p.name for p in products[:5]) + (f" and {len(products) - 5} more" if len(products) > 5 else "")
            flash(f"Left out, {why}: {names}.", "info")
    n = len(outcome.orders)
    if not n:
        flash("No draft orders were made.", "info")
        return redirect(url_for("inventory.reorder_report"), 303)
    flash(f"{n} draft purchase order{'s' if n != 1 else ''} made; check and send {'them' if n != 1 else 'it'}.", "success")
    return redirect(url_for("purchases.orders", status="draft"), 303)
