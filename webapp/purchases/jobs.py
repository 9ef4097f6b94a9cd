"""Purchase order PDFs, rendered in a job and kept until the order changes."""
from __future__ import annotations

from flask import render_template

from webapp.core import jobs
from webapp.core.exports import safe_filename
from webapp.core.jobs import JobResult, job_kind
from webapp.core.tenancy import get_or_404
from webapp.extensions import db
from webapp.orgs.models import Organization
from webapp.purchases.models import PurchaseDocument


def enqueue_pdf(doc: PurchaseDocument):
    org = db.session.get(Organization, doc.org_id)
    return jobs.enqueue("purchase_pdf", {"doc_id": doc.id}, title=f"PDF of {doc.number or 'draft order'}",
                        key=f"{doc.id}:{doc.version}:{org.print_version}")


@job_kind("purchase_pdf", permission="purchases.view")
def purchase_pdf(job, progress):
    from webapp.core.pdf import logo_data_url, render_pdf
    from webapp.core.words import amount_in_words
    doc = get_or_404(PurchaseDocument, job.params["doc_id"])
    org = db.session.get(Organization, doc.org_id)
    logo = None
    if org.logo_mime:
        data = db.session.scalar(db.select(Organization.logo).where(Organization.id == org.id))
        logo = logo_data_url(data, org.logo_mime) if data else None
    html = render_template("purchases/pdf/document.html", doc=doc, org=org, logo=logo, code=doc.currency,
                           supplier=doc.supplier_snapshot or {}, lines=[l for l in doc.lines if not l.is_blank],
                           words=amount_in_words(doc.grand_total, doc.currency) if doc.grand_total else None)
    data = render_pdf(html, stylesheets=("pdf/base.css", "pdf/document.css"))
    return JobResult(safe_filename(doc.number or f"draft-order-{doc.id}") + ".pdf", "application/pdf", data)
