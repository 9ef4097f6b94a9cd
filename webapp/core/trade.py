"""What sales and purchase documents share: priced lines, totals, the tax engine.

Quotes, orders, invoices, purchase orders and supplier bills all have lines
of (product, description, quantity, unit price, discount, tax rate), computed
by `webapp.core.tax` into taxable value, tax components and totals. The
columns live in two mixins; `recompute(doc)` runs the tax engine over a
document's lines and stores every figure on the lines and the document, so
what is shown, printed and posted is one computation. Line editing (add,
change, remove with a version check against stale forms) is here too, so
every document editor behaves the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from webapp.core.errors import DomainError, StaleData
from webapp.core.money import MAX_AMOUNT, ZERO, Money, Quantity, Rate, UnitPrice, currency
from webapp.extensions import db
from webapp.core import tax

MAX_LINES = 500
QTY_PLACES, PRICE_PLACES, RATE_PLACES = 3, 6, 4


class TradeLineMixin:
    """The columns of a priced line. Figures after `taxable` are computed."""

    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str | None] = mapped_column(sa.String(300))
    hsn_code: Mapped[str | None] = mapped_column(sa.String(10))
    unit: Mapped[str | None] = mapped_column(sa.String(20))
    quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice(), default=Decimal(0))
    discount_percent: Mapped[Decimal | None] = mapped_column(Rate())
    discount_amount: Mapped[Decimal | None] = mapped_column(Money())
    tax_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal(0))
    taxable: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    discount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    cgst: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    sgst: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    igst: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    vat: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    tax_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))

    @declared_attr
    def product_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("product.id"))

    @property
    def is_blank(self) -> bool:
        return self.product_id is None and not (self.description or "").strip() and not self.quantity


class TradeDocumentMixin:
    """Totals and tax settings of a priced document."""

    date: Mapped[date]
    currency: Mapped[str] = mapped_column(sa.String(3))
    #: GST state code of the place of supply (None = the seller's own state).
    place_of_supply: Mapped[str | None] = mapped_column(sa.String(60))
    prices_include_tax: Mapped[bool] = mapped_column(default=False)
    taxable_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    rounding: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    grand_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    #: [{"kind": "CGST", "rate": "9", "taxable": "…", "amount": "…"}, …] as last computed.
    tax_breakdown: Mapped[list | None] = mapped_column(sa.JSON)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    #: Bumped on every change; a form or an htmx edit carrying an older value is stale.
    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        # Every UPDATE (and DELETE) of a document says `WHERE version = <the version it was read
        # at>`: an edit of a draft that someone posted, or edited, in the meantime changes nothing
        # and is refused (StaleData), rather than writing over what the other wrote. The services
        # bump the version themselves.
        return {"version_id_col": cls.__table__.c.version, "version_id_generator": False}


@dataclass(frozen=True)
class LineUrls:
    """Where the shared line editor saves and removes a line (functions of the line)."""
    update: object
    remove: object


@dataclass(frozen=True)
class LineValues:
    product: object | None
    description: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    discount_percent: Decimal | None
    discount_amount: Decimal | None
    tax_rate: Decimal | None


def context_for(doc, org) -> tax.TaxContext:
    return tax.TaxContext(regime=org.tax_regime, currency=doc.currency,
                          seller_state=org.state if org.tax_regime == tax.GST_INDIA else None,
                          place_of_supply=doc.place_of_supply if org.tax_regime == tax.GST_INDIA else None,
                          prices_include_tax=doc.prices_include_tax,
                          round_total_to_whole=getattr(doc, "round_total_to_whole", None))


def recompute(doc, org) -> tax.DocumentResult:
    """Run the tax engine over the document's lines and store every figure."""
    lines = [l for l in doc.lines if not l.is_blank]
    try:
        result = tax.compute(context_for(doc, org), [
            tax.LineInput(quantity=l.quantity, unit_price=l.unit_price, tax_rate=l.tax_rate,
                          discount_percent=l.discount_percent, discount_amount=l.discount_amount) for l in lines])
    except tax.TaxError as exc:
        raise DomainError(str(exc)) from None
    for line in doc.lines:
        if line.is_blank:
            line.taxable = line.discount = line.cgst = line.sgst = line.igst = line.vat = line.tax_amount = ZERO
            line.total = ZERO
    for line, r in zip(lines, result.lines):
        line.taxable, line.discount, line.tax_amount, line.total = r.taxable, r.discount, r.tax_total, r.total
        comps = {c.kind: c.amount for c in r.taxes}
        line.cgst, line.sgst = comps.get("CGST", ZERO), comps.get("SGST", ZERO)
        line.igst, line.vat = comps.get("IGST", ZERO), comps.get("VAT", ZERO)
    doc.taxable_total, doc.tax_total = result.taxable_total, result.tax_total
    doc.rounding, doc.grand_total = result.rounding, result.grand_total
    doc.tax_breakdown = [{"kind": b.kind, "rate": str(b.rate), "taxable": str(b.taxable), "amount": str(b.amount)}
                         for b in result.breakdown if b.amount or b.rate]
    return result


def check_version(doc, version: int | None) -> None:
    if version is not None and int(version) != doc.version:
        raise StaleData("Someone else changed this document since you opened it. Reload the page to see "
                        "their changes.")


def check_line_values(v: LineValues, code: str) -> None:
    """Refuse what a person cannot mean, beside the right field."""
    q = v.quantity or ZERO
    if q < 0:
        raise DomainError("The quantity cannot be negative.", field="quantity")
    if q != q.quantize(Decimal(1).scaleb(-QTY_PLACES)) or q > MAX_AMOUNT:
        raise DomainError("Use at most 3 decimal places.", field="quantity")
    price = v.unit_price or ZERO
    if price < 0:
        raise DomainError("A price cannot be negative.", field="unit_price")
    if price > MAX_AMOUNT or q * price > MAX_AMOUNT:
        raise DomainError("That amount is too large.", field="unit_price")
    if v.discount_percent is not None and v.discount_amount is not None:
        raise DomainError("Give a discount as a percentage or an amount, not both.", field="discount")
    if v.discount_percent is not None and not ZERO <= v.discount_percent <= 100:
        raise DomainError("A discount percentage is between 0 and 100.", field="discount")
    if v.discount_amount is not None:
        if v.discount_amount < 0:
            raise DomainError("A discount cannot be negative.", field="discount")
        if v.discount_amount != v.discount_amount.quantize(currency(code).minor_unit):
            raise DomainError(f"{code} has {currency(code).precision} decimal places.", field="discount")
    rate = v.tax_rate or ZERO
    if not ZERO <= rate <= 100:
        raise DomainError("A tax rate is a percentage between 0 and 100.", field="tax_rate")
    if v.product is not None and not v.product.active:
        raise DomainError(f"{v.product.name} is inactive.", field="product_id")


def apply_line_values(line, v: LineValues, default_price=None) -> None:
    """Store a line's values. Choosing a different product fills in its price
    (`default_price(product)`), tax rate and name; the user can then change them."""
    product = v.product
    changed = product is not None and product.id != line.product_id
    _set_reference(line, "product", product)
    if changed:
        v = LineValues(product, None, v.quantity or Decimal(1),
                       default_price(product) if default_price else v.unit_price,
                       v.discount_percent, v.discount_amount, product.tax_rate)
    line.description = (v.description or "").strip()[:300] or (product.name if product is not None else None)
    line.hsn_code = product.hsn_code if product is not None else line.hsn_code
    line.unit = product.unit if product is not None else (line.unit or None)
    line.quantity = v.quantity or ZERO
    line.unit_price = v.unit_price if v.unit_price is not None else ZERO
    line.discount_percent, line.discount_amount = v.discount_percent, v.discount_amount
    line.tax_rate = v.tax_rate if v.tax_rate is not None else ZERO


def _set_reference(line, name: str, obj) -> None:
    """Point a line at a product or batch by its id column, with the object put in place as loaded:
    the change is then one plain column, which `core.pipeline.flush` can write in one round trip
    with the document's (setting the relationship would make it a relationship change)."""
    if obj is not None and not sa.inspect(obj).persistent:
        setattr(line, name, obj)      # not a row yet (or no longer): the flush works out its id
        return
    new_id = obj.id if obj is not None else None
    if getattr(line, f"{name}_id") != new_id:
        setattr(line, f"{name}_id", new_id)
    sa.orm.attributes.set_committed_value(line, name, obj)


def set_batch(line, batch) -> None:
    _set_reference(line, "batch", batch)


def new_position(doc) -> int:
    if len(doc.lines) >= MAX_LINES:
        raise DomainError(f"A document has at most {MAX_LINES} lines.")
    return max((l.position for l in doc.lines), default=0) + 1


# ---------------------------------------------------------------- editing a draft (sales and purchases)

def lock(model, doc_id: int):
    """The document, re-read under a row lock (for posting, cancelling, deleting)."""
    return db.session.scalars(sa.select(model).where(model.id == doc_id).with_for_update(of=model)
                              .execution_options(populate_existing=True)).one()


def editable(doc, version: int | None) -> None:
    """A draft, unchanged since the form was made: its version moves on."""
    if doc.status != "draft":
        raise DomainError(f"{doc.number or 'This document'} is {doc.status.replace('_', ' ')}; it can no longer be "
                          "edited.")
    check_version(doc, version)
    doc.version += 1


def add_blank_line(doc, line_class, version: int | None):
    editable(doc, version)
    line = line_class(position=new_position(doc))
    doc.lines.append(line)
    db.session.flush()
    return line


def remove_line(doc, line, org, version: int | None) -> None:
    if line.document_id != doc.id:
        raise DomainError("That line is not on this document.")
    editable(doc, version)
    doc.lines.remove(line)
    recompute(doc, org)
    db.session.flush()


def delete_draft(model, doc, message: str = "Only a draft is deleted.") -> None:
    doc = lock(model, doc.id)
    if doc.status != "draft":
        raise DomainError(message)
    db.session.delete(doc)
    db.session.flush()


def lines_to_post(doc) -> list:
    """The lines that count, each with a quantity and a product or a description."""
    lines = [l for l in doc.lines if not l.is_blank]
    if not lines:
        raise DomainError("Add at least one line.", field="lines")
    for n, l in enumerate(lines, 1):
        if l.quantity <= 0:
            raise DomainError(f"Line {n} ({l.description or 'no description'}) has no quantity.", field="lines")
        if l.product is None and not (l.description or "").strip():
            raise DomainError(f"Line {n} needs a product or a description.", field="lines")
    return lines
