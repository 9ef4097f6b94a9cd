"""A party's open documents, for their page."""
from __future__ import annotations

import sqlalchemy as sa

from webapp.extensions import db
from webapp.parties.models import Party
from webapp.sales.models import INVOICE, PAID, POSTED, SalesDocument

#: Functions (party) -> list of open documents, added by purchasing for suppliers.
SUPPLIER_DOCUMENTS: list = []


def open_documents(party: Party, kind: str):
    if kind == "customer":
        return list(db.session.scalars(
            sa.select(SalesDocument).where(SalesDocument.customer_id == party.id, SalesDocument.doc_type == INVOICE,
                                           SalesDocument.status == POSTED, SalesDocument.payment_status != PAID)
            .order_by(SalesDocument.due_date, SalesDocument.id).limit(200)))
    return [d for fn in SUPPLIER_DOCUMENTS for d in fn(party)]
