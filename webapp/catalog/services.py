"""Products: create, edit, import. Costing method, batch tracking and kind are
fixed once the product has stock moves (changing them would rewrite history)."""
from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from webapp.catalog import search
from webapp.catalog.models import COSTING_METHODS, KINDS, SERVICE, STOCKED, Product
from webapp.core.errors import DomainError, StaleData
from webapp.core.imports import Column, Importer, RowCheck
from webapp.core.money import MAX_AMOUNT, MoneyError, parse_amount
from webapp.extensions import db

FIELDS = ("sku", "barcode", "name", "description", "unit", "category", "hsn_code", "tax_rate", "sale_price",
          "kind", "tracks_batches", "costing_method", "reorder_point", "reorder_quantity", "active",
          "preferred_supplier_id", "purchase_price")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_HSN = re.compile(r"^[0-9]{4}([0-9]{2}){0,2}$")


def has_moves(product: Product) -> bool:
    from webapp.inventory.models import StockMove
    return bool(product.id) and db.session.scalar(sa.select(sa.exists().where(StockMove.product_id == product.id)))


def clean(values: dict, product: Product | None = None, *, existing: dict | None = None) -> dict:
    """Check and normalise product fields; DomainError(field=…) on the first problem.

    `existing` (sku → id, barcode → id) lets an import check a whole file
    without a query per row.
    """
    v = dict(values)
    sku = (v.get("sku") or "").strip()
    if not sku:
        raise DomainError("Enter a SKU (your code for the product).", field="sku")
    if len(sku) > 40 or not _CODE.match(sku):
        raise DomainError("A SKU has up to 40 letters, digits, dots, dashes or slashes.", field="sku")
    v["sku"] = sku
    name = (v.get("name") or "").strip()
    if not name:
        raise DomainError("Enter the product's name.", field="name")
    if len(name) > 200:
        raise DomainError("The name is longer than 200 characters.", field="name")
    v["name"] = name
    barcode = (v.get("barcode") or "").strip() or None
    if barcode and (len(barcode) > 40 or not barcode.isalnum()):
        raise DomainError("A barcode has up to 40 letters or digits.", field="barcode")
    v["barcode"] = barcode
    own = product.id if product is not None else None
    skus = existing["sku"] if existing else None
    barcodes = existing["barcode"] if existing else None
    clash = skus.get(sku) if skus is not None else db.session.scalar(sa.select(Product.id).where(Product.sku == sku))
    if clash is not None and clash != own:
        raise DomainError(f"SKU {sku} is already used by another product.", field="sku")
    if barcode:
        clash = barcodes.get(barcode) if barcodes is not None else db.session.scalar(
            sa.select(Product.id).where(Product.barcode == barcode))
        if clash is not None and clash != own:
            raise DomainError(f"Barcode {barcode} is already on another product.", field="barcode")
    v["unit"] = (v.get("unit") or "pcs").strip()[:20] or "pcs"
    v["category"] = (v.get("category") or "").strip()[:80] or None
    v["description"] = (v.get("description") or "").strip() or None
    hsn = (v.get("hsn_code") or "").strip() or None
    if hsn and not _HSN.match(hsn):
        raise DomainError("An HSN/SAC code has 4, 6 or 8 digits.", field="hsn_code")
    v["hsn_code"] = hsn
    for name_, places, label in (("tax_rate", 4, "tax rate"), ("sale_price", 6, "sale price")):
        raw = v.get(name_)
        try:
            value = parse_amount(raw, places=places) if not isinstance(raw, Decimal) else raw
        except MoneyError as exc:
            if raw in (None, ""):
                value = Decimal(0)
            else:
                raise DomainError(f"The {label}: {exc}", field=name_) from None
        if value < 0:
            raise DomainError(f"The {label} cannot be negative.", field=name_)
        v[name_] = value
    if v["tax_rate"] > 100:
        raise DomainError("A tax rate is a percentage between 0 and 100.", field="tax_rate")
    if v["sale_price"] > MAX_AMOUNT:
        raise DomainError("The sale price is too large.", field="sale_price")
    price = v.get("purchase_price")
    if price in (None, ""):
        v["purchase_price"] = None
    else:
        try:
            v["purchase_price"] = price if isinstance(price, Decimal) else parse_amount(price, places=6)
        except MoneyError as exc:
            raise DomainError(f"The purchase price: {exc}", field="purchase_price") from None
    supplier_id = v.get("preferred_supplier_id")
    if supplier_id in (None, ""):
        v["preferred_supplier_id"] = None
    else:
        from webapp.parties.models import Party
        try:
            supplier_id = int(supplier_id)
        except (TypeError, ValueError):
            raise DomainError("Choose a supplier from the list.", field="preferred_supplier_id") from None
        supplier = db.session.scalars(sa.select(Party).where(Party.id == supplier_id,
                                                             Party.is_supplier.is_(True))).first()
        if supplier is None:
            raise DomainError("Choose a supplier from the list.", field="preferred_supplier_id")
        v["preferred_supplier_id"] = supplier.id
    for name_ in ("reorder_point", "reorder_quantity"):
        raw = v.get(name_)
        if raw in (None, ""):
            v[name_] = None
            continue
        try:
            v[name_] = raw if isinstance(raw, Decimal) else parse_amount(raw, places=3)
        except MoneyError as exc:
            raise DomainError(f"{name_.replace('_', ' ').capitalize()}: {exc}", field=name_) from None
    kind = v.get("kind") or STOCKED
    if kind not in KINDS:
        raise DomainError("Kind is either stocked or service.", field="kind")
    v["kind"] = kind
    method = v.get("costing_method") or "fifo"
    if method not in COSTING_METHODS:
        raise DomainError("Costing is fifo, lifo or average.", field="costing_method")
    v["costing_method"] = method
    v["tracks_batches"] = bool(v.get("tracks_batches")) and kind == STOCKED
    v["active"] = True if v.get("active") is None else bool(v.get("active"))
    if kind == SERVICE:
        v["reorder_point"] = v["reorder_quantity"] = None
    if product is not None and has_moves(product):
        for frozen, label in (("costing_method", "costing method"), ("tracks_batches", "batch tracking"),
                              ("kind", "kind")):
            if v[frozen] != getattr(product, frozen):
                raise DomainError(f"The {label} cannot change once the product has stock movements.",
                                  field=frozen)
    return v


def create_product(**values) -> Product:
    v = clean(values)
    product = Product(**{k: v[k] for k in FIELDS})
    db.session.add(product)
    db.session.flush()
    search.reindex([product], new=True)
    return product


def update_product(product: Product, version: int | None = None, **values) -> None:
    if version is not None and int(version) != product.version:
        raise StaleData("Someone else changed this product after you opened it. Reload to see their changes.")
    v = clean(values, product)
    searched = (product.name, product.active)
    for k in FIELDS:
        setattr(product, k, v[k])
    product.version += 1
    db.session.flush()
    if (product.name, product.active) != searched:
        search.reindex([product])


# ---------------------------------------------------------------- CSV import

COLUMNS = [
    Column("sku", True, "your code for the product; an existing SKU updates that product"),
    Column("name", True), Column("barcode"), Column("unit", help="pcs, box, strip, kg, …"), Column("category"),
    Column("hsn_code", help="4, 6 or 8 digits"), Column("tax_rate", help="percent, e.g. 18"),
    Column("sale_price"), Column("kind", help="stocked or service"), Column("tracks_batches", help="yes or no"),
    Column("costing_method", help="fifo, lifo or average"), Column("reorder_point"), Column("reorder_quantity"),
    Column("active", help="yes or no"), Column("description"), Column("purchase_price"),
]
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def _import_context() -> dict:
    rows = db.session.execute(sa.select(Product.id, Product.sku, Product.barcode)).all()
    return {"sku": {r.sku: r.id for r in rows}, "barcode": {r.barcode: r.id for r in rows if r.barcode},
            "seen_sku": {}, "seen_barcode": {}}


def _check_row(raw: dict, ctx: dict) -> RowCheck:
    check = RowCheck(raw["_line"], raw)
    values = {k: raw.get(k, "") for k in FIELDS if k != "preferred_supplier_id"}
    for flag in ("tracks_batches", "active"):
        text = (raw.get(flag) or "").strip().lower()
        if flag == "active" and text == "":
            values[flag] = True
        elif text in _YES:
            values[flag] = True
        elif text in _NO:
            values[flag] = False
        else:
            check.errors.append(f"{flag}: write yes or no, not “{raw.get(flag)}”.")
    values["kind"] = (raw.get("kind") or "stocked").strip().lower()
    values["costing_method"] = (raw.get("costing_method") or "fifo").strip().lower()
    sku = (raw.get("sku") or "").strip()
    product_id = ctx["sku"].get(sku)
    check.action = "update" if product_id else "new"
    if sku in ctx["seen_sku"]:
        check.errors.append(f"SKU {sku} appears again (first on line {ctx['seen_sku'][sku]}).")
    ctx["seen_sku"].setdefault(sku, check.number)
    barcode = (raw.get("barcode") or "").strip()
    if barcode and barcode in ctx["seen_barcode"]:
        check.errors.append(f"Barcode {barcode} appears again (first on line {ctx['seen_barcode'][barcode]}).")
    if barcode:
        ctx["seen_barcode"].setdefault(barcode, check.number)
    if not check.errors:
        try:
            product = db.session.get(Product, product_id) if product_id else None
            check.values = clean(values, product, existing=ctx)
        except DomainError as exc:
            check.errors.append(exc.message)
    return check


def _write(rows: list[RowCheck]) -> dict:
    existing = {p.sku: p for p in db.session.scalars(sa.select(Product).where(
        Product.sku.in_([r.values["sku"] for r in rows])))}
    created, changed = [], []
    updated = 0
    for row in rows:
        product = existing.get(row.values["sku"])
        if product is None:
            product = Product(**{k: row.values[k] for k in FIELDS})
            db.session.add(product)
            created.append(product)
        else:
            searched = (product.name, product.active)
            for k in FIELDS:
                setattr(product, k, row.values[k])
            product.version += 1
            updated += 1
            if (product.name, product.active) != searched:
                changed.append(product)
    db.session.flush()
    search.reindex(created, new=True)
    search.reindex(changed)
    return {"created": len(created), "updated": updated}


PRODUCT_IMPORTER = Importer("products", COLUMNS, _check_row, _write, _import_context)
