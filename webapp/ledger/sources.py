"""Where a journal entry came from: each domain registers a link to its documents."""
from __future__ import annotations

from typing import Callable

from flask import url_for

SOURCE_LINKS: dict[str, Callable[[int], str]] = {}
SOURCE_LABELS: dict[str, str] = {}


def source_link(source_type: str, label: str):
    def decorator(fn):
        SOURCE_LINKS[source_type] = fn
        SOURCE_LABELS[source_type] = label
        return fn
    return decorator


def source_url(entry) -> str | None:
    fn = SOURCE_LINKS.get(entry.source_type)
    return fn(entry.source_id) if fn and entry.source_id else None


def source_label(entry) -> str:
    return SOURCE_LABELS.get(entry.source_type, entry.source_type.replace("_", " ").capitalize())


@source_link("manual_journal", "Manual journal")
def _manual(source_id: int) -> str:
    return url_for("ledger.journal", journal_id=source_id)


# The documents of the other domains (endpoints only: no imports of their code).
@source_link("invoice", "Sales invoice")
def _invoice(source_id: int) -> str:
    return url_for("sales.document", doc_id=source_id)


@source_link("bill", "Supplier bill")
def _bill(source_id: int) -> str:
    return url_for("purchases.document", doc_id=source_id)


@source_link("goods_receipt", "Goods receipt")
def _receipt(source_id: int) -> str:
    return url_for("purchases.receipt", receipt_id=source_id)


@source_link("payment", "Payment")
def _payment(source_id: int) -> str:
    return url_for("payments.payment", payment_id=source_id)


@source_link("stock_adjustment", "Stock adjustment")
def _adjustment(source_id: int) -> str:
    return url_for("inventory.adjustment", adjustment_id=source_id)


@source_link("stock_transfer", "Stock transfer")
def _transfer(source_id: int) -> str:
    return url_for("inventory.transfer", transfer_id=source_id)


@source_link("opening", "Opening balance")
def _opening(source_id: int) -> str:
    return url_for("payments.accounts")
