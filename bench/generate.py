"""Realistic volumes for benchmarks, written with COPY (and kept consistent:
the day balances are derived from the generated lines exactly as the posting
service would have kept them)."""
from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from bench.common import raw_connection


@contextmanager
def bulk_load(conn, *tables):
    """COPY is refused under row-level security; the table owner lifts FORCE
    for the load (inside the same transaction) and puts it back."""
    cur = conn.cursor()
    for t in tables:
        cur.execute(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")
    yield
    for t in tables:
        cur.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")


def make_org(app, name="Bench Traders", **details):
    """The benchmark organization: created, or found again when the data is reused."""
    from tests.factories import create_org
    from webapp.auth.services import user_by_email
    from webapp.orgs.models import Membership
    from webapp.extensions import db
    email = f"{name.lower().replace(' ', '.')}@example.com"
    with app.app_context():
        user = user_by_email(email)
        if user is not None:
            m = db.session.scalars(sa.select(Membership).where(Membership.user_id == user.id)).first()
            return m.org_id, user.id
        return create_org(name, email=email, fiscal_year_start_month=4, **details)


def journal_lines(app, org_id: int, n_lines: int, *, start=date(2025, 4, 1), days=730, seed=7) -> None:
    """About `n_lines` journal lines in entries of 2–6 lines over `days` days."""
    from webapp.extensions import db
    from webapp.core.tenancy import tenant
    from webapp.ledger.models import Account
    with app.app_context(), tenant(org_id):
        accounts = {a.role or a.code: a.id for a in db.session.scalars(
            sa.select(Account).where(Account.is_group.is_(False)))}
    busy = [accounts[k] for k in ("receivables", "sales", "output_cgst", "output_sgst", "cash", "bank",
                                  "inventory", "cogs", "payables", "input_cgst", "input_sgst")]
    quiet = [v for v in accounts.values() if v not in busy]
    def generated(first_entry: int, first_line: int):
        """The same entries and lines on every pass (same seed): one COPY at a time."""
        r = random.Random(seed)
        entry_id, line_id, made = first_entry, first_line, 0
        while made < n_lines:
            entry_id += 1
            d = start + timedelta(days=r.randrange(days))
            k = r.choice((2, 2, 3, 4, 4, 6))
            debits = [round(r.uniform(1, 50000), 2) for _ in range(k - 1)]
            total = round(sum(debits), 2)
            pool = busy if r.random() < 0.85 else quiet
            lines = []
            for i, amount in enumerate(debits + [None], 1):
                line_id += 1
                acc = r.choice(pool)
                debit, credit = (f"{amount:.2f}", "0") if amount is not None else ("0", f"{total:.2f}")
                lines.append((line_id, org_id, entry_id, i, acc, d, debit, credit))
            made += k
            yield (entry_id, org_id, f"BENCH-{entry_id:08d}", d, "generated", "bench", f"{d} 12:00:00+00"), lines

    with raw_connection(app, org_id) as conn, bulk_load(conn, "journal_entry", "journal_line"):
        cur = conn.cursor()
        cur.execute("SELECT coalesce(max(id), 0) FROM journal_entry")
        first_entry = cur.fetchone()[0]
        cur.execute("SELECT coalesce(max(id), 0) FROM journal_line")
        first_line = cur.fetchone()[0]
        with cur.copy("COPY journal_entry (id, org_id, number, date, memo, source_type, posted_at) FROM STDIN") as copy:
            for entry, _ in generated(first_entry, first_line):
                copy.write_row(entry)
        with cur.copy("COPY journal_line (id, org_id, entry_id, line_no, account_id, date, debit, credit) "
                      "FROM STDIN") as copy:
            for _, lines in generated(first_entry, first_line):
                for line in lines:
                    copy.write_row(line)
        cur.execute("""INSERT INTO account_day_balance (org_id, account_id, date, debit, credit)
                       SELECT org_id, account_id, date, sum(debit), sum(credit) FROM journal_line
                       WHERE org_id = %s AND entry_id IN (SELECT id FROM journal_entry WHERE source_type = 'bench')
                       GROUP BY org_id, account_id, date
                       ON CONFLICT (org_id, account_id, date) DO UPDATE
                       SET debit = account_day_balance.debit + excluded.debit,
                           credit = account_day_balance.credit + excluded.credit""", (org_id,))
        for table in ("journal_entry", "journal_line", "account_day_balance"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute("ANALYZE journal_entry; ANALYZE journal_line; ANALYZE account_day_balance")


# ---------------------------------------------------------------- stock

# Word lists for product names, per category: (category, SKU prefix, share of
# products, share tracked by batch, units, HSN, GST rate, cost range, brands,
# bases, variants, sizes). A name is "brand base variant size".
CATALOG = [
    ("Medicines", "MED", 0.18, 0.92, ("strip", "bottle", "box"), "3004", "12", (8, 900),
     ["Cipla", "Sun Pharma", "Dr Reddy's", "Lupin", "Mankind", "Alkem", "Zydus", "Torrent", "Glenmark",
      "Abbott", "Micro Labs", "Intas", "Himalaya", "Dabur"],
     ["Paracetamol 500", "Paracetamol 650", "Azithromycin 500", "Amoxicillin 250", "Cetirizine 10",
      "Pantoprazole 40", "Metformin 500", "Atorvastatin 10", "Amlodipine 5", "Vitamin D3 60K", "Ibuprofen 400",
      "Omeprazole 20", "Montelukast 10", "Levocetirizine 5", "Telmisartan 40", "Calcium + D3", "Multivitamin",
      "Cough", "Ranitidine 150", "Diclofenac 50", "Ondansetron 4", "ORS Orange"],
     ["Tablet", "Capsule", "Syrup", "Suspension", "Drops", "Gel", "Ointment"],
     ["10s", "15s", "30s", "60 ml", "100 ml", "200 ml", "30 g"]),
    ("Groceries", "GRO", 0.22, 0.45, ("pcs", "pack", "kg"), "1006", "5", (10, 1200),
     ["Tata", "Aashirvaad", "Fortune", "Saffola", "Amul", "Britannia", "Parle", "MTR", "Everest", "MDH",
      "Haldiram's", "Patanjali", "Daawat", "India Gate", "Nestle", "Catch", "Sunfeast", "Kissan"],
     ["Atta", "Basmati Rice", "Sunflower Oil", "Toor Dal", "Moong Dal", "Salt", "Sugar", "Tea", "Coffee",
      "Biscuits", "Noodles", "Garam Masala", "Turmeric Powder", "Chilli Powder", "Ghee", "Butter",
      "Cheese Slices", "Poha", "Besan", "Ketchup", "Jam", "Pickle", "Rava", "Cornflakes", "Oats"],
     ["Classic", "Premium", "Gold", "Lite", "Organic", "Family Pack", "Select", ""],
     ["100 g", "200 g", "500 g", "1 kg", "2 kg", "5 kg", "500 ml", "1 l"]),
    ("Personal care", "PC", 0.14, 0.25, ("pcs", "bottle", "pack"), "3305", "18", (20, 600),
     ["Dove", "Lux", "Lifebuoy", "Dettol", "Colgate", "Pepsodent", "Himalaya", "Nivea", "Pond's",
      "Head & Shoulders", "Clinic Plus", "Parachute", "Vaseline", "Gillette", "Santoor", "Medimix"],
     ["Soap", "Shampoo", "Toothpaste", "Face Wash", "Body Lotion", "Hair Oil", "Talc", "Deodorant",
      "Hand Wash", "Shaving Cream", "Conditioner", "Toothbrush", "Lip Balm", "Cold Cream"],
     ["Aloe Vera", "Neem", "Lemon", "Sandal", "Herbal", "Men", "Kids", "Sensitive", "Fresh", ""],
     ["50 g", "75 g", "100 g", "150 ml", "200 ml", "400 ml", "Pack of 3"]),
    ("Household", "HH", 0.10, 0.10, ("pcs", "pack", "bottle"), "3402", "18", (15, 700),
     ["Surf Excel", "Ariel", "Tide", "Vim", "Harpic", "Lizol", "Colin", "Good Knight", "All Out", "Hit",
      "Odonil", "Scotch-Brite", "Exo", "Rin", "Comfort"],
     ["Detergent Powder", "Liquid Detergent", "Dishwash Bar", "Dishwash Gel", "Toilet Cleaner",
      "Floor Cleaner", "Glass Cleaner", "Mosquito Refill", "Insect Spray", "Air Freshener", "Scrub Pad",
      "Fabric Conditioner", "Garbage Bags"],
     ["Lemon", "Lavender", "Jasmine", "Pine", "Matic", "Power", "Easy Wash", ""],
     ["100 g", "500 g", "1 kg", "2 kg", "500 ml", "1 l", "Pack of 2"]),
    ("Stationery", "ST", 0.10, 0.0, ("pcs", "box", "pack", "dozen"), "4820", "12", (3, 400),
     ["Classmate", "Camlin", "Natraj", "Reynolds", "Cello", "Faber-Castell", "Apsara", "Kangaroo",
      "Fevicol", "Luxor", "Doms", "Navneet"],
     ["Notebook", "Ball Pen", "Gel Pen", "Pencil", "Eraser", "Sharpener", "Stapler", "Glue Stick", "Marker",
      "Highlighter", "Geometry Box", "Register", "Sketch Pens", "Crayons", "Drawing Book", "Stapler Pins"],
     ["Blue", "Black", "Red", "Assorted", "Ruled", "Unruled", "Jumbo", "Mini", ""],
     ["Single", "Pack of 5", "Pack of 10", "172 pages", "200 pages", "Box of 12"]),
    ("Hardware", "HW", 0.10, 0.0, ("pcs", "m", "kg", "l"), "8536", "18", (20, 4000),
     ["Asian Paints", "Berger", "Havells", "Anchor", "Finolex", "Polycab", "Jaquar", "Cera", "Taparia",
      "Stanley", "Bosch", "Supreme", "Astral", "Fevicol"],
     ["Wall Putty", "Emulsion Paint", "Enamel Paint", "PVC Pipe", "LED Bulb", "Modular Switch", "Copper Wire",
      "Bib Tap", "Screwdriver Set", "Claw Hammer", "Drill Bit", "MCB", "Extension Board", "Door Hinge",
      "Padlock", "Measuring Tape"],
     ["White", "Ivory", "9 W", "12 W", "6 A", "16 A", "1.5 sq mm", "2.5 sq mm", "Heavy Duty", ""],
     ["1 pc", "1 l", "4 l", "1 kg", "20 kg", "90 m", "3 m", "Set of 6"]),
    ("Electronics", "EL", 0.08, 0.0, ("pcs",), "8518", "18", (50, 6000),
     ["Philips", "Syska", "boAt", "Mi", "Samsung", "JBL", "Portronics", "SanDisk", "HP", "Duracell",
      "Eveready", "Ambrane", "Realme"],
     ["Earphones", "Power Bank", "USB Cable", "Fast Charger", "Memory Card", "Pen Drive", "Battery AA",
      "Battery AAA", "Trimmer", "Bluetooth Speaker", "Neckband", "Smart Bulb", "OTG Adapter"],
     ["Black", "White", "Blue", "Type-C", "Micro USB", "Wireless", "Pro", "Lite", ""],
     ["1 m", "2 m", "10000 mAh", "20000 mAh", "32 GB", "64 GB", "128 GB", "Pack of 4", "1 pc"]),
    ("Beverages", "BEV", 0.08, 0.55, ("bottle", "pack", "pcs"), "2202", "18", (10, 500),
     ["Coca-Cola", "Pepsi", "Sprite", "Frooti", "Maaza", "Real", "Tropicana", "Bisleri", "Kinley",
      "Red Bull", "Paper Boat", "Bournvita", "Horlicks", "Thums Up", "Limca"],
     ["Soft Drink", "Mango Drink", "Mixed Fruit Juice", "Orange Juice", "Mineral Water", "Soda",
      "Energy Drink", "Health Drink", "Aam Panna", "Iced Tea"],
     ["Regular", "Zero Sugar", "Diet", "Chocolate", "Kesar", "Family Pack", ""],
     ["250 ml", "500 ml", "600 ml", "1 l", "1.25 l", "2 l", "500 g", "1 kg"]),
]

#: Counter account of each move kind (webapp.inventory.services.COUNTER_ROLE).
_COUNTER = {"receipt": "grni", "opening": "opening_balance_equity", "adjustment_in": "stock_adjustments",
            "adjustment_out": "stock_adjustments", "write_off": "stock_adjustments", "issue": "cogs",
            "return_in": "cogs", "return_out": "grni"}
_SOURCE = {"receipt": "GRN", "opening": "OPN", "adjustment_in": "ADJ", "adjustment_out": "ADJ", "write_off": "ADJ",
           "issue": "INV", "return_in": "CN", "return_out": "DN", "transfer": "TRF"}


def _ean13(body: str) -> str:
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _catalog(r: random.Random, n_products: int):
    """(sku, barcode, name, unit, category, hsn, tax, price, kind, batches, costing, reorder_point,
    reorder_quantity, active, base cost) per product, with distinct names and SKUs."""
    barcodes = iter(r.sample(range(10**9), n_products))
    counts = [int(n_products * c[2]) for c in CATALOG]
    counts[1] += n_products - sum(counts)
    out = []
    for (cat, prefix, _, batch_share, units, hsn, tax, (lo, hi), brands, bases, variants, sizes), count in zip(
            CATALOG, counts):
        space = len(brands) * len(bases) * len(variants) * len(sizes)
        picks = r.sample(range(space), min(count, space))
        picks += r.sample(range(space), count - len(picks))       # only when a category is tiny
        seen = set()
        for n, code in enumerate(picks, 1):
            code, size = divmod(code, len(sizes))
            code, variant = divmod(code, len(variants))
            brand, base = divmod(code, len(bases))
            name = " ".join(w for w in (brands[brand], bases[base], variants[variant], sizes[size]) if w)
            while name in seen:
                name += " (new)"
            seen.add(name)
            roll = r.random()
            kind = "service" if roll < 0.015 else "stocked"
            tracks = kind == "stocked" and r.random() < batch_share
            costing = r.choices(("fifo", "average", "lifo"), (0.5, 0.38, 0.12))[0]
            cost = Decimal(str(round(r.uniform(lo, hi) * (1 if r.random() < 0.8 else 0.3), 2))).max(Decimal("1.00"))
            price = (cost * Decimal(str(round(r.uniform(1.12, 1.6), 2)))).quantize(Decimal("1.00"))
            unit = r.choice(units)
            reorder = Decimal(r.choice((5, 10, 12, 20, 24, 50))) if kind == "stocked" and r.random() < 0.6 else None
            out.append([f"{prefix}-{len(out) + 1:05d}", _ean13("890" + f"{next(barcodes):09d}") if r.random() < 0.92
                        else None, name, unit if kind == "stocked" else "service", cat, hsn, Decimal(tax), price,
                        kind, tracks, costing, reorder, reorder * 4 if reorder else None, r.random() > 0.02, cost])
    r.shuffle(out)            # products were not all created category by category
    return out


class _Product:
    """Everything the simulation tracks for one product (what the services keep in the database)."""
    __slots__ = ("id", "costing", "tracks", "frac", "base_cost", "pool_q", "pool_v", "last_cost", "bal",
                 "layers", "open", "head", "batches", "moves", "prefix", "price")

    def __init__(self, pid, costing, tracks, frac, base_cost, prefix, price):
        self.id, self.costing, self.tracks, self.frac = pid, costing, tracks, frac
        self.base_cost, self.prefix, self.price = base_cost, prefix, price
        self.pool_q = self.pool_v = self.last_cost = Decimal(0)
        self.bal = {}           # (batch sequence or 0, location id) -> quantity
        self.layers = []        # [move, date, quantity, unit cost, remaining quantity, remaining value]
        self.open = []          # LIFO: indexes of layers with something left, newest last
        self.head = 0           # FIFO: first layer with something left
        self.batches = []       # [id, number, expiry, mrp, created, sequence]
        self.moves = []


_CENT, _MICRO = Decimal("0.01"), Decimal("0.000001")


def _money(x: Decimal) -> Decimal:
    return x.quantize(_CENT, rounding=ROUND_HALF_UP)


def _simulate(r: random.Random, p: _Product, quota: int, dates: list, locs: dict, opening_day) -> None:
    """Post `quota` moves for one product exactly as webapp.inventory.services.apply would: guarded
    on hand, FIFO/LIFO layers or the moving average, first-expiry-first-out batches (a sale never
    takes an expired one), the last unit out takes what value is left."""
    main, shop, wh2 = locs["MAIN"], locs["SHOP"], locs["WH2"]
    uses_wh2 = r.random() < 0.3
    lot = Decimal(r.choice((6, 12, 24, 48, 100, 200)))
    small = max(1, int(lot) // 4)
    reorder = lot / 3

    def qty(n):  # whole units, or kilograms/metres to the gram
        if p.frac:
            return (Decimal(n) * Decimal(r.randint(500, 1500)) / 1000).quantize(Decimal("0.001")).max(Decimal("0.001"))
        return Decimal(max(1, n))

    def move(d, kind, batch, frm, to, q, unit_cost, value):
        m = [0, d, kind, p.id, batch, frm, to, q, unit_cost, value]
        p.moves.append(m)
        return m

    def receive(d, kind, to, q, unit_cost, batch):
        value = _money(q * unit_cost)
        m = move(d, kind, batch, None, to, q, unit_cost, value)
        p.pool_q += q
        p.pool_v += value
        if p.costing != "average":
            p.layers.append([m, d, q, unit_cost, q, value])
            p.open.append(len(p.layers) - 1)
        p.last_cost = unit_cost
        key = (batch[5] if batch else 0, to)
        p.bal[key] = p.bal.get(key, Decimal(0)) + q
        return 1

    def issue_cost(q):
        if p.costing == "average":
            cost = p.pool_v if q == p.pool_q else _money(p.pool_v * q / p.pool_q)
        else:
            need, cost = q, Decimal(0)
            while need:
                if p.costing == "fifo":
                    while p.layers[p.head][4] == 0:
                        p.head += 1
                    layer = p.layers[p.head]
                else:
                    layer = p.layers[p.open[-1]]
                take = min(need, layer[4])
                c = layer[5] if take == layer[4] else min(layer[5], _money(take * layer[3]))
                layer[4] -= take
                layer[5] -= c
                cost += c
                need -= take
                if p.costing == "lifo" and layer[4] == 0:
                    p.open.pop()
        p.pool_q -= q
        p.pool_v -= cost
        return cost

    def available(loc, d, include_expired):
        """[(batch, quantity)] at a location, first expiry first (batches in creation order on ties)."""
        if not p.tracks:
            q = p.bal.get((0, loc), Decimal(0))
            return [(None, q)] if q > 0 else []
        rows = [(b, p.bal.get((b[5], loc), Decimal(0))) for b in p.batches]
        rows = [(b, q) for b, q in rows if q > 0 and (include_expired or b[2] >= d)]
        rows.sort(key=lambda bq: bq[0][2])      # stable: creation order among equal expiries
        return rows

    def send(d, kind, frm, to, want, limit, batch=None):
        """Outbound or transfer of `want` from `frm`: picks per batch, at most `limit` moves; 0 if nothing."""
        picks = available(frm, d, kind != "issue") if batch is None else [(batch, p.bal[(batch[5], frm)])]
        made, need = 0, want
        for b, have in picks[:limit]:
            take = min(need, have)
            key = (b[5] if b else 0, frm)
            p.bal[key] -= take
            if kind == "transfer":
                k2 = (key[0], to)
                p.bal[k2] = p.bal.get(k2, Decimal(0)) + take
                move(d, kind, b, frm, to, take, Decimal(0), Decimal(0))
            else:
                cost = issue_cost(take)
                move(d, kind, b, frm, None, take, (cost / take).quantize(_MICRO), -cost)
            made += 1
            need -= take
            if not need:
                break
        return made

    def new_batch(d):
        seq = len(p.batches) + 1
        b = [None, f"{p.prefix}{d:%y%m}{seq:02d}{r.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}",
             d + timedelta(days=r.choice((120, 180, 270, 365, 540, 730))), (p.price * Decimal("1.1")).quantize(_CENT), d,
             seq]
        p.batches.append(b)
        return b

    def current_cost():
        return (p.pool_v / p.pool_q).quantize(_MICRO) if p.pool_q > 0 else p.last_cost

    def purchase(d, kind="receipt"):
        to = wh2 if uses_wh2 and r.random() < 0.35 else main
        cost = (p.base_cost * Decimal(str(round(r.uniform(0.92, 1.08), 3)))).quantize(
            _CENT if r.random() < 0.7 else Decimal("0.0001")).max(Decimal("0.01"))
        batch = None
        if p.tracks:
            last = p.batches[-1] if p.batches else None
            batch = last if last and last[2] > d + timedelta(days=60) and r.random() < 0.2 else new_batch(d)
        return receive(d, kind, to, qty(int(lot * Decimal(str(r.uniform(0.5, 1.5))))), cost, batch)

    emitted, first = 0, True
    for d in dates:
        left = quota - emitted
        if left <= 0:
            break
        if first:
            first = False
            emitted += purchase(opening_day if d == opening_day else d, "opening" if d == opening_day else "receipt")
            continue
        roll = r.random()
        made = 0
        if roll < 0.025:                                    # a customer brings something back
            batch = p.batches[-1] if p.tracks else None
            made = receive(d, "return_in", shop, qty(r.randint(1, 2)), current_cost(), batch)
        elif roll < 0.04:                                   # back to the supplier
            made = send(d, "return_out", main, None, qty(r.randint(1, small)), left)
        elif roll < 0.05:                                   # found in a count
            batch = p.batches[-1] if p.tracks else None
            made = receive(d, "adjustment_in", r.choice((main, shop)), qty(r.randint(1, 3)), current_cost(), batch)
        elif roll < 0.065:                                  # missing in a count
            made = send(d, "adjustment_out", r.choice((main, shop)), None, qty(r.randint(1, 3)), left)
        elif roll < 0.08:                                   # damaged, or expired batches thrown away
            frm = r.choice((main, shop))
            expired = [b for b in p.batches if b[2] < d and p.bal.get((b[5], frm), 0) > 0] if p.tracks else []
            if expired:
                b = expired[0]
                made = send(d, "write_off", frm, None, p.bal[(b[5], frm)], 1, batch=b)
            else:
                made = send(d, "write_off", frm, None, qty(1), left)
        elif p.pool_q <= reorder and r.random() < 0.7:      # low: the supplier delivers
            made = purchase(d)
        else:                                               # a sale, mostly over the shop counter
            frm = shop if r.random() < 0.85 else main
            made = send(d, "issue", frm, None, qty(r.randint(1, small)), left)
            if not made:                                    # the shelf is empty: restock it
                if frm == main or not available(main, d, True):
                    frm, to = (wh2, main) if available(wh2, d, True) else (None, None)
                else:
                    frm, to = main, shop
                if frm:
                    made = send(d, "transfer", frm, to, qty(int(lot // 2) or 1), left)
        if not made:                                        # nothing to take anywhere: goods come in
            made = purchase(d)
        emitted += made


def stock(app, org_id: int, n_products: int = 50_000, n_moves: int = 1_000_000, *, days: int = 730,
          end: date | None = None, seed: int = 11) -> dict:
    """A catalogue of `n_products` and `n_moves` stock moves over `days` days up to `end` (today), with
    everything the services keep beside the moves: batches, on hand per product/batch/location,
    the cost pools and FIFO/LIFO layers, and the inventory side of the ledger (one journal entry per
    day against GRNI, cost of goods sold, stock adjustments and opening balance equity)."""
    from webapp.core.clock import today
    from webapp.core.tenancy import tenant
    from webapp.extensions import db
    from webapp.inventory import services
    from webapp.inventory.models import Location
    from webapp.ledger.models import Account
    r = random.Random(seed)
    end = end or today()
    start = end - timedelta(days=days - 1)
    with app.app_context(), tenant(org_id):
        existing = {loc.code: loc for loc in db.session.scalars(sa.select(Location))}
        if "SHOP" not in existing:
            services.add_location("SHOP", "Shop floor", "store")
        if "WH2" not in existing:
            services.add_location("WH2", "Godown 2", "warehouse")
        db.session.commit()
        locs = {loc.code: loc.id for loc in db.session.scalars(sa.select(Location))}
        accounts = {a.role: a.id for a in db.session.scalars(sa.select(Account).where(Account.role.is_not(None)))}
        from webapp.core.money import currency
        from webapp.orgs.queries import current_organization
        # The simulation rounds values to paise, as services._money does for a 2-decimal currency.
        assert currency(current_organization().base_currency).precision == 2, "stock() assumes 2 decimals"

    catalog = _catalog(r, n_products)
    with raw_connection(app, org_id) as conn:
        cur = conn.cursor()
        cur.execute("SELECT coalesce(max(id), 0) FROM product")
        first_product = cur.fetchone()[0] + 1
    sims, quotas = [], []
    for i, row in enumerate(catalog):
        stocked = row[8] == "stocked" and row[13]
        sims.append(_Product(first_product + i, row[10], row[9], row[3] in ("kg", "l", "m"), row[14],
                             row[0].split("-")[0][:2], row[7]) if stocked else None)
        quotas.append(r.paretovariate(1.3) if stocked else 0.0)
    # Moves per product: a long tail (a few products move several times a day, most a few times a month).
    total, cap = sum(quotas), 3 * days
    quotas = [min(cap, max(2, int(q / total * n_moves))) if q else 0 for q in quotas]
    have = sum(quotas)
    while have != n_moves:
        i = r.randrange(len(quotas))
        if have < n_moves and 0 < quotas[i] < cap:
            step = min(n_moves - have, cap - quotas[i], 20)
        elif have > n_moves and quotas[i] > 2:
            step = -min(have - n_moves, quotas[i] - 2, 20)
        else:
            continue
        quotas[i] += step
        have += step
    for p, quota in zip(sims, quotas):
        if p is None:
            continue
        born = start if r.random() < 0.4 else start + timedelta(days=r.randrange(days - 30))
        span = (end - born).days + 1
        dates = sorted(born + timedelta(days=r.randrange(span)) for _ in range(quota))
        dates[0] = born
        _simulate(r, p, quota, dates, locs, start)
    live = [p for p in sims if p is not None]
    moves = [m for p in live for m in p.moves]
    assert len(moves) == n_moves, f"generated {len(moves)} moves, wanted {n_moves}"
    # Posted in date order, documents of a day interleaved; one product's moves keep their own order.
    order = {p.id: r.random() for p in live}
    seq = {}
    for p in live:
        for i, m in enumerate(p.moves):
            seq[id(m)] = i
    moves.sort(key=lambda m: (m[1], order[m[3]], seq[id(m)]))
    del seq
    with raw_connection(app, org_id) as conn:
        cur = conn.cursor()
        ids = {}
        for table in ("batch", "stock_move", "cost_layer", "stock_balance", "product_stock", "journal_entry",
                      "journal_line"):
            cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            ids[table] = cur.fetchone()[0]
        batches = sorted(((b, p.id) for p in live for b in p.batches), key=lambda bp: (bp[0][4], bp[1], bp[0][5]))
        batches = [b for b, _ in batches]
        for n, b in enumerate(batches, ids["batch"] + 1):
            b[0] = n
        for n, m in enumerate(moves, ids["stock_move"] + 1):
            m[0] = n
        tables = ("product", "batch", "stock_move", "cost_layer", "stock_balance", "product_stock",
                  "journal_entry", "journal_line")
        with bulk_load(conn, *tables, "product_search"):
            stamp = f"{start} 08:00:00+00"
            with cur.copy("COPY product (id, org_id, sku, barcode, name, unit, category, hsn_code, tax_rate, "
                          "sale_price, kind, tracks_batches, costing_method, reorder_point, reorder_quantity, "
                          "active, created_at, version) FROM STDIN") as copy:
                for i, row in enumerate(catalog):
                    copy.write_row((first_product + i, org_id, *row[:14], stamp, 1))
            # The name search rows, as catalog.services writes them with each product (catalog/search.py).
            from webapp.catalog.search import tokens
            with cur.copy("COPY product_search (org_id, product_id, token, key, name, active) FROM STDIN") as copy:
                for i, row in enumerate(catalog):
                    for key, token in sorted(tokens(row[2])):
                        copy.write_row((org_id, first_product + i, token, key, row[2], row[13]))
            with cur.copy("COPY batch (id, org_id, product_id, number, expiry_date, mrp, created_at) FROM STDIN") as copy:
                for p in live:
                    for b in p.batches:
                        copy.write_row((b[0], org_id, p.id, b[1], b[2], b[3], f"{b[4]} 09:00:00+00"))
            counters = {}
            with cur.copy("COPY stock_move (id, org_id, date, kind, product_id, batch_id, from_location_id, "
                          "to_location_id, quantity, unit_cost, value_change, source_type, source_number, "
                          "created_at) FROM STDIN") as copy:
                for m in moves:
                    prefix = _SOURCE[m[2]]
                    counters[prefix] = counters.get(prefix, 0) + 1
                    copy.write_row((m[0], org_id, m[1], m[2], m[3], m[4][0] if m[4] else None, m[5], m[6], m[7],
                                    m[8], m[9], "bench", f"{prefix}-B{counters[prefix]:07d}", f"{m[1]} 10:00:00+00"))
            with cur.copy("COPY cost_layer (id, org_id, product_id, move_id, date, quantity, unit_cost, "
                          "remaining_quantity, remaining_value) FROM STDIN") as copy:
                layers = sorted(((l, p.id) for p in live for l in p.layers), key=lambda lp: lp[0][0][0])
                for n, (l, pid) in enumerate(layers, ids["cost_layer"] + 1):
                    copy.write_row((n, org_id, pid, l[0][0], l[1], l[2], l[3], l[4], l[5]))
            with cur.copy("COPY stock_balance (id, org_id, product_id, batch_id, location_id, quantity) "
                          "FROM STDIN") as copy:
                n = ids["stock_balance"]
                for p in live:
                    for (seq, loc), q in p.bal.items():
                        n += 1
                        copy.write_row((n, org_id, p.id, p.batches[seq - 1][0] if seq else None, loc, q))
            with cur.copy("COPY product_stock (id, org_id, product_id, pool_quantity, pool_value, "
                          "backlog_quantity, backlog_value, last_unit_cost) FROM STDIN") as copy:
                for n, p in enumerate(live, ids["product_stock"] + 1):
                    copy.write_row((n, org_id, p.id, p.pool_q, p.pool_v, 0, 0, p.last_cost))
            # The ledger: what each day's moves did to inventory, against each counter account, as
            # services._ledger_lines would post it (+ debits inventory), one entry per day.
            by_day = {}
            for m in moves:
                if m[2] != "transfer":
                    day = by_day.setdefault(m[1], {})
                    role = _COUNTER[m[2]]
                    day[role] = day.get(role, Decimal(0)) + m[9]
            entry_id, line_id = ids["journal_entry"], ids["journal_line"]
            entries, lines = [], []
            for d in sorted(by_day):
                entry_id += 1
                entries.append((entry_id, org_id, f"STK-{d:%Y%m%d}", d, "Stock moves of the day", "bench",
                                f"{d} 23:00:00+00"))
                n = 0
                for role, value in sorted(by_day[d].items()):
                    if not value:
                        continue
                    pair = ([(accounts["inventory"], value, 0), (accounts[role], 0, value)] if value > 0 else
                            [(accounts[role], -value, 0), (accounts["inventory"], 0, -value)])
                    for acc, debit, credit in pair:
                        n += 1
                        line_id += 1
                        lines.append((line_id, org_id, entry_id, n, acc, d, debit, credit))
            with cur.copy("COPY journal_entry (id, org_id, number, date, memo, source_type, posted_at) "
                          "FROM STDIN") as copy:
                for e in entries:
                    copy.write_row(e)
            with cur.copy("COPY journal_line (id, org_id, entry_id, line_no, account_id, date, debit, credit) "
                          "FROM STDIN") as copy:
                for line in lines:
                    copy.write_row(line)
        cur.execute("""INSERT INTO account_day_balance (org_id, account_id, date, debit, credit)
                       SELECT org_id, account_id, date, sum(debit), sum(credit) FROM journal_line
                       WHERE org_id = %s AND entry_id > %s
                       GROUP BY org_id, account_id, date
                       ON CONFLICT (org_id, account_id, date) DO UPDATE
                       SET debit = account_day_balance.debit + excluded.debit,
                           credit = account_day_balance.credit + excluded.credit""", (org_id, ids["journal_entry"]))
        for table in tables + ("account_day_balance",):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT greatest(max(id), 1) FROM {table}))")
        for table in tables + ("account_day_balance", "product_search"):
            cur.execute(f"ANALYZE {table}")
    # The search is read from its index alone once the table's pages are marked all-visible, which
    # autovacuum does soon after a bulk load (insert threshold); done here so that every run starts
    # from that steady state.
    with raw_connection(app, org_id) as conn:
        conn.commit()
        raw = conn.driver_connection
        raw.autocommit = True
        try:
            raw.execute("VACUUM product_search")
        finally:
            raw.autocommit = False
    return {"products": n_products, "moves": len(moves), "batches": len(batches), "layers": len(layers),
            "entries": len(entries), "start": start, "end": end}
