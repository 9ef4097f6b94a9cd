"""Reads of stock: the shop-floor lookup, on hand, valuation, movements, reorder, expiry.

Current figures come from `StockBalance` (per product/batch/location) and
`ProductStock` (per product: quantity and value). Figures "as of" a past day
are the current ones minus the moves dated after that day, so the cost of a
report grows with the moves since the day asked for, not with all history.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from webapp.catalog import search
from webapp.catalog.models import STOCKED, Product, ProductSearch
from webapp.core.money import ZERO, Money, Quantity
from webapp.core.tenancy import current_org_id
from webapp.extensions import db, on_postgres
from webapp.inventory.models import Batch, Location, ProductStock, StockBalance, StockMove


def locations(active_only: bool = True) -> list[Location]:
    stmt = sa.select(Location).order_by(Location.is_default.desc(), Location.name)
    if active_only:
        stmt = stmt.where(Location.active.is_(True))
    return list(db.session.scalars(stmt))


def _looks_like_code(q: str) -> bool:
    """A barcode, SKU or batch number rather than words: no spaces and at least one digit."""
    return " " not in q and any(c.isdigit() for c in q)


@dataclass
class LookupHit:
    product: Product
    on_hand: Decimal = ZERO
    rows: list[tuple[Location, Batch | None, Decimal]] = field(default_factory=list)


def find_by_code(code: str) -> Product | None:
    """Exact barcode or SKU (what a scanner types)."""
    code = (code or "").strip()
    if not code or len(code) > 40:
        return None
    return db.session.scalars(sa.select(Product).where(sa.or_(Product.barcode == code, Product.sku == code))
                              .order_by(Product.barcode.is_(None))).first()


_LOOKUP: dict = {}


#: The organization, named in the lookup's statements themselves (see `_with_stock`).
_ORG = sa.bindparam("org_id")


def _with_stock(top):
    """The products of `top` (a subquery of id, rank, name) with their stock per location and batch,
    in one statement.

    The lookup runs on every keystroke: its statements are built once and name the organization
    themselves (`org_id`, on every table they read), so they are run as they are (`all_tenants`)
    instead of having the tenant criteria added by the ORM on each call, which costs a new cache
    key per call. Row-level security still applies on PostgreSQL."""
    return (sa.select(Product, Location, Batch, StockBalance.quantity)
            .join(top, top.c.id == Product.id)
            .outerjoin(StockBalance, sa.and_(StockBalance.product_id == Product.id, StockBalance.org_id == _ORG,
                                             StockBalance.quantity != 0))
            .outerjoin(Location, sa.and_(Location.id == StockBalance.location_id, Location.org_id == _ORG))
            .outerjoin(Batch, sa.and_(Batch.id == StockBalance.batch_id, Batch.org_id == _ORG))
            .where(Product.org_id == _ORG)
            .order_by(top.c.rank, top.c.name, top.c.id, Location.name, Batch.expiry_date)
            .execution_options(all_tenants=True))


def _lookup_statements() -> sa.Select:
    """The lookup's statement for codes, built once per database kind (building it anew on every
    keystroke costs more than running it).

    Codes are matched with `starts_with` on PostgreSQL: it is leakproof, so under row-level
    security it can use the `text_pattern_ops` indexes (LIKE and ILIKE are not leakproof, and
    with RLS PostgreSQL never uses an index for them).
    """
    dialect = db.session.get_bind().dialect.name
    if dialect not in _LOOKUP:
        q, upper, limit = sa.bindparam("q"), sa.bindparam("upper"), sa.bindparam("limit")
        if dialect == "postgresql":
            def starts(column):
                return sa.or_(sa.func.starts_with(column, q), sa.func.starts_with(column, upper))
        else:
            def starts(column):
                return column.like(sa.bindparam("prefix"), escape="/")
        exact = sa.select(Product.id.label("id"), sa.literal(0).label("rank")).where(
            Product.org_id == _ORG, sa.or_(Product.barcode == q, Product.sku == q, Product.sku == upper))
        sku = sa.select(Product.id.label("id"), sa.literal(1).label("rank")).where(
            Product.org_id == _ORG, starts(Product.sku))
        batch = sa.select(Batch.product_id.label("id"), sa.literal(1).label("rank")).where(
            Batch.org_id == _ORG, starts(Batch.number))
        found = sa.union_all(exact, sku, batch).subquery()
        best = sa.select(found.c.id, sa.func.min(found.c.rank).label("rank")).group_by(found.c.id).subquery()
        codes = (sa.select(Product.id, best.c.rank, Product.name).join(best, best.c.id == Product.id)
                 .where(Product.org_id == _ORG, Product.active.is_(True)).order_by(best.c.rank, Product.name, Product.id).limit(limit)
                 .subquery())
        _LOOKUP[dialect] = _with_stock(codes)
    return _LOOKUP[dialect]


def _name_statement(n_words: int) -> sa.Select:
    """Active products whose name has each of `n_words` words (see catalog/search.py), by name.

    The first (longest) word drives: its key's rows come out of the index in name order and the
    first `limit` products that match are kept without reading the others. Every other word is
    checked for that product with an equality lookup of the same index.
    """
    cache_key = (db.session.get_bind().dialect.name, n_words)
    if cache_key not in _LOOKUP:
        s = [sa.orm.aliased(ProductSearch, name=f"s{i}") for i in range(n_words)]

        def has(alias, i):
            return sa.and_(alias.org_id == _ORG, alias.key == sa.bindparam(f"key{i}"),
                           search.starts(alias.token, sa.bindparam(f"prefix{i}")))

        stmt = (sa.select(s[0].product_id.label("id"), sa.literal(2).label("rank"), s[0].name.label("name"))
                .distinct()
                .where(s[0].active.is_(True), has(s[0], 0),
                       s[0].product_id.not_in(sa.bindparam("found", expanding=True))))
        for i in range(1, n_words):
            stmt = stmt.join(s[i], sa.and_(s[i].name == s[0].name, s[i].product_id == s[0].product_id)).where(
                has(s[i], i))
        top = stmt.order_by(s[0].name, s[0].product_id).limit(sa.bindparam("limit")).subquery()
        _LOOKUP[cache_key] = _with_stock(top)
    return _LOOKUP[cache_key]


def lookup(q: str, limit: int = 10) -> list[LookupHit]:
    """Products for the shop-floor lookup, with stock per location and batch.

    First the codes (index lookups): an exact barcode or SKU, then products whose SKU or one of
    whose batch numbers starts with `q` (as typed or in capitals). Then, unless `q` is a code that
    was found, products whose name has every word of `q` (a word of three characters or more
    anywhere in the name, a shorter one at the start of a word; catalog/search.py), by name, to
    fill up to `limit`.
    """
    q = (q or "").strip()[:60]
    if len(q) < 2:
        return []
    hits: dict[int, LookupHit] = {}

    def add(rows):
        for product, loc, batch, qty in rows:
            hit = hits.get(product.id) or hits.setdefault(product.id, LookupHit(product))
            if loc is not None:
                hit.rows.append((loc, batch, qty))
                hit.on_hand += qty

    prefix = q.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    org_id = current_org_id()
    add(db.session.execute(_lookup_statements(), {"q": q, "upper": q.upper(), "prefix": prefix, "limit": limit,
                                                  "org_id": org_id}))
    words = search.query_words(q)
    if words and len(hits) < limit and not (hits and _looks_like_code(q)):
        params = {"found": list(hits), "limit": limit - len(hits), "org_id": org_id}
        for i, word in enumerate(words):
            params[f"key{i}"], params[f"prefix{i}"] = search.key_and_prefix(word)
        add(db.session.execute(_name_statement(len(words)), params))
    return list(hits.values())


def stock_of(product: Product) -> list[tuple[Location, Batch | None, Decimal]]:
    return db.session.execute(
        sa.select(Location, Batch, StockBalance.quantity)
        .join(StockBalance, StockBalance.location_id == Location.id)
        .outerjoin(Batch, Batch.id == StockBalance.batch_id)
        .where(StockBalance.product_id == product.id, StockBalance.quantity != 0)
        .order_by(Location.name, Batch.expiry_date)).all()


def product_stock(product: Product) -> ProductStock | None:
    return db.session.scalars(sa.select(ProductStock).where(ProductStock.product_id == product.id)).first()


def on_hand_by_product(product_ids: list[int]) -> dict[int, Decimal]:
    if not product_ids:
        return {}
    rows = db.session.execute(sa.select(StockBalance.product_id, sa.func.sum(StockBalance.quantity))
                              .where(StockBalance.product_id.in_(product_ids))
                              .group_by(StockBalance.product_id)).all()
    return {pid: q or ZERO for pid, q in rows}


@dataclass(frozen=True, slots=True)
class ValuedProduct:
    """What the valuation report shows of a product (not the ORM object: the report lists every
    stocked product, and loading 50,000 full products costs more than the report itself)."""
    id: int
    sku: str
    name: str
    unit: str
    category: str | None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.sku})"


@dataclass(slots=True)
class ValuationRow:
    product: ValuedProduct
    quantity: Decimal
    value: Decimal

    @property
    def unit_cost(self) -> Decimal | None:
        return (self.value / self.quantity).quantize(Decimal("0.01")) if self.quantity else None


def _valued(as_of: date, category: str | None, include_zero: bool):
    """Quantity and value of every stocked product at the end of `as_of`, as a subquery (id, sku,
    name, unit, category, quantity, value): the current pools minus what the moves dated after
    `as_of` did. Transfers are left out of that sum: they change neither the organization's
    quantity nor its value."""
    t = StockMove
    # With transfers out, a move with no source adds (a revaluation adds its quantity, 0).
    signed = sa.case((t.from_location_id.is_(None), t.quantity), else_=-t.quantity)
    later = (sa.select(t.product_id.label("product_id"), sa.func.sum(signed).label("quantity"),
                       sa.func.sum(t.value_change).label("value"))
             .where(t.date > as_of, sa.or_(t.from_location_id.is_(None), t.to_location_id.is_(None)))
             .group_by(t.product_id).subquery())
    ps = ProductStock
    # Only adding and subtracting: exact on both databases (see core/money.py). PostgreSQL
    # returns NUMERIC(18, 3) as Decimal already; SQLite's scaled integers need the column type.
    postgres = on_postgres()
    qty = sa.type_coerce(sa.func.coalesce(ps.pool_quantity - ps.backlog_quantity, 0)
                         - sa.func.coalesce(later.c.quantity, 0),
                         sa.Numeric(18, 3, asdecimal=True) if postgres else Quantity())
    value = sa.type_coerce(sa.func.coalesce(ps.pool_value - ps.backlog_value, 0)
                           - sa.func.coalesce(later.c.value, 0),
                           sa.Numeric(18, 3, asdecimal=True) if postgres else Money())
    stmt = (sa.select(Product.id, Product.sku, Product.name, Product.unit, Product.category,
                      qty.label("quantity"), value.label("value"))
            .outerjoin(ps, ps.product_id == Product.id)
            .outerjoin(later, later.c.product_id == Product.id)
            .where(Product.kind == STOCKED))
    if category:
        stmt = stmt.where(Product.category == category)
    if not include_zero:
        stmt = stmt.where(sa.or_(qty != 0, value != 0))
    return stmt


def valuation(as_of: date, *, category: str | None = None, include_zero: bool = False) -> tuple[list[ValuationRow], Decimal]:
    """Every stocked product's quantity and value at the end of `as_of`, by name, and their total
    (the downloads; the page shows `valuation_page`)."""
    stmt = _valued(as_of, category, include_zero).order_by(Product.name, Product.id)
    rows, total = [], ZERO
    for pid, sku, name, unit, cat, q, v in db.session.execute(stmt):
        rows.append(ValuationRow(ValuedProduct(pid, sku, name, unit, cat), q, v))
        total += v
    return rows, total


@dataclass
class CategoryValue:
    category: str | None
    products: int
    value: Decimal


@dataclass
class ValuationPage:
    """One page of the valuation, with what the whole report adds up to."""
    rows: list[ValuationRow]
    by_category: list[CategoryValue]
    page: int
    per_page: int

    @property
    def count(self) -> int:
        return sum(c.products for c in self.by_category)

    @property
    def total(self) -> Decimal:
        return sum((c.value for c in self.by_category), ZERO)

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def valuation_page(as_of: date, *, category: str | None = None, page: int = 1,
                   per_page: int = 100) -> ValuationPage:
    """A page of the valuation (by name) and the number and value of the products of each category,
    in one statement: the products' values are worked out once (a common table expression used
    twice), then grouped by category and cut to the page, without sending the other rows."""
    page = max(1, min(int(page), 100_000))
    v = _valued(as_of, category, False).cte("valued")
    # The summary's rows carry their number of products in the id column.
    summary = sa.select(sa.literal(0).label("part"), sa.func.count().label("id"), sa.null().label("sku"),
                        sa.null().label("name"), sa.null().label("unit"), v.c.category,
                        sa.null().label("quantity"), sa.func.sum(v.c.value).label("value")).group_by(v.c.category)
    rows = (sa.select(v).order_by(v.c.name, v.c.id).limit(per_page).offset((page - 1) * per_page).subquery())
    listed = sa.select(sa.literal(1).label("part"), rows.c.id, rows.c.sku, rows.c.name, rows.c.unit, rows.c.category,
                       rows.c.quantity, rows.c.value)
    out = ValuationPage([], [], page, per_page)
    for part, pid, sku, name, unit, cat, q, value in db.session.execute(sa.union_all(listed, summary)):
        if part:
            out.rows.append(ValuationRow(ValuedProduct(pid, sku, name, unit, cat), q, value))
        else:
            out.by_category.append(CategoryValue(cat, pid, value))
    out.rows.sort(key=lambda r: (r.product.name, r.product.id))
    out.by_category.sort(key=lambda c: (c.category is None, c.category or ""))
    return out


def valuation_total(as_of: date) -> Decimal:
    current = db.session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(ProductStock.pool_value), 0),
        sa.func.coalesce(sa.func.sum(ProductStock.backlog_value), 0))).one()
    later = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockMove.value_change), 0))
                              .where(StockMove.date > as_of))
    return Decimal(current[0]) - Decimal(current[1]) - Decimal(later)


def movements(product: Product, date_from: date, date_to: date, limit: int = 200):
    """A product's moves in a period with the running organization-wide quantity."""
    t = StockMove
    signed = sa.case((t.to_location_id.is_not(None) & t.from_location_id.is_(None), t.quantity),
                     (t.from_location_id.is_not(None) & t.to_location_id.is_(None), -t.quantity), else_=0)
    opening = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(signed), 0))
                                .where(t.product_id == product.id, t.date < date_from))
    moves = db.session.scalars(sa.select(StockMove).where(t.product_id == product.id, t.date >= date_from,
                                                          t.date <= date_to).order_by(t.date, t.id).limit(limit)
                               .options(sa.orm.joinedload(StockMove.batch),
                                        sa.orm.joinedload(StockMove.from_location),
                                        sa.orm.joinedload(StockMove.to_location))).all()
    running, rows = Decimal(opening), []
    for m in moves:
        if m.to_location_id and not m.from_location_id:
            running += m.quantity
        elif m.from_location_id and not m.to_location_id:
            running -= m.quantity
        rows.append((m, running))
    return Decimal(opening), rows


@dataclass
class ReorderRow:
    product: Product
    on_hand: Decimal
    suggested: Decimal


def reorder() -> list[ReorderRow]:
    """Products at or below their reorder point, with how much to order."""
    on_hand = sa.func.coalesce(sa.select(sa.func.sum(StockBalance.quantity))
                               .where(StockBalance.product_id == Product.id).scalar_subquery(), 0)
    rows = db.session.execute(sa.select(Product, on_hand.label("on_hand"))
                              .where(Product.active.is_(True), Product.kind == STOCKED,
                                     Product.reorder_point.is_not(None))
                              .order_by(Product.name)).all()
    out = []
    for p, qty in rows:
        qty = Decimal(qty or 0)
        if qty <= p.reorder_point:
            # The reorder quantity, but never less than what brings stock back to
            # the reorder point; without one, enough for twice the reorder point.
            gap = p.reorder_point - qty
            suggested = max(p.reorder_quantity, gap) if p.reorder_quantity else p.reorder_point + gap
            out.append(ReorderRow(p, qty, max(suggested, Decimal(1))))
    return out


@dataclass
class ExpiringRow:
    batch: Batch
    product: Product
    location: Location
    quantity: Decimal
    days_left: int


def expiring(within_days: int, today: date) -> list[ExpiringRow]:
    """Batches on hand that expire within `within_days` (or already have)."""
    limit = today + timedelta(days=within_days)
    rows = db.session.execute(
        sa.select(Batch, Product, Location, StockBalance.quantity)
        .join(StockBalance, StockBalance.batch_id == Batch.id)
        .join(Product, Product.id == Batch.product_id)
        .join(Location, Location.id == StockBalance.location_id)
        .where(StockBalance.quantity > 0, Batch.expiry_date.is_not(None), Batch.expiry_date <= limit)
        .order_by(Batch.expiry_date, Product.name)).all()
    return [ExpiringRow(b, p, loc, q, (b.expiry_date - today).days) for b, p, loc, q in rows]


def categories() -> list[str]:
    return list(db.session.scalars(sa.select(Product.category).where(Product.category.is_not(None))
                                   .distinct().order_by(Product.category)))
