"""PDFs of sales documents, one or many (ZIP), rendered in jobs."""
from __future__ import annotations

import io
import zipfile

import sqlalchemy as sa
from flask import render_template
from sqlalchemy.orm import undefer

from webapp.core.jobs import DONE, Job, JobResult, job_id_for, job_kind, on_worker_start
from webapp.core.tenancy import current_org_id, get_or_404
from webapp.extensions import db
from webapp.sales.models import SalesDocument

STYLESHEETS = ("pdf/base.css", "pdf/document.css")


def render_document(doc: SalesDocument) -> bytes:
    # WeasyPrint is imported here, not at module import: it takes a second to
    # load and only job workers need it.
    from webapp.core.pdf import render_pdf
    from webapp.sales.printing import print_context
    html = render_template("sales/pdf/document.html", **print_context(doc, for_pdf=True))
    return render_pdf(html, stylesheets=STYLESHEETS)


@on_worker_start
def _load_pdf_styles() -> None:
    """WeasyPrint, the invoice stylesheets and their fonts, once per worker."""
    from webapp.core.pdf import warm_up
    warm_up(STYLESHEETS)


@job_kind("sales_pdf", permission="sales.view")
def document_pdf(job, progress):
    from webapp.sales.printing import filename
    doc = get_or_404(SalesDocument, job.params["doc_id"])
    progress(20, "Laying out the pages")
    return JobResult(filename(doc), "application/pdf", render_document(doc), "PDF ready")


@job_kind("sales_pdf_zip", permission="sales.view")
def documents_zip(job, progress):
    from webapp.sales.printing import filename, pdf_key
    ids = job.params["doc_ids"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, doc_id in enumerate(ids, 1):
            doc = get_or_404(SalesDocument, doc_id)
            # Reuse a PDF already made for this version of the document.
            cached = db.session.scalars(sa.select(Job).options(undefer(Job.result)).where(
                Job.id == job_id_for(current_org_id(), "sales_pdf", pdf_key(doc)), Job.status == DONE)).first()
            zf.writestr(filename(doc), cached.result if cached and cached.result else render_document(doc))
            progress(n * 100 // len(ids), f"{n} of {len(ids)}")
    return JobResult(f"invoices-{len(ids)}.zip", "application/zip", buf.getvalue(), f"{len(ids)} PDFs")
