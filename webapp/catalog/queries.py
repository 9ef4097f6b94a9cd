"""Reads of the catalog."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from webapp.catalog.models import Product
from webapp.extensions import db

PAGE = 50


@dataclass
class ProductFilter:
    q: str = ""
    category: str = ""
    kind: str = ""
    status: str = "active"   # active | inactive | all
    page: int = 1


def _like(q: str) -> str:
    return "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"


def products(f: ProductFilter) -> tuple[list[Product], bool]:
    stmt = sa.select(Product)
    if f.q:
        like = _like(f.q.strip()[:60])
        stmt = stmt.where(sa.or_(Product.name.ilike(like), Product.sku.ilike(like), Product.barcode == f.q.strip()))
    if f.category:
        stmt = stmt.where(Product.category == f.category)
    if f.kind in ("stocked", "service"):
        stmt = stmt.where(Product.kind == f.kind)
    if f.status == "active":
        stmt = stmt.where(Product.active.is_(True))
    elif f.status == "inactive":
        stmt = stmt.where(Product.active.is_(False))
    page = max(1, min(f.page, 10_000))
    rows = list(db.session.scalars(stmt.order_by(Product.name, Product.id).offset((page - 1) * PAGE).limit(PAGE + 1)))
    return rows[:PAGE], len(rows) > PAGE


def search_for_picker(q: str, *, stocked_only: bool = False, limit: int = 12) -> list[Product]:
    q = (q or "").strip()[:60]
    stmt = sa.select(Product).where(Product.active.is_(True))
    if stocked_only:
        stmt = stmt.where(Product.kind == "stocked")
    if q:
        like = _like(q)
        stmt = stmt.where(sa.or_(Product.name.ilike(like), Product.sku.ilike(like), Product.barcode == q))
    return list(db.session.scalars(stmt.order_by(Product.name).limit(limit)))


def all_for_export():
    return db.session.scalars(sa.select(Product).order_by(Product.sku))
