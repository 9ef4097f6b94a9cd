"""What an invoice, quote or order shows when printed, and the PDF jobs.

One template, `sales/pdf/document.html`, is both the browser's print view and
the PDF; it uses no URLs (a job has no request), only data: the logo arrives
as a `data:` URL. It carries what a GST tax invoice and a VAT invoice must
show: seller and buyer with addresses and tax ids, number and date, place of
supply, HSN/SAC per line, taxable value, tax by kind and rate, totals in
figures (and in words for INR), terms and a signature block.
"""
from __future__ import annotations

from webapp.core import jobs
from webapp.core.exports import safe_filename
from webapp.core.regions import INDIA_STATES, state_name
from webapp.core.pdf import logo_data_url
from webapp.extensions import db
from webapp.orgs.models import Organization
from webapp.sales.models import INVOICE, SalesDocument
from webapp.sales.services import _snapshot
from webapp.core.words import amount_in_words

TITLES = {"invoice": "Tax invoice", "quote": "Quotation", "order": "Sales order"}


def _title(doc: SalesDocument, org: Organization) -> str:
    if doc.doc_type == INVOICE and org.tax_regime == "none":
        return "Invoice"
    if doc.doc_type == INVOICE and org.tax_regime == "vat":
        return "VAT invoice"
    return TITLES[doc.doc_type]


def print_context(doc: SalesDocument, *, for_pdf: bool) -> dict:
    org = db.session.get(Organization, doc.org_id)
    buyer = doc.customer_snapshot or (_snapshot(doc.customer) if doc.customer else {})
    logo = None
    if org.logo_mime:
        logo_bytes = db.session.scalar(db.select(Organization.logo).where(Organization.id == org.id))
        if logo_bytes:
            logo = logo_data_url(logo_bytes, org.logo_mime)
    gst = org.tax_regime == "gst_india"
    intra = gst and (doc.place_of_supply in (None, org.state))
    return {
        "doc": doc, "org": org, "buyer": buyer, "logo": logo, "title": _title(doc, org), "gst": gst,
        "intra_state": intra, "code": doc.currency, "lines": [l for l in doc.lines if not l.is_blank],
        "place_of_supply": (f"{INDIA_STATES.get(doc.place_of_supply or org.state, '')} "
                            f"({doc.place_of_supply or org.state})") if gst else None,
        "buyer_state": state_name(buyer.get("country") or org.country, buyer.get("state")),
        "words": amount_in_words(doc.grand_total, doc.currency) if doc.grand_total else None,
        "for_pdf": for_pdf,
    }


def pdf_key(doc: SalesDocument) -> str:
    org = db.session.get(Organization, doc.org_id)
    return f"{doc.id}:{doc.version}:{org.print_version}"


def enqueue_pdf(doc: SalesDocument):
    """The PDF job of this version of the document: made once, reused until it changes."""
    return jobs.enqueue("sales_pdf", {"doc_id": doc.id}, title=f"PDF of {doc.number or 'draft ' + doc.doc_type}",
                        key=pdf_key(doc))


def enqueue_zip(docs: list[SalesDocument]):
    ids = [d.id for d in docs]
    return jobs.enqueue("sales_pdf_zip", {"doc_ids": ids}, title=f"{len(ids)} invoices as PDF (ZIP)",
                        key=";".join(pdf_key(d) for d in docs))


def filename(doc: SalesDocument) -> str:
    return safe_filename(doc.number or f"draft-{doc.doc_type}-{doc.id}") + ".pdf"
