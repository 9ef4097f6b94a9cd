"""Customers and suppliers share pages; each kind has its own URLs and permissions."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from webapp.audit.queries import latest_id
from webapp.core import imports, jobs
from webapp.core.errors import DomainError
from webapp.core.forms import form_error, status_for
from webapp.core.htmx import render
from webapp.core.imports import ImportBatch
from webapp.core.permissions import requires
from webapp.core.tenancy import get_or_404
from webapp.catalog.forms import ConfirmForm, ImportForm
from webapp.parties import bp, queries, services
from webapp.parties.forms import PartyForm, state_choices
from webapp.parties.models import Party

KINDS = {
    "customer": {"prefix": "customers", "view": "customers.view", "manage": "customers.manage",
                 "title": "Customers", "one": "customer"},
    "supplier": {"prefix": "suppliers", "view": "suppliers.view", "manage": "suppliers.manage",
                 "title": "Suppliers", "one": "supplier"},
}


def _party(kind: str, party_id: int) -> Party:
    party = get_or_404(Party, party_id)
    if not (party.is_customer if kind == "customer" else party.is_supplier):
        abort(404)
    return party


def _index(kind):
    f = queries.PartyFilter(q=request.args.get("q", "")[:60], kind=kind, status=request.args.get("status", "active"),
                            page=request.args.get("page", 1, type=int) or 1)
    rows, more = queries.parties(f)
    role = "receivables" if kind == "customer" else "payables"
    return render("parties/index.html", "results", parties=rows, more=more, f=f, kind=kind, k=KINDS[kind],
                  balances=queries.balances([p.id for p in rows], role))


def _form(kind, party=None):
    form = PartyForm(obj=party)
    if party is None and request.method == "GET":
        form.is_customer.data, form.is_supplier.data = kind == "customer", kind == "supplier"
        form.code.data = services.next_code("C" if kind == "customer" else "S")
    if form.validate_on_submit():
        try:
            if party is None:
                party = services.create_party(**form.values())
            else:
                services.update_party(party, form.version.data, **form.values())
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"{party.name} saved.", "success")
            return redirect(url_for(f"parties.{kind}", party_id=party.id), 303)
    return render("parties/form.html", form=form, party=party, kind=kind, k=KINDS[kind], states=state_choices(),
                  status=status_for(form))


def _detail(kind, party_id):
    party = _party(kind, party_id)
    from webapp.parties.documents import open_documents
    role = "receivables" if kind == "customer" else "payables"
    return render("parties/detail.html", party=party, kind=kind, k=KINDS[kind],
                  balance=queries.balance(party, role), documents=open_documents(party, kind))


def _search(kind):
    return render("parties/_options.html", parties=queries.search(request.args.get("q", ""), kind=kind))


def _import(kind):
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            batch = imports.start(services.PARTY_IMPORTER, upload.filename, upload.read())
        except DomainError as exc:
            form_error(form, exc)
        else:
            return redirect(url_for(f"parties.import_{kind}s_preview", batch_id=batch.id), 303)
    return render("imports/upload.html", form=form, columns=services.COLUMNS, what=KINDS[kind]["title"].lower(),
                  hint="An existing code updates that record.", status=status_for(form))


def _import_preview(kind, batch_id):
    batch = get_or_404(ImportBatch, batch_id)
    if batch.kind != "parties":
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            batch, summary = imports.confirm(services.PARTY_IMPORTER, batch.id)
        except imports.AlreadyImported as exc:
            flash(exc.message, "info")
            return redirect(url_for(f"parties.{kind}s"), 303)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Imported: {summary['created']} new, {summary['updated']} updated, {summary['skipped']} skipped.",
                  "success")
            return redirect(url_for(f"parties.{kind}s"), 303)
    checks = [] if batch.status == imports.IMPORTED else imports.preview(services.PARTY_IMPORTER, batch)
    return render("imports/preview.html", batch=batch, checks=checks, form=form, good=sum(1 for c in checks if c.ok),
                  back=url_for(f"parties.{kind}s"), again=url_for(f"parties.import_{kind}s"), key="code")


def _export(kind):
    fmt = request.form.get("format")
    if fmt not in ("csv", "xlsx"):
        abort(400)
    job = jobs.enqueue(f"{kind}s_export", {"format": fmt}, title=f"{KINDS[kind]['title']} ({fmt.upper()})",
                       key=f"{fmt}:{latest_id()}")
    return render("jobs/_progress.html", job=job)


def _register(kind: str) -> None:
    k = KINDS[kind]
    p = k["prefix"]
    views = [
        (f"/{p}/", f"{kind}s", k["view"], ["GET"], lambda: _index(kind), f"{k['title']}: search, filter, balances."),
        (f"/{p}/search", f"search_{kind}s", k["view"], ["GET"], lambda: _search(kind), "Options for pickers."),
        (f"/{p}/new", f"new_{kind}", k["manage"], ["GET", "POST"], lambda: _form(kind), f"Add a {kind}."),
        (f"/{p}/<int:party_id>", kind, k["view"], ["GET"], lambda party_id: _detail(kind, party_id),
         f"A {kind}: details, open documents, balance."),
        (f"/{p}/<int:party_id>/edit", f"edit_{kind}", k["manage"], ["GET", "POST"],
         lambda party_id: _form(kind, _party(kind, party_id)), f"Change a {kind}."),
        (f"/{p}/import", f"import_{kind}s", k["manage"], ["GET", "POST"], lambda: _import(kind), "Upload a CSV."),
        (f"/{p}/import/<int:batch_id>", f"import_{kind}s_preview", k["manage"], ["GET", "POST"],
         lambda batch_id: _import_preview(kind, batch_id), "Preview and confirm an import."),
        (f"/{p}/export", f"export_{kind}s", k["view"], ["POST"], lambda: _export(kind), "Start a download job."),
    ]
    for rule, endpoint, permission, methods, view, doc in views:
        view.__doc__ = doc
        bp.add_url_rule(rule, endpoint, requires(permission)(view), methods=methods)


for _kind in KINDS:
    _register(_kind)
