"""Inventory benchmark: 50,000 products and 1,000,000 stock moves in one organization.

Targets (the inventory issue), on PostgreSQL, in-process: the shop-floor stock
lookup p50 <= 2 ms and p99 <= 5 ms; posting a goods receipt of 20 lines
<= 20 ms; the stock valuation report <= 300 ms.

The data set is generated with COPY (bench.generate.stock) and then checked
with SQL: on hand equals the moves, the cost pools equal the layers and the
moves' value changes, and the stock value equals the inventory account. A
failed check stops the benchmark; measuring inconsistent data proves nothing.
"""
from __future__ import annotations

import gc
import itertools
import os
import random
import time
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from bench.common import STOCK_CHECKS, bench_app, logged_in_client, page, report, timed
from bench.generate import make_org, stock

HX = {"HX-Request": "true"}

#: name: SQL counting the rows that break the rule (each must give 0).
CHECKS = {
    **STOCK_CHECKS,
    "product_stock on hand equals the balances": """
        WITH b AS (SELECT product_id, sum(quantity) AS q FROM stock_balance GROUP BY product_id)
        SELECT count(*) FROM b FULL JOIN product_stock ps ON ps.product_id = b.product_id
        WHERE coalesce(b.q, 0) <> coalesce(ps.pool_quantity - ps.backlog_quantity, 0)""",
    "product_stock value equals the moves' value changes": """
        WITH m AS (SELECT product_id, sum(value_change) AS v FROM stock_move GROUP BY product_id)
        SELECT count(*) FROM m FULL JOIN product_stock ps ON ps.product_id = m.product_id
        WHERE coalesce(m.v, 0) <> coalesce(ps.pool_value - ps.backlog_value, 0)""",
    "no backlog (negative stock is off)":
        "SELECT count(*) FROM product_stock WHERE backlog_quantity <> 0 OR backlog_value <> 0",
    "moving-average products have no layers": """
        SELECT count(*) FROM cost_layer l JOIN product p ON p.id = l.product_id
        WHERE p.costing_method = 'average'""",
    "every layer is an inbound move of its product": """
        SELECT count(*) FROM cost_layer l JOIN stock_move m ON m.id = l.move_id
        WHERE m.product_id <> l.product_id OR m.kind NOT IN ('receipt', 'opening', 'adjustment_in', 'return_in')
           OR m.quantity <> l.quantity OR m.date <> l.date""",
    "locations as docs/inventory.md says (in: to only, out: from only, transfer: both)": """
        SELECT count(*) FROM stock_move WHERE NOT (
            (kind IN ('receipt', 'opening', 'adjustment_in', 'return_in')
                AND from_location_id IS NULL AND to_location_id IS NOT NULL AND value_change >= 0)
         OR (kind IN ('issue', 'adjustment_out', 'write_off', 'return_out')
                AND from_location_id IS NOT NULL AND to_location_id IS NULL AND value_change <= 0)
         OR (kind = 'transfer' AND from_location_id IS NOT NULL AND to_location_id IS NOT NULL
                AND value_change = 0))""",
    "batch-tracked products move by batch, others never": """
        SELECT count(*) FROM stock_move m JOIN product p ON p.id = m.product_id
        WHERE p.tracks_batches <> (m.batch_id IS NOT NULL)""",
    "a batch belongs to the product it moves": """
        SELECT count(*) FROM stock_move m JOIN batch b ON b.id = m.batch_id WHERE b.product_id <> m.product_id""",
    "journal entries balance": """
        SELECT count(*) FROM (SELECT entry_id FROM journal_line GROUP BY entry_id
                              HAVING sum(debit) <> sum(credit)) x""",
}


def check(as_of: date) -> dict:
    """Run the consistency checks in the current tenant; SystemExit on the first failure."""
    from webapp.extensions import db
    from webapp.inventory import queries
    from webapp.ledger.queries import balance_of_role
    failures = []
    for name, sql in CHECKS.items():
        bad = db.session.execute(sa.text(sql)).scalar()
        if bad:
            failures.append(f"{name}: {bad} rows")
    from webapp.catalog.models import Product, ProductSearch
    from webapp.catalog.search import tokens
    indexed = {(pid, token, key, name, active) for pid, token, key, name, active in db.session.execute(
        sa.select(ProductSearch.product_id, ProductSearch.token, ProductSearch.key, ProductSearch.name,
                  ProductSearch.active))}
    named = {(pid, token, key, name, active) for pid, name, active in db.session.execute(
        sa.select(Product.id, Product.name, Product.active)) for key, token in tokens(name)}
    if indexed != named:
        failures.append(f"the name search table differs from the products' names: {len(indexed - named)} rows "
                        f"too many, {len(named - indexed)} missing")
    del indexed, named
    moved = db.session.execute(sa.text("SELECT coalesce(sum(value_change), 0) FROM stock_move")).scalar()
    pooled = db.session.execute(sa.text(
        "SELECT coalesce(sum(pool_value - backlog_value), 0) FROM product_stock")).scalar()
    ledger = balance_of_role("inventory", as_of)
    report_total = queries.valuation_total(as_of)
    if not (Decimal(moved) == Decimal(pooled) == ledger == report_total):
        failures.append(f"stock value differs: moves {moved}, pools {pooled}, inventory account {ledger}, "
                        f"valuation total {report_total}")
    if failures:
        raise SystemExit("The inventory data is inconsistent:\n  " + "\n  ".join(failures))
    return {"value": ledger}


def _query_mix(r: random.Random, n_each: int = 60) -> dict[str, list[str]]:
    """What people type: part of a name, the start of a SKU, a scanned barcode, a batch number."""
    from webapp.catalog.models import Product
    from webapp.extensions import db
    from webapp.inventory.models import Batch
    products = r.sample(db.session.execute(sa.select(Product.name, Product.sku, Product.barcode)
                                           .where(Product.active.is_(True)).order_by(Product.id)).all(), 4 * n_each)
    names = []
    for name, _, _ in products:
        words = [w for w in name.split() if len(w) >= 3 and w.isalpha()]
        if not words:
            continue
        w = r.choice(words).lower()
        names.append(w[:r.randint(3, min(6, len(w)))] if r.random() < 0.7 else
                     " ".join(name.lower().split()[:2])[:r.randint(5, 12)])
    skus = [sku[:-r.choice((1, 2))] for _, sku, _ in products]
    barcodes = [b for _, _, b in products if b]
    batches = r.sample(list(db.session.scalars(sa.select(Batch.number).where(Batch.number.not_like("R%"))
                                               .order_by(Batch.id))), n_each)
    return {"part of a name": names[:n_each], "SKU prefix": skus[:n_each], "exact barcode": barcodes[:n_each],
            "batch number": batches[:n_each]}


class _Rows(list):
    """Measurements, printed as they come (a long run shows its progress)."""

    def append(self, row):
        print(f"  {row[0]}: p50 {row[1]['p50_ms']} ms, p99 {row[1]['p99_ms']} ms", flush=True)
        super().append(row)

    def __iadd__(self, rows):
        for row in rows:
            self.append(row)
        return self


def _cycle(fn, items):
    it = itertools.cycle(items)
    return lambda: fn(next(it))


def _get(client, url, status=200, headers=None):
    def call(q):
        resp = client.get(url, query_string={"q": q}, headers=headers or {})
        assert resp.status_code == status, f"{url}?q={q} gave {resp.status_code}"
        return resp
    return call


def _receipt_runs(r: random.Random, runs: int) -> list[list[int]]:
    """20 different products per receipt (about a third of them batch-tracked, as in the catalogue)."""
    from webapp.catalog.models import Product
    from webapp.extensions import db
    ids = list(db.session.scalars(sa.select(Product.id).where(Product.active.is_(True),
                                                              Product.kind == "stocked")))
    return [r.sample(ids, 20) for _ in range(runs)]


def run(n_products: int = 50_000, n_moves: int = 1_000_000, fresh: bool = True) -> str:
    app = bench_app(fresh)
    org_id, user_id = make_org(app)
    if fresh:
        t0 = time.perf_counter()
        made = stock(app, org_id, n_products, n_moves)
        print(f"generated {made['products']:,} products, {made['moves']:,} moves, {made['batches']:,} batches, "
              f"{made['layers']:,} cost layers and {made['entries']:,} journal entries "
              f"({made['start']} to {made['end']}) in {time.perf_counter() - t0:.0f} s")
    from webapp.catalog.models import Product
    from webapp.core import audit, numbering
    from webapp.core.clock import today
    from webapp.core.tenancy import tenant
    from webapp.extensions import db
    from webapp.inventory import queries, services
    from webapp.inventory.models import ISSUE, RECEIPT, Batch, Location, StockBalance
    from webapp.orgs.queries import current_organization
    from webapp.inventory.services import MoveSpec
    from webapp.ledger.services import post_entry
    r = random.Random(3)
    on = today()
    past = on - timedelta(days=90)
    rows = _Rows()
    with app.app_context(), tenant(org_id), audit.acting_as(user_id):
        t0 = time.perf_counter()
        value = check(on)["value"]
        print(f"consistent: stock value {value:,} = inventory account ({time.perf_counter() - t0:.1f} s to check)")
        counts = db.session.execute(sa.text(
            "SELECT (SELECT count(*) FROM product), (SELECT count(*) FROM stock_move)")).one()
        db.session.rollback()

        # The generated layers, balances and batches must be usable by the real services:
        # sell one unit of 60 products (FIFO, LIFO, average; batch-tracked by expiry) and roll back.
        shop = db.session.scalars(sa.select(Location).where(Location.code == "SHOP")).one()
        sellable = db.session.scalars(
            sa.select(Product).join(StockBalance, StockBalance.product_id == Product.id)
            .join(Batch, Batch.id == StockBalance.batch_id, isouter=True)
            .where(StockBalance.location_id == shop.id, StockBalance.quantity >= 1,
                   sa.or_(Batch.id.is_(None), Batch.expiry_date >= on))
            .order_by(sa.func.random()).limit(60)).unique().all()
        result = services.apply([MoveSpec(ISSUE, p, Decimal(1), from_location=shop) for p in sellable], on=on,
                                source_type="bench")
        post_entry(date=on, memo="bench sale", lines=result.ledger_lines, source_type="bench")
        db.session.rollback()

        # As wsgi.py does once the app is loaded: the long-lived objects out of the collector's way.
        if os.environ.get("BENCH_GC_FREEZE", "1") != "0":
            gc.collect()
            gc.freeze()
        mix = _query_mix(r)
        everything = [q for qs in zip(*mix.values()) for q in qs]
        rows.append(("stock lookup, mixed queries (query, %d runs)" % (4 * len(everything)),
                     timed(_cycle(queries.lookup, everything), runs=4 * len(everything), warmup=20),
                     "p50 ≤ 2 ms, p99 ≤ 5 ms"))
        for kind, qs in mix.items():
            rows.append((f"stock lookup, {kind} (query)", timed(_cycle(queries.lookup, qs), runs=4 * len(qs)),
                         "p50 ≤ 2 ms, p99 ≤ 5 ms"))
        db.session.rollback()

        # A goods receipt of 20 lines through the real services, committed. As in a request, the
        # organization is loaded before (g.org holds it); the document is prepared (its products
        # loaded, new batches created, a number taken) and then posted: apply, post_entry, commit.
        org = current_organization()
        main_id = services.default_location().id
        plans = iter(_receipt_runs(r, 2 * 33))
        db.session.commit()

        def prepare():
            org.lock_date  # noqa: B018  (reloaded after the last commit, as at the start of a request)
            ids = next(plans)
            products = {p.id: p for p in db.session.scalars(sa.select(Product).where(Product.id.in_(ids)))}
            location = db.session.get(Location, main_id)
            number = numbering.next_number("goods_receipt", on, org.fiscal_year_start_month)
            specs = []
            for pid in ids:
                p = products[pid]
                batch = services.batch_for(p, f"R{number[-5:]}{pid % 1000:03d}", on + timedelta(days=540),
                                           p.sale_price) if p.tracks_batches else None
                specs.append(MoveSpec(RECEIPT, p, Decimal(r.randint(1, 100)), to_location=location, batch=batch,
                                      unit_cost=Decimal(r.randint(100, 90000)) / 100))
            return number, specs

        def post(document):
            number, specs = document
            result = services.apply(specs, on=on, source_type="goods_receipt", source_number=number)
            post_entry(date=on, memo=f"Goods received {number}", lines=result.ledger_lines,
                       source_type="goods_receipt", source_number=number)
            db.session.commit()

        rows.append(("post a goods receipt of 20 lines (apply + post_entry + commit)",
                     timed(post, setup=prepare), "≤ 20 ms"))
        rows.append(("the same with its preparation (load 20 products, create ~7 batches, number)",
                     timed(lambda: post(prepare())), "—"))
        check(on)    # what the real services added keeps everything consistent
        db.session.rollback()

        rows.append(("stock valuation page today: 100 rows by name + totals per category (query)",
                     timed(lambda: queries.valuation_page(on), runs=20), "≤ 300 ms"))
        rows.append(("stock valuation page 90 days ago (query)", timed(lambda: queries.valuation_page(past), runs=20),
                     "≤ 300 ms"))
        rows.append(("stock valuation page today, page 240 of 482 (query)",
                     timed(lambda: queries.valuation_page(on, page=240), runs=20), "≤ 300 ms"))
        rows.append((f"stock valuation today, all {counts[0]:,} products (query, for the downloads)",
                     timed(lambda: queries.valuation(on), runs=20), "—"))
        rows.append(("stock valuation 90 days ago, all products (query, for the downloads)",
                     timed(lambda: queries.valuation(past), runs=20), "—"))
        full, total = queries.valuation(past)
        assert total == queries.valuation_total(past), "valuation report and valuation_total disagree"
        paged = queries.valuation_page(past)
        assert paged.total == total and paged.count == len(full), "valuation page and full report disagree"
        assert [r.product.id for r in paged.rows] == [r.product.id for r in full[:100]]
        del full
        db.session.rollback()

    client = logged_in_client(app, "bench.traders@example.com")
    fragment = [q for kind, qs in mix.items() for q in qs]
    typed = [q for kind, qs in mix.items() if kind != "exact barcode" for q in qs]
    rows += [
        ("GET /stock/lookup?q=… htmx fragment (whole request)",
         timed(_cycle(_get(client, "/stock/lookup", headers=HX), fragment), runs=len(fragment)), "—"),
        ("GET /stock/lookup?q=… full page (whole request)",
         timed(_cycle(_get(client, "/stock/lookup"), typed), runs=len(typed)), "—"),
        ("GET /stock/lookup?q=barcode, Enter → 303 to the product (whole request)",
         timed(_cycle(_get(client, "/stock/lookup", status=303), mix["exact barcode"]), runs=len(mix["exact barcode"])),
         "—"),
        ("GET /stock/reports/valuation, today (whole page: 100 rows, totals per category)",
         timed(page(client, "/stock/reports/valuation"), runs=10, warmup=1), "≤ 300 ms"),
        ("GET /stock/reports/valuation, 90 days ago (whole page)",
         timed(page(client, "/stock/reports/valuation", date_to=past.isoformat()), runs=10, warmup=1), "≤ 300 ms"),
    ]
    return report(f"Inventory: {counts[0]:,} products, {counts[1]:,} stock moves in one organization", rows)
