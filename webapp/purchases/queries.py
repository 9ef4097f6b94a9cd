"""Reads of purchasing: lists, the three-way match, a supplier's open bills."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from webapp.core.money import ZERO
from webapp.extensions import db
from webapp.parties.documents import SUPPLIER_DOCUMENTS
from webapp.purchases.models import (BILL, PAID, POSTED, Attachment, GoodsReceipt, GoodsReceiptLine,
                                     PurchaseDocument, PurchaseLine)

PAGE = 50


def documents(doc_type: str, status: str = "", q: str = "", page: int = 1) -> tuple[list, bool]:
    d = PurchaseDocument
    stmt = sa.select(d).where(d.doc_type == doc_type).options(sa.orm.lazyload(d.lines))
    if status:
        stmt = stmt.where(d.status == status) if status != "unpaid" else stmt.where(
            d.status == POSTED, d.payment_status != PAID)
    if q:
        like = "%" + q.strip()[:60].replace("%", "").replace("_", "") + "%"
        from webapp.parties.models import Party
        stmt = stmt.where(sa.or_(d.number.ilike(like), d.supplier_reference.ilike(like),
                                 d.supplier_id.in_(sa.select(Party.id).where(Party.name.ilike(like)))))
    page = max(1, min(page, 10_000))
    rows = list(db.session.scalars(stmt.order_by(d.date.desc(), d.id.desc()).offset((page - 1) * PAGE).limit(PAGE + 1)))
    return rows[:PAGE], len(rows) > PAGE


def on_order(product_ids) -> dict[int, Decimal]:
    """What open purchase orders (draft, sent, partly received) are still to bring, per product."""
    ids = list(product_ids)
    if not ids:
        return {}
    d, l = PurchaseDocument, PurchaseLine
    rows = db.session.execute(
        sa.select(l.product_id, sa.func.sum(l.quantity), sa.func.sum(l.received_quantity))
        .join(d, d.id == l.document_id)
        .where(d.doc_type == "order", d.status.in_(("draft", "sent", "partly_received")), l.product_id.in_(ids))
        .group_by(l.product_id)).all()
    return {pid: max(Decimal(q or 0) - Decimal(r or 0), ZERO) for pid, q, r in rows}


def receipts(q: str = "", page: int = 1) -> tuple[list, bool]:
    stmt = sa.select(GoodsReceipt).options(sa.orm.lazyload(GoodsReceipt.lines))
    if q:
        like = "%" + q.strip()[:60].replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(GoodsReceipt.number.ilike(like))
    page = max(1, min(page, 10_000))
    rows = list(db.session.scalars(stmt.order_by(GoodsReceipt.date.desc(), GoodsReceipt.id.desc())
                                   .offset((page - 1) * PAGE).limit(PAGE + 1)))
    return rows[:PAGE], len(rows) > PAGE


@dataclass
class MatchRow:
    line: PurchaseLine
    received: Decimal
    received_value: Decimal
    billed: Decimal
    billed_value: Decimal

    @property
    def ordered_value(self) -> Decimal:
        return self.line.taxable

    @property
    def receive_gap(self) -> Decimal:
        return self.line.quantity - self.received

    @property
    def bill_gap(self) -> Decimal:
        return self.received - self.billed if self.line.product and self.line.product.stocked else self.line.quantity - self.billed

    @property
    def price_gap(self) -> Decimal:
        """Billed value against what the billed units were ordered at."""
        if not self.billed or not self.line.quantity:
            return ZERO
        return self.billed_value - (self.line.taxable * self.billed / self.line.quantity).quantize(Decimal("0.01"))


def three_way_match(order: PurchaseDocument) -> list[MatchRow]:
    """Per order line: ordered, received (posted receipts) and billed (posted bills)."""
    received = dict(((ol, (q, v)) for ol, q, v in db.session.execute(
        sa.select(GoodsReceiptLine.order_line_id, sa.func.sum(GoodsReceiptLine.quantity), sa.func.sum(GoodsReceiptLine.value))
        .join(GoodsReceipt, GoodsReceipt.id == GoodsReceiptLine.receipt_id)
        .where(GoodsReceipt.order_id == order.id, GoodsReceipt.status == POSTED)
        .group_by(GoodsReceiptLine.order_line_id))))
    billed = dict(((ol, (q, v)) for ol, q, v in db.session.execute(
        sa.select(PurchaseLine.order_line_id, sa.func.sum(PurchaseLine.quantity), sa.func.sum(PurchaseLine.taxable))
        .join(PurchaseDocument, PurchaseDocument.id == PurchaseLine.document_id)
        .where(PurchaseDocument.doc_type == BILL, PurchaseDocument.status == POSTED,
               PurchaseLine.order_line_id.in_([l.id for l in order.lines]))
        .group_by(PurchaseLine.order_line_id))))
    rows = []
    for line in order.lines:
        if line.is_blank:
            continue
        rq, rv = received.get(line.id, (ZERO, ZERO))
        bq, bv = billed.get(line.id, (ZERO, ZERO))
        rows.append(MatchRow(line, rq or ZERO, rv or ZERO, bq or ZERO, bv or ZERO))
    return rows


def receipts_of(order: PurchaseDocument) -> list[GoodsReceipt]:
    return list(db.session.scalars(sa.select(GoodsReceipt).where(GoodsReceipt.order_id == order.id)
                                   .order_by(GoodsReceipt.id)))


def bills_of(order: PurchaseDocument) -> list[PurchaseDocument]:
    return list(db.session.scalars(sa.select(PurchaseDocument).where(PurchaseDocument.order_id == order.id,
                                                                     PurchaseDocument.doc_type == BILL)
                                   .order_by(PurchaseDocument.id).options(sa.orm.lazyload(PurchaseDocument.lines))))


def payments_of(bill: PurchaseDocument) -> list:
    """(allocation, payment) pairs that settle a bill, undone ones too."""
    from webapp.payments.models import Allocation, Payment
    return db.session.execute(sa.select(Allocation, Payment).join(Payment, Payment.id == Allocation.payment_id)
                              .where(Allocation.bill_id == bill.id).order_by(Allocation.id)).all()


def attachments(owner_type: str, owner_id: int) -> list[Attachment]:
    return list(db.session.scalars(sa.select(Attachment).where(Attachment.owner_type == owner_type,
                                                               Attachment.owner_id == owner_id)
                                   .order_by(Attachment.id)))


def _open_bills(party):
    return list(db.session.scalars(sa.select(PurchaseDocument).where(
        PurchaseDocument.supplier_id == party.id, PurchaseDocument.doc_type == BILL,
        PurchaseDocument.status == POSTED, PurchaseDocument.payment_status != PAID)
        .order_by(PurchaseDocument.due_date).limit(200).options(sa.orm.lazyload(PurchaseDocument.lines))))


SUPPLIER_DOCUMENTS.append(_open_bills)
