"""A year-round trading business for the sales benchmark, written with COPY.

One organization (India GST, Karnataka, fiscal year from April): ~2,000
customers, ~5,000 products (a quarter of the stocked ones batch-tracked, FIFO,
LIFO and moving average), and over two years up to today 100,000 posted
invoices of 1–10 lines, plus cancelled ones and recent drafts, with their
payments. Everything the services would have written beside the documents is
written too and kept consistent, exactly as the services compute it:

* every invoice's figures come from the real tax engine (`core.tax.compute`,
  as `core.trade.recompute` runs it), numbers from gapless per-year series;
* posting issues the stock first-expiry-first-out from the main warehouse,
  costed FIFO/LIFO through cost layers or at the moving average (as
  `inventory.services.apply`), and posts one journal entry per invoice in
  `sales.services.post_invoice`'s order: receivables (with the customer) —
  cost of goods sold / inventory — sales — output tax by kind — round-off;
* a cancellation posts the reversal and brings the goods back at exactly the
  cost they left at (return moves, new cost layers), as `cancel_invoice`;
* payments (cash, bank) post cash/bank against receivables and are allocated
  to their invoice, which becomes paid or partly paid;
* stock comes in as opening stock and as receipts when the shelf runs low
  (one journal entry per day against GRNI);
* the day balances, on hand, cost pools, layers, sequences and number
  counters are derived from the rows, as the services keep them.

`check()` proves it with SQL (trial balance, receivables = open invoices,
stock value = inventory account, totals = lines, on hand = moves, …).
"""
from __future__ import annotations

import json
import random
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from bench.common import LEDGER_CHECKS, STOCK_CHECKS, raw_connection
from webapp.sales.search import tokens as search_tokens

ORG_NAME = "Bench Sales"
OWNER_EMAIL = "bench.sales@example.com"

_CENT = Decimal("0.01")
_MICRO = Decimal("0.000001")
ZERO = Decimal(0)
TAX_ROLE = {"CGST": "output_cgst", "SGST": "output_sgst", "IGST": "output_igst", "VAT": "output_vat"}


def _money(x: Decimal) -> Decimal:
    # services._money for INR (two places, half up)
    return x.quantize(_CENT, rounding=ROUND_HALF_UP)


@contextmanager
def bulk_load(conn, *tables):
    """COPY is refused under row-level security; the table owner lifts FORCE for
    the load (inside the same transaction) and puts it back."""
    cur = conn.cursor()
    for t in tables:
        cur.execute(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")
    yield
    for t in tables:
        cur.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")


def make_org(app) -> tuple[int, int]:
    """The benchmark organization (India GST, Karnataka), created or found again."""
    from tests.factories import create_org
    from webapp.auth.services import user_by_email
    from webapp.extensions import db
    from webapp.orgs.models import Membership
    with app.app_context():
        user = user_by_email(OWNER_EMAIL)
        if user is not None:
            m = db.session.scalars(sa.select(Membership).where(Membership.user_id == user.id)).first()
            return m.org_id, user.id
        return create_org(ORG_NAME, email=OWNER_EMAIL, owner_name="Suresh Rao", fiscal_year_start_month=4)


# ---------------------------------------------------------------- word lists

# (category, SKU prefix, share, batch-tracked share, units, HSN, GST rate, cost range, brands, items, sizes)
CATALOG = [
    ("Medicines", "MED", 0.20, 0.9, ("strip", "bottle", "box"), "3004", "12", (8, 900),
     ["Cipla", "Sun Pharma", "Dr Reddy's", "Lupin", "Mankind", "Alkem", "Zydus", "Torrent", "Glenmark", "Abbott",
      "Intas", "Himalaya"],
     ["Paracetamol 500 Tablet", "Paracetamol 650 Tablet", "Azithromycin 500 Tablet", "Amoxicillin 250 Capsule",
      "Cetirizine 10 Tablet", "Pantoprazole 40 Tablet", "Metformin 500 Tablet", "Atorvastatin 10 Tablet",
      "Amlodipine 5 Tablet", "Vitamin D3 60K Capsule", "Ibuprofen 400 Tablet", "Cough Syrup", "ORS Orange",
      "Montelukast 10 Tablet", "Multivitamin Capsule", "Diclofenac Gel"],
     ["10s", "15s", "30s", "60 ml", "100 ml", "200 ml", "30 g"]),
    ("Groceries", "GRO", 0.24, 0.3, ("pcs", "pack", "kg"), "1006", "5", (10, 1200),
     ["Tata", "Aashirvaad", "Fortune", "Saffola", "Amul", "Britannia", "Parle", "MTR", "Everest", "MDH",
      "Haldiram's", "India Gate", "Nestle"],
     ["Atta", "Basmati Rice", "Sunflower Oil", "Toor Dal", "Moong Dal", "Salt", "Sugar", "Tea", "Coffee", "Biscuits",
      "Noodles", "Garam Masala", "Turmeric Powder", "Ghee", "Butter", "Poha", "Besan", "Ketchup"],
     ["100 g", "200 g", "500 g", "1 kg", "2 kg", "5 kg", "500 ml", "1 l"]),
    ("Personal care", "PC", 0.16, 0.15, ("pcs", "bottle", "pack"), "3305", "18", (20, 600),
     ["Dove", "Lux", "Lifebuoy", "Dettol", "Colgate", "Himalaya", "Nivea", "Pond's", "Parachute", "Santoor",
      "Medimix"],
     ["Soap", "Shampoo", "Toothpaste", "Face Wash", "Body Lotion", "Hair Oil", "Talc", "Hand Wash", "Conditioner"],
     ["50 g", "75 g", "100 g", "150 ml", "200 ml", "400 ml", "Pack of 3"]),
    ("Household", "HH", 0.12, 0.0, ("pcs", "pack", "bottle"), "3402", "18", (15, 700),
     ["Surf Excel", "Ariel", "Tide", "Vim", "Harpic", "Lizol", "Colin", "Good Knight", "Hit", "Scotch-Brite", "Exo"],
     ["Detergent Powder", "Liquid Detergent", "Dishwash Bar", "Dishwash Gel", "Toilet Cleaner", "Floor Cleaner",
      "Mosquito Refill", "Insect Spray", "Scrub Pad"],
     ["100 g", "500 g", "1 kg", "2 kg", "500 ml", "1 l", "Pack of 2"]),
    ("Stationery", "ST", 0.10, 0.0, ("pcs", "box", "pack"), "4820", "12", (3, 400),
     ["Classmate", "Camlin", "Natraj", "Reynolds", "Cello", "Faber-Castell", "Apsara", "Doms"],
     ["Notebook", "Ball Pen", "Gel Pen", "Pencil", "Eraser", "Stapler", "Glue Stick", "Marker", "Register"],
     ["Single", "Pack of 5", "Pack of 10", "172 pages", "Box of 12"]),
    ("Hardware", "HW", 0.10, 0.0, ("pcs", "m", "kg"), "8536", "18", (20, 4000),
     ["Asian Paints", "Havells", "Anchor", "Finolex", "Polycab", "Taparia", "Stanley", "Supreme"],
     ["Wall Putty", "Emulsion Paint", "PVC Pipe", "LED Bulb", "Modular Switch", "Copper Wire", "Screwdriver Set",
      "MCB", "Extension Board", "Padlock"],
     ["1 pc", "1 l", "4 l", "1 kg", "20 kg", "90 m", "Set of 6"]),
    ("Electronics", "EL", 0.08, 0.0, ("pcs",), "8518", "18", (50, 6000),
     ["Philips", "Syska", "boAt", "Mi", "Samsung", "JBL", "Portronics", "SanDisk", "Duracell"],
     ["Earphones", "Power Bank", "USB Cable", "Fast Charger", "Memory Card", "Pen Drive", "Battery AA",
      "Bluetooth Speaker"],
     ["1 m", "2 m", "10000 mAh", "32 GB", "64 GB", "Pack of 4", "1 pc"]),
]
SERVICES = [("Delivery charges", "9965", "18", (30, 250)), ("Installation", "9987", "18", (200, 1500)),
            ("Annual maintenance", "9987", "18", (1000, 6000)), ("Packing charges", "9985", "18", (20, 150))]

FIRST = ["Sri", "Shree", "New", "Om", "Jai", "Royal", "Star", "Sai", "Maruti", "Vijaya", "Ganga", "Annapurna",
         "Lakshmi", "Balaji", "Venkateshwara", "Manjunatha", "Kaveri", "Tulsi", "Janata", "Apollo", "City", "Green"]
MIDDLE = ["Ganesh", "Krishna", "Durga", "Raghavendra", "Mahalakshmi", "Murugan", "Basava", "Hanuman", "Padmavathi",
          "Chamundi", "Kamadhenu", "Vinayaka", "Srinivasa", "Nandi", "Amrut", "Prakash", "Sagar", "Deepa", ""]
KIND = ["Medicals", "Pharma", "Traders", "Stores", "Enterprises", "Agencies", "General Stores", "Provision Stores",
        "Super Market", "Hardware", "Clinic", "Hospital", "Distributors", "Electricals", "Nursing Home", "Mart"]
AREAS = [("Jayanagar", "Bengaluru", "560041"), ("Malleshwaram", "Bengaluru", "560003"),
         ("Indiranagar", "Bengaluru", "560038"), ("Koramangala", "Bengaluru", "560034"),
         ("Rajajinagar", "Bengaluru", "560010"), ("Basavanagudi", "Bengaluru", "560004"),
         ("Whitefield", "Bengaluru", "560066"), ("Yelahanka", "Bengaluru", "560064"),
         ("Vijayanagar", "Mysuru", "570017"), ("Gokulam", "Mysuru", "570002"), ("Hampankatta", "Mangaluru", "575001"),
         ("Vidyanagar", "Hubballi", "580021"), ("Tilakwadi", "Belagavi", "590006"), ("Tumakuru", "Tumakuru", "572101")]
OTHER_STATES = [("27", "Pune", "411001"), ("33", "Chennai", "600017"), ("32", "Kochi", "682016"),
                ("36", "Hyderabad", "500034"), ("07", "New Delhi", "110001")]
PEOPLE = ["Ramesh", "Suresh", "Lakshmi", "Anitha", "Prakash", "Kavya", "Mohan", "Deepa", "Arjun", "Farah", "Imran",
          "Nandini", "Vikram", "Shwetha", "Girish", "Meera"]


def _gstin(r: random.Random, state: str) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    pan = "".join(r.choice(letters) for _ in range(5)) + f"{r.randrange(10000):04d}" + r.choice(letters)
    return f"{state}{pan}1Z{r.choice('0123456789ABCDEFGHJKLMNPQRSTUVWXYZ')}"


def _customers(r: random.Random, n: int, first_id: int, org_id: int, stamp: str) -> list[dict]:
    out, seen = [], set()
    for i in range(n):
        while True:
            name = " ".join(w for w in (r.choice(FIRST), r.choice(MIDDLE), r.choice(KIND)) if w)
            local = r.random() < 0.82
            area, city, pin = r.choice(AREAS) if local else ("", *r.choice(OTHER_STATES)[1:])
            if (name, area or city) in seen:
                continue
            seen.add((name, area or city))
            break
        state = "29" if local else next(s for s, c, _ in OTHER_STATES if c == city)
        b2b = r.random() < 0.65
        out.append({
            "id": first_id + i, "org_id": org_id, "code": f"C{i + 1:05d}",
            "name": f"{name}, {area}" if area and r.random() < 0.5 else name,
            "is_customer": True, "is_supplier": False, "is_walk_in": False,
            "tax_id": _gstin(r, state) if b2b else None,
            "contact_name": f"{r.choice(PEOPLE)} {r.choice(['Rao', 'Kumar', 'Shetty', 'Nair', 'Gowda', 'Iyer', 'Khan', 'Reddy'])}",
            "phone": f"+91 9{r.randrange(10**9):09d}", "email": None if r.random() < 0.4 else f"accounts{i + 1}@example.in",
            "billing_address": f"{r.randint(1, 480)}, {r.choice(['1st Main', '4th Cross', 'MG Road', 'Station Road', 'Market Road', '80 Feet Road'])}"
                               + (f", {area}" if area else ""),
            "billing_city": city, "billing_postal_code": pin, "state": state, "country": "IN",
            "shipping_address": None, "shipping_state": None,
            "credit_limit": Decimal(r.choice((200000, 500000, 1000000, 2500000))) if b2b and r.random() < 0.5 else None,
            "payment_terms_days": r.choice((0, 7, 15, 30, 30, 45)) if b2b else r.choice((0, 0, 7)),
            "currency": "INR", "notes": None, "active": True, "created_at": stamp, "version": 1,
        })
    return out


def _products(r: random.Random, n: int, first_id: int, org_id: int, stamp: str) -> list[dict]:
    counts = [int(n * 0.985 * c[2]) for c in CATALOG]
    counts[1] += int(n * 0.985) - sum(counts)
    out, seen = [], set()
    for (cat, prefix, _, batch_share, units, hsn, rate, (lo, hi), brands, items, sizes), count in zip(CATALOG, counts):
        for _ in range(count):
            while True:
                name = f"{r.choice(brands)} {r.choice(items)} {r.choice(sizes)}"
                if name not in seen:
                    break
                name = f"{name} ({r.choice(['New', 'Value', 'Jumbo', 'Mini', 'Pro', 'Plus'])})"
                if name not in seen:
                    break
            seen.add(name)
            cost = Decimal(str(round(r.uniform(lo, hi) * (1 if r.random() < 0.8 else 0.3), 2))).max(Decimal("1.00"))
            out.append({"sku": None, "prefix": prefix, "name": name, "unit": r.choice(units), "category": cat,
                        "hsn": hsn, "rate": Decimal(rate), "cost": cost,
                        "price": (cost * Decimal(str(round(r.uniform(1.12, 1.5), 2)))).quantize(_CENT),
                        "kind": "stocked", "tracks": r.random() < batch_share,
                        "costing": r.choices(("fifo", "average", "lifo"), (0.5, 0.38, 0.12))[0]})
    while len(out) < n:
        name, sac, rate, (lo, hi) = SERVICES[len(out) % len(SERVICES)]
        k = len(out)
        out.append({"sku": None, "prefix": "SVC", "name": f"{name} {k}" if k >= len(SERVICES) else name,
                    "unit": "service", "category": "Services", "hsn": sac, "rate": Decimal(rate),
                    "cost": ZERO, "price": Decimal(r.randint(lo, hi)), "kind": "service", "tracks": False,
                    "costing": "fifo"})
    r.shuffle(out)
    for i, p in enumerate(out):
        p["id"] = first_id + i
        p["sku"] = f"{p['prefix']}-{i + 1:05d}"
        p["barcode"] = f"890{r.randrange(10**10):010d}" if p["kind"] == "stocked" and r.random() < 0.9 else None
        p["org_id"], p["stamp"] = org_id, stamp
    return out


# ---------------------------------------------------------------- stock simulation

class _Stock:
    """One stocked product as the stock engine keeps it."""
    __slots__ = ("p", "pool_q", "pool_v", "last_cost", "layers", "head", "open", "batches", "qty", "lot")

    def __init__(self, p: dict, lot: Decimal):
        self.p, self.lot = p, lot
        self.pool_q = self.pool_v = self.last_cost = ZERO
        self.layers = []     # [move, date, quantity, unit cost, remaining quantity, remaining value]
        self.head = 0        # FIFO: first layer with something left
        self.open = []       # LIFO: indexes of layers with something left, newest last
        self.batches = []    # [id, number, expiry, mrp, created date, quantity at MAIN]
        self.qty = ZERO      # on hand at MAIN (products without batches)


class _Gen:
    def __init__(self, r: random.Random, org_id: int, user_id: int, main: int, accounts: dict, first: dict):
        self.r, self.org_id, self.user_id, self.main, self.acc = r, org_id, user_id, main, accounts
        self.moves, self.layers, self.entries, self.lines = [], [], [], []
        self.ids = dict(first)
        self.counters = defaultdict(int)         # (kind, fy) -> last number
        self.receipts_today = ZERO
        self.batch_rows = []

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    @staticmethod
    def fy(d: date) -> str:
        start = d.year if d.month >= 4 else d.year - 1
        return f"{start}-{str(start + 1)[-2:]}"

    def number(self, kind: str, prefix: str, d: date) -> str:
        fy = self.fy(d)
        self.counters[(kind, fy)] += 1
        return f"{prefix}-{fy}-{self.counters[(kind, fy)]:05d}"

    # ---- ledger
    def entry(self, d: date, memo: str, source_type: str, lines: list, *, source_id=None, source_number=None,
              reversal_of=None, at: str | None = None) -> int:
        """lines: (account role or id, debit, credit, memo, party id); zero lines left out, as post_invoice does."""
        eid = self.next_id("journal_entry")
        self.entries.append((eid, self.org_id, self.number("journal", "JE", d), d, memo[:300], source_type, source_id,
                             source_number, reversal_of, at or f"{d} 12:00:00+00", self.user_id))
        n = 0
        for acc, debit, credit, lmemo, party in lines:
            if not debit and not credit:
                continue
            n += 1
            self.lines.append((self.next_id("journal_line"), self.org_id, eid, n, self.acc.get(acc, acc), d,
                               debit, credit, lmemo, party))
        return eid

    # ---- stock
    def move(self, d, kind, s: _Stock, batch, frm, to, q, unit_cost, value, source_type, source_id, number):
        m = [self.next_id("stock_move"), d, kind, s.p["id"], batch[0] if batch else None, frm, to, q, unit_cost, value,
             source_type, source_id, number]
        self.moves.append(m)
        return m

    def receive(self, s: _Stock, d: date, kind: str, q: Decimal, unit_cost: Decimal, batch, source_type, source_id,
                number, value: Decimal | None = None) -> Decimal:
        value = _money(q * unit_cost) if value is None else value
        m = self.move(d, kind, s, batch, None, self.main, q, unit_cost, value, source_type, source_id, number)
        s.pool_q += q
        s.pool_v += value
        if s.p["costing"] != "average":
            s.layers.append([m[0], d, q, unit_cost, q, value])
            s.open.append(len(s.layers) - 1)
        s.last_cost = unit_cost
        if batch is not None:
            batch[5] += q
        else:
            s.qty += q
        return value

    def new_batch(self, s: _Stock, d: date) -> list:
        b = [self.next_id("batch"), f"{s.p['prefix'][:2]}{d:%y%m}{len(s.batches) + 1:02d}{self.r.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}",
             d + timedelta(days=self.r.choice((365, 540, 730, 900))), (s.p["price"] * Decimal("1.1")).quantize(_CENT), d,
             ZERO]
        s.batches.append(b)
        self.batch_rows.append((b, s.p["id"]))
        return b

    def purchase(self, s: _Stock, d: date, need: Decimal, kind: str = "receipt") -> None:
        q = max(need, s.lot * Decimal(str(round(self.r.uniform(0.6, 1.4), 2))))
        q = q.quantize(Decimal("0.001") if self.frac(s) else Decimal(1), rounding=ROUND_CEILING)
        cost = (s.p["cost"] * Decimal(str(round(self.r.uniform(0.93, 1.07), 3)))).quantize(
            _CENT if self.r.random() < 0.7 else Decimal("0.0001")).max(_CENT)
        batch = self.new_batch(s, d) if s.p["tracks"] else None
        prefix = "OPN" if kind == "opening" else "GRN"
        self.counters[(prefix, "")] += 1
        value = self.receive(s, d, kind, q, cost, batch, "bench", None, f"{prefix}-B{self.counters[(prefix, '')]:07d}")
        if kind == "opening":
            self.opening_value += value
        else:
            self.receipts_today += value

    @staticmethod
    def frac(s: _Stock) -> bool:
        return s.p["unit"] in ("kg", "m", "l")

    def available(self, s: _Stock, d: date) -> list:
        """(batch, quantity) first expiry first, never an expired batch (a sale)."""
        if not s.p["tracks"]:
            return [(None, s.qty)] if s.qty > 0 else []
        rows = [(b, b[5]) for b in s.batches if b[5] > 0 and not b[2] < d]
        rows.sort(key=lambda bq: (bq[0][2] is None, bq[0][2], bq[0][0]))
        return rows

    def issue_cost(self, s: _Stock, q: Decimal) -> Decimal:
        if s.p["costing"] == "average":
            cost = s.pool_v if q == s.pool_q else _money(s.pool_v * q / s.pool_q)
        else:
            need, cost = q, ZERO
            while need:
                if s.p["costing"] == "fifo":
                    while s.layers[s.head][4] == 0:
                        s.head += 1
                    layer = s.layers[s.head]
                else:
                    while s.layers[s.open[-1]][4] == 0:
                        s.open.pop()
                    layer = s.layers[s.open[-1]]
                take = min(need, layer[4])
                c = layer[5] if take == layer[4] else min(layer[5], _money(take * layer[3]))
                layer[4] -= take
                layer[5] -= c
                cost += c
                need -= take
        s.pool_q -= q
        s.pool_v -= cost
        return cost

    def issue(self, s: _Stock, d: date, q: Decimal, doc_id: int, number: str) -> tuple[Decimal, list]:
        """Sell `q` from MAIN (buying first if the shelf is short); returns (cost, moves)."""
        have = sum((x for _, x in self.available(s, d)), ZERO)
        if have < q:
            self.purchase(s, d, q - have + s.lot / 2)
        cost, made = ZERO, []
        need = q
        for batch, have in self.available(s, d):
            take = min(need, have)
            c = self.issue_cost(s, take)
            if batch is not None:
                batch[5] -= take
            else:
                s.qty -= take
            made.append(self.move(d, "issue", s, batch, self.main, None, take, (c / take).quantize(_MICRO), -c,
                                  "invoice", doc_id, number))
            cost += c
            need -= take
            if not need:
                break
        assert need == 0
        return cost, made


# ---------------------------------------------------------------- the generator

def sales(app, org_id: int, user_id: int, *, n_invoices: int = 100_000, n_customers: int = 2_000,
          n_products: int = 5_000, n_drafts: int = 300, days: int = 730, end: date | None = None,
          seed: int = 23) -> dict:
    from webapp.core import tax
    from webapp.core.clock import today
    from webapp.core.tenancy import tenant
    from webapp.extensions import db
    from webapp.inventory.services import default_location
    from webapp.ledger.models import Account
    from webapp.orgs.queries import current_organization
    from webapp.parties.models import Party

    r = random.Random(seed)
    end = end or today()
    start = end - timedelta(days=days - 1)
    with app.app_context(), tenant(org_id):
        org = current_organization()
        assert org.tax_regime == "gst_india" and org.base_currency == "INR" and org.fiscal_year_start_month == 4
        seller_state, terms = org.state, org.invoice_terms
        accounts = {a.role: a.id for a in db.session.scalars(sa.select(Account).where(Account.role.is_not(None)))}
        main = default_location().id
        walk_in = db.session.scalars(sa.select(Party).where(Party.is_walk_in.is_(True))).one()
        walk_in = {c.key: getattr(walk_in, c.key) for c in sa.inspect(Party).column_attrs}
        db.session.rollback()

    tables = ("party", "product", "batch", "sales_document", "sales_line", "stock_move", "cost_layer",
              "stock_balance", "product_stock", "journal_entry", "journal_line", "payment", "allocation")
    with raw_connection(app, org_id) as conn:
        cur = conn.cursor()
        first = {}
        for t in tables:
            cur.execute(f"SELECT coalesce(max(id), 0) FROM {t}")
            first[t] = cur.fetchone()[0]
    stamp = f"{start - timedelta(days=30)} 09:00:00+00"
    customers = _customers(r, n_customers, first["party"] + 1, org_id, stamp)
    products = _products(r, n_products, first["product"] + 1, org_id, stamp)
    g = _Gen(r, org_id, user_id, main, accounts, first)
    g.opening_value = ZERO

    # Who buys: the counter (walk-in) a quarter of the time; regular customers by a long tail.
    buyers = [walk_in] + customers
    buyer_w = [0.25 * sum(w := [r.paretovariate(1.2) for _ in customers])] + w
    stocked = [p for p in products if p["kind"] == "stocked"]
    services = [p for p in products if p["kind"] == "service"]
    pop = [r.paretovariate(1.1) for _ in stocked]
    # About how much of a product sells over the period: the opening stock and the reorder lot follow.
    stock = {}
    total_pop = sum(pop)
    for p, w in zip(stocked, pop):
        yearly = Decimal(max(4, int(w / total_pop * n_invoices * 5.5 * 4 / 2)))
        stock[p["id"]] = _Stock(p, (yearly / 8).quantize(Decimal(1)).max(Decimal(4)))
    for s in stock.values():                    # opening stock on the first day
        g.purchase(s, start, s.lot, "opening")
    g.entry(start, "Opening stock", "bench", [("inventory", g.opening_value, ZERO, "Opening stock", None),
                                               ("opening_balance_equity", ZERO, g.opening_value, "Opening stock", None)],
            at=f"{start} 08:00:00+00")

    # Invoice dates: more on weekdays, the business growing over the two years.
    day_w = []
    for i in range(days):
        d = start + timedelta(days=i)
        day_w.append((0.35 if d.weekday() == 6 else 0.85 if d.weekday() == 5 else 1.0) * (0.7 + 0.6 * i / days))
    n_cancel = round(n_invoices * 0.015)               # cancelled on top: n_invoices stay posted
    per_day = defaultdict(int)
    for i in r.choices(range(days), day_w, k=n_invoices + n_cancel):
        per_day[i] += 1
    to_cancel = set(r.sample(range(n_invoices + n_cancel), n_cancel))
    seq = 0

    docs, doc_lines, payments, allocations = [], [], [], []
    cancels = defaultdict(list)       # day -> [(doc, moves)]
    pays = defaultdict(list)          # day -> [(doc, amount, account role, method)]
    doc_id, line_id = first["sales_document"], first["sales_line"]
    n_cancelled = 0

    def lines_for(buyer, d):
        n = min(10, max(1, int(r.triangular(1, 11, 3))))
        chosen = r.choices(stocked, pop, k=n + 2)
        seen, out = set(), []
        for p in chosen:
            if p["id"] not in seen and len(out) < n:
                seen.add(p["id"])
                out.append(p)
        if buyer is not walk_in and r.random() < 0.04:
            out.append(r.choice(services))
        return out

    def quantity(p):
        if p["unit"] in ("kg", "m", "l"):
            return (Decimal(r.randint(250, 25000)) / 1000).quantize(Decimal("0.001"))
        return Decimal(r.choice((1, 1, 1, 2, 2, 3, 4, 5, 6, 10, 12, 24)))

    def snapshot(c):
        return {"name": c["name"], "code": c["code"], "tax_id": c["tax_id"], "address": c["billing_address"],
                "city": c["billing_city"], "postal_code": c["billing_postal_code"], "state": c["state"],
                "country": c["country"], "shipping_address": c["shipping_address"],
                "shipping_state": c["shipping_state"], "phone": c["phone"], "email": c["email"]}

    def build(buyer, d, status):
        """A document's lines and figures, as the editor and recompute make them."""
        nonlocal line_id
        pos = buyer["shipping_state"] or buyer["state"]
        items = lines_for(buyer, d)
        specs = []
        for p in items:
            q = quantity(p) if p["kind"] == "stocked" else Decimal(1)
            pct = Decimal(r.choice((5, 10, 2.5))) if buyer is not walk_in and r.random() < 0.12 else None
            specs.append((p, q, p["price"], pct))
        ctx = tax.TaxContext(regime="gst_india", currency="INR", seller_state=seller_state, place_of_supply=pos,
                             prices_include_tax=False)
        result = tax.compute(ctx, [tax.LineInput(quantity=q, unit_price=price, tax_rate=p["rate"], discount_percent=pct)
                                   for p, q, price, pct in specs])
        rows = []
        for n, ((p, q, price, pct), lr) in enumerate(zip(specs, result.lines), 1):
            line_id += 1
            comps = {c.kind: c.amount for c in lr.taxes}
            rows.append([line_id, org_id, None, None, None, ZERO, ZERO, n, p["name"], p["hsn"], p["unit"], q, price,
                         pct, None, p["rate"], lr.taxable, lr.discount, comps.get("CGST", ZERO),
                         comps.get("SGST", ZERO), comps.get("IGST", ZERO), ZERO, lr.tax_total, lr.total, p["id"]])
        breakdown = [{"kind": b.kind, "rate": str(b.rate), "taxable": str(b.taxable), "amount": str(b.amount)}
                     for b in result.breakdown if b.amount or b.rate]
        return pos, specs, rows, result, breakdown

    for i in range(days):
        d = start + timedelta(days=i)
        g.receipts_today = ZERO
        for _ in range(per_day.get(i, 0)):
            buyer = r.choices(buyers, buyer_w)[0]
            doc_id += 1
            pos, specs, rows, result, breakdown = build(buyer, d, "posted")
            number = g.number("invoice", "INV", d)
            costs, issued = [], []
            for (p, q, _, _), row in zip(specs, rows):
                row[2] = doc_id
                if p["kind"] == "stocked":
                    c, made = g.issue(stock[p["id"]], d, q, doc_id, number)
                    row[6] = c
                    issued += made
                    costs.append(c)
            cost = sum(costs, ZERO)
            posted_at = f"{d} {r.randint(9, 19):02d}:{r.randint(0, 59):02d}:00+00"
            lines = [("receivables", result.grand_total, ZERO, number, buyer["id"])]
            if cost:
                lines += [("cogs", cost, ZERO, number, None), ("inventory", ZERO, cost, number, None)]
            lines.append(("sales", ZERO, result.taxable_total, number, None))
            taxes = defaultdict(lambda: ZERO)
            for b in breakdown:
                taxes[b["kind"]] += Decimal(b["amount"])
            for kind, amount in sorted(taxes.items()):
                lines.append((TAX_ROLE[kind], ZERO, amount, f"{number} {kind}", None))
            if result.rounding:
                lines.append(("rounding", ZERO, result.rounding, None, None) if result.rounding > 0
                             else ("rounding", -result.rounding, ZERO, None, None))
            lines = [(a, dr, cr, m if a != "rounding" else None, party) for a, dr, cr, m, party in lines]
            entry_id = g.entry(d, f"Invoice {number} — {buyer['name']}", "invoice", lines, source_id=doc_id,
                               source_number=number, at=posted_at)
            doc = {"id": doc_id, "status": "posted", "number": number, "customer": buyer, "date": d,
                   "due_date": d + timedelta(days=buyer["payment_terms_days"]), "pos": pos, "result": result,
                   "breakdown": breakdown, "cost": cost, "entry_id": entry_id, "posted_at": posted_at,
                   "amount_paid": ZERO, "cancel_entry_id": None, "cancelled_at": None, "cancel_reason": None,
                   "entry_lines": lines, "version": 2 + 2 * len(rows), "snapshot": snapshot(buyer),
                   "reference": f"PO-{r.randint(1000, 99999)}" if buyer is not walk_in and r.random() < 0.3 else None}
            docs.append(doc)
            doc_lines += rows
            total = result.grand_total
            # What happens to it next: cancelled (1.5 %), or paid on time, late, in part, or not yet.
            seq += 1
            if seq - 1 in to_cancel:
                later = min(end, d + timedelta(days=r.choice((0, 0, 1, 2, 5))))
                cancels[later].append((doc, issued))
                n_cancelled += 1
                continue
            if buyer is walk_in:
                pays[d].append((doc, total, "cash", r.choice(("cash", "cash", "upi", "card"))))
                continue
            due = doc["due_date"]
            when = due + timedelta(days=int(r.triangular(-5, 60, 3)))
            when = max(when, d)
            roll = r.random()
            if roll < 0.12:              # a part now, the rest later
                part = _money(total * Decimal(r.choice(("0.25", "0.4", "0.5", "0.6"))))
                if part > 0 and when <= end:
                    pays[when].append((doc, part, "bank", r.choice(("bank_transfer", "upi", "cheque"))))
                    rest = when + timedelta(days=r.randint(15, 75))
                    if rest <= end:
                        pays[rest].append((doc, total - part, "bank", r.choice(("bank_transfer", "upi"))))
            elif roll < 0.97 and when <= end:
                method = r.choice(("bank_transfer", "bank_transfer", "upi", "cheque", "cash"))
                pays[when].append((doc, total, "cash" if method == "cash" else "bank", method))
        for doc, issued in cancels.pop(d, []):
            reason = r.choice(("Entered for the wrong customer", "Customer cancelled the order", "Duplicate entry",
                               "Wrong quantity"))
            at = f"{d} 20:00:00+00"
            doc["cancel_entry_id"] = g.entry(
                d, f"Cancellation of {doc['number']}: {reason}", "invoice",
                [(a, cr, dr, m, party) for a, dr, cr, m, party in doc["entry_lines"]],
                source_id=doc["id"], source_number=doc["number"], reversal_of=doc["entry_id"], at=at)
            for m in issued:
                s = stock[m[3]]
                batch = next(b for b in s.batches if b[0] == m[4]) if m[4] else None
                g.receive(s, d, "return_in", m[7], m[8], batch, "invoice", doc["id"], doc["number"], value=-m[9])
            doc.update(status="cancelled", cancelled_at=at, cancel_reason=reason, version=doc["version"] + 1)
        for doc, amount, role, method in pays.pop(d, []):
            pid = g.next_id("payment")
            number = g.number("payment_in", "RCT", d)
            party = doc["customer"]
            ref = doc["number"] if role == "bank" else None
            eid = g.entry(d, f"{number} Receipt from {party['name']}", "payment",
                          [(role, amount, ZERO, ref, None), ("receivables", ZERO, amount, None, party["id"])],
                          source_id=pid, source_number=number, at=f"{d} 17:30:00+00")
            payments.append((pid, org_id, number, "in", "posted", d, party["id"], accounts[role], method, ref, None,
                             "INR", amount, amount, ZERO, None, eid, None, user_id, f"{d} 17:30:00+00"))
            allocations.append((g.next_id("allocation"), org_id, pid, doc["id"], None, amount, max(d, doc["date"]),
                                f"{d} 17:30:00+00", user_id, None, None))
            doc["amount_paid"] += amount
        if g.receipts_today:
            g.entry(d, "Goods received (bench)", "bench",
                    [("inventory", g.receipts_today, ZERO, "Goods received", None),
                     ("grni", ZERO, g.receipts_today, "Goods received", None)], at=f"{d} 21:00:00+00")

    # Drafts being worked on: the last two weeks, no number, no stock, no ledger.
    for _ in range(n_drafts):
        d = end - timedelta(days=r.randrange(14))
        buyer = r.choices(buyers, buyer_w)[0]
        doc_id += 1
        pos, specs, rows, result, breakdown = build(buyer, d, "draft")
        for row in rows:
            row[2] = doc_id
        docs.append({"id": doc_id, "status": "draft", "number": None, "customer": buyer, "date": d, "due_date": None,
                     "pos": pos, "result": result, "breakdown": breakdown, "cost": ZERO, "entry_id": None,
                     "posted_at": None, "amount_paid": ZERO, "cancel_entry_id": None, "cancelled_at": None,
                     "cancel_reason": None, "version": 1 + 2 * len(rows), "snapshot": None, "reference": None})
        doc_lines += rows

    # A credit limit the business kept to: at least what the customer owes today and a lakh more.
    owed = defaultdict(lambda: ZERO)
    for doc in docs:
        if doc["status"] == "posted":
            owed[doc["customer"]["id"]] += doc["result"].grand_total - doc["amount_paid"]
    for c in customers:
        if c["credit_limit"] is not None and c["credit_limit"] < owed[c["id"]] + 100_000:
            c["credit_limit"] = Decimal(int((owed[c["id"]] + 100_000) // 100_000 + 1) * 100_000)

    # ---------------------------------------------------------------- write
    with raw_connection(app, org_id) as conn, bulk_load(conn, *tables, "sales_document_search"):
        cur = conn.cursor()
        cols = ["id", "org_id", "code", "name", "is_customer", "is_supplier", "is_walk_in", "tax_id", "contact_name",
                "phone", "email", "billing_address", "billing_city", "billing_postal_code", "state", "country",
                "shipping_address", "shipping_state", "credit_limit", "payment_terms_days", "currency", "notes",
                "active", "created_at", "version"]
        with cur.copy(f"COPY party ({', '.join(cols)}) FROM STDIN") as copy:
            for c in customers:
                copy.write_row([c[k] for k in cols])
        with cur.copy("COPY product (id, org_id, sku, barcode, name, unit, category, hsn_code, tax_rate, sale_price, "
                      "kind, tracks_batches, costing_method, active, purchase_price, created_at, version) "
                      "FROM STDIN") as copy:
            for p in products:
                copy.write_row((p["id"], org_id, p["sku"], p["barcode"], p["name"], p["unit"], p["category"], p["hsn"],
                                p["rate"], p["price"], p["kind"], p["tracks"], p["costing"], True,
                                p["cost"] if p["kind"] == "stocked" else None, stamp, 1))
        with cur.copy("COPY batch (id, org_id, product_id, number, expiry_date, mrp, created_at) FROM STDIN") as copy:
            for b, pid in g.batch_rows:
                copy.write_row((b[0], org_id, pid, b[1], b[2], b[3], f"{b[4]} 09:00:00+00"))
        with cur.copy("COPY journal_entry (id, org_id, number, date, memo, source_type, source_id, source_number, "
                      "reversal_of_id, posted_at, posted_by_id) FROM STDIN") as copy:
            for e in g.entries:
                copy.write_row(e)
        with cur.copy("COPY journal_line (id, org_id, entry_id, line_no, account_id, date, debit, credit, memo, "
                      "party_id) FROM STDIN") as copy:
            for line in g.lines:
                copy.write_row(line)
        with cur.copy("COPY sales_document (id, org_id, doc_type, status, number, customer_id, due_date, reference, "
                      "terms, customer_snapshot, amount_paid, payment_status, cost_total, location_id, entry_id, "
                      "cancel_entry_id, cancelled_at, cancel_reason, posted_at, posted_by_id, created_by_id, "
                      "created_at, date, currency, place_of_supply, prices_include_tax, taxable_total, tax_total, "
                      "rounding, grand_total, tax_breakdown, notes, version) FROM STDIN") as copy:
            for doc in docs:
                res, paid = doc["result"], doc["amount_paid"]
                status = "unpaid" if not paid else "paid" if paid == res.grand_total else "partly_paid"
                copy.write_row((doc["id"], org_id, "invoice", doc["status"], doc["number"], doc["customer"]["id"],
                                doc["due_date"], doc["reference"], terms,
                                json.dumps(doc["snapshot"]) if doc["snapshot"] else None, paid, status, doc["cost"],
                                None, doc["entry_id"], doc["cancel_entry_id"], doc["cancelled_at"],
                                doc["cancel_reason"], doc["posted_at"], user_id if doc["posted_at"] else None,
                                user_id, f"{doc['date']} 09:00:00+00", doc["date"], "INR", doc["pos"], False,
                                res.taxable_total, res.tax_total, res.rounding, res.grand_total,
                                json.dumps(doc["breakdown"]), None, doc["version"]))
        with cur.copy("COPY sales_document_search (org_id, document_id, token) FROM STDIN") as copy:
            for doc in docs:
                for token in sorted(search_tokens(doc["number"], doc["reference"])):
                    copy.write_row((org_id, doc["id"], token))
        with cur.copy("COPY sales_line (id, org_id, document_id, batch_id, source_line_id, invoiced_quantity, cost, "
                      "position, description, hsn_code, unit, quantity, unit_price, discount_percent, "
                      "discount_amount, tax_rate, taxable, discount, cgst, sgst, igst, vat, tax_amount, total, "
                      "product_id) FROM STDIN") as copy:
            for row in doc_lines:
                copy.write_row(row)
        with cur.copy("COPY stock_move (id, org_id, date, kind, product_id, batch_id, from_location_id, "
                      "to_location_id, quantity, unit_cost, value_change, source_type, source_id, source_number, "
                      "created_at, created_by_id) FROM STDIN") as copy:
            for m in g.moves:
                copy.write_row((m[0], org_id, *m[1:], f"{m[1]} 10:00:00+00", user_id))
        n_layers = 0
        with cur.copy("COPY cost_layer (id, org_id, product_id, move_id, date, quantity, unit_cost, "
                      "remaining_quantity, remaining_value) FROM STDIN") as copy:
            layers = sorted(((l, s.p["id"]) for s in stock.values() for l in s.layers), key=lambda lp: lp[0][0])
            for n, (l, pid) in enumerate(layers, first["cost_layer"] + 1):
                copy.write_row((n, org_id, pid, *l))
                n_layers += 1
        with cur.copy("COPY stock_balance (id, org_id, product_id, batch_id, location_id, quantity) FROM STDIN") as copy:
            n = first["stock_balance"]
            for s in stock.values():
                for b in s.batches:
                    n += 1
                    copy.write_row((n, org_id, s.p["id"], b[0], main, b[5]))
                if not s.p["tracks"]:
                    n += 1
                    copy.write_row((n, org_id, s.p["id"], None, main, s.qty))
        with cur.copy("COPY product_stock (id, org_id, product_id, pool_quantity, pool_value, backlog_quantity, "
                      "backlog_value, last_unit_cost) FROM STDIN") as copy:
            for n, s in enumerate(stock.values(), first["product_stock"] + 1):
                copy.write_row((n, org_id, s.p["id"], s.pool_q, s.pool_v, 0, 0, s.last_cost))
        with cur.copy("COPY payment (id, org_id, number, direction, status, date, party_id, account_id, method, "
                      "reference, memo, currency, amount, allocated_amount, refunded_amount, idempotency_key, "
                      "entry_id, refund_of_id, created_by_id, created_at) FROM STDIN") as copy:
            for p in payments:
                copy.write_row(p)
        with cur.copy("COPY allocation (id, org_id, payment_id, invoice_id, bill_id, amount, date, created_at, "
                      "created_by_id, unallocated_at, unallocated_by_id) FROM STDIN") as copy:
            for a in allocations:
                copy.write_row(a)
        cur.execute("""INSERT INTO account_day_balance (org_id, account_id, date, debit, credit)
                       SELECT org_id, account_id, date, sum(debit), sum(credit) FROM journal_line
                       WHERE org_id = %s AND entry_id > %s
                       GROUP BY org_id, account_id, date
                       ON CONFLICT (org_id, account_id, date) DO UPDATE
                       SET debit = account_day_balance.debit + excluded.debit,
                           credit = account_day_balance.credit + excluded.credit""",
                    (org_id, first["journal_entry"]))
        for (kind, period), last in sorted(g.counters.items()):
            if kind in ("journal", "invoice", "payment_in"):
                cur.execute("""INSERT INTO number_counter (org_id, kind, period, next_value) VALUES (%s, %s, %s, %s)
                               ON CONFLICT (org_id, kind, period) DO UPDATE
                               SET next_value = number_counter.next_value + excluded.next_value - 1""",
                            (org_id, kind, period, last + 1))
        for table in tables + ("account_day_balance",):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT greatest(max(id), 1) FROM {table}))")
    with app.app_context():
        from webapp.extensions import db
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables + ("account_day_balance", "number_counter", "sales_document_search", "party_search"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    posted = sum(1 for d in docs if d["status"] == "posted")
    return {"customers": len(customers), "products": len(products), "posted": posted, "cancelled": n_cancelled,
            "drafts": n_drafts, "lines": len(doc_lines), "payments": len(payments), "moves": len(g.moves),
            "batches": len(g.batch_rows), "layers": n_layers, "entries": len(g.entries),
            "journal_lines": len(g.lines), "start": start, "end": end}


# ---------------------------------------------------------------- checks

#: name: SQL counting the rows that break the rule (each must give 0). Run in the tenant.
CHECKS = {
    **LEDGER_CHECKS, **STOCK_CHECKS,
    "trial balance: debits equal credits": """
        SELECT count(*) FROM (SELECT sum(debit) - sum(credit) AS d FROM journal_line) x WHERE d <> 0""",
    "every journal entry balances": """
        SELECT count(*) FROM (SELECT entry_id FROM journal_line GROUP BY entry_id
                              HAVING sum(debit) <> sum(credit)) x""",
    "receivables account equals the open invoices (less unallocated receipts)": """
        SELECT count(*) FROM (
            SELECT (SELECT coalesce(sum(l.debit - l.credit), 0) FROM journal_line l
                    JOIN account a ON a.id = l.account_id WHERE a.role = 'receivables') AS ledger,
                   (SELECT coalesce(sum(grand_total - amount_paid), 0) FROM sales_document
                    WHERE doc_type = 'invoice' AND status = 'posted')
                   - (SELECT coalesce(sum(amount - allocated_amount - refunded_amount), 0) FROM payment
                      WHERE direction = 'in' AND status = 'posted') AS documents) x
        WHERE ledger <> documents""",
    "each customer's receivables equal their open invoices (less unallocated receipts)": """
        WITH led AS (SELECT l.party_id AS pid, sum(l.debit - l.credit) AS v FROM journal_line l
                     JOIN account a ON a.id = l.account_id WHERE a.role = 'receivables' GROUP BY l.party_id),
             inv AS (SELECT customer_id AS pid, sum(grand_total - amount_paid) AS v FROM sales_document
                     WHERE doc_type = 'invoice' AND status = 'posted' GROUP BY customer_id),
             pay AS (SELECT party_id AS pid, sum(amount - allocated_amount - refunded_amount) AS v FROM payment
                     WHERE direction = 'in' AND status = 'posted' GROUP BY party_id)
        SELECT count(*) FROM led FULL JOIN inv USING (pid) FULL JOIN pay USING (pid)
        WHERE coalesce(led.v, 0) <> coalesce(inv.v, 0) - coalesce(pay.v, 0)""",
    "invoice totals equal the sum of their lines": """
        WITH l AS (SELECT document_id, sum(taxable) AS taxable, sum(tax_amount) AS tax, sum(cost) AS cost
                   FROM sales_line GROUP BY document_id)
        SELECT count(*) FROM sales_document d LEFT JOIN l ON l.document_id = d.id
        WHERE d.doc_type = 'invoice' AND NOT d.prices_include_tax
          AND (coalesce(l.taxable, 0) <> d.taxable_total OR coalesce(l.tax, 0) <> d.tax_total
               OR d.grand_total <> d.taxable_total + d.tax_total + d.rounding
               OR (d.status <> 'draft' AND coalesce(l.cost, 0) <> d.cost_total))""",
    "each line's total is its taxable value and taxes": """
        SELECT count(*) FROM sales_line
        WHERE total <> taxable + tax_amount OR tax_amount <> cgst + sgst + igst + vat""",
    "each posted or cancelled invoice has its entry: receivables = its total": """
        SELECT count(*) FROM sales_document d
        LEFT JOIN journal_line l ON l.entry_id = d.entry_id AND l.line_no = 1
        LEFT JOIN account a ON a.id = l.account_id
        WHERE d.doc_type = 'invoice' AND d.status IN ('posted', 'cancelled')
          AND (a.role IS DISTINCT FROM 'receivables' OR l.debit <> d.grand_total
               OR l.party_id IS DISTINCT FROM d.customer_id)""",
    "each cancelled invoice has its reversal": """
        SELECT count(*) FROM sales_document d LEFT JOIN journal_entry e ON e.id = d.cancel_entry_id
        WHERE d.status = 'cancelled' AND (e.reversal_of_id IS DISTINCT FROM d.entry_id OR d.amount_paid <> 0)""",
    "an invoice's cost is what its stock moves took": """
        WITH m AS (SELECT source_id, sum(CASE WHEN kind = 'issue' THEN -value_change ELSE 0 END) AS issued,
                          sum(CASE WHEN kind = 'return_in' THEN value_change ELSE 0 END) AS returned
                   FROM stock_move WHERE source_type = 'invoice' GROUP BY source_id)
        SELECT count(*) FROM sales_document d LEFT JOIN m ON m.source_id = d.id
        WHERE d.doc_type = 'invoice' AND d.status <> 'draft'
          AND (coalesce(m.issued, 0) <> d.cost_total
               OR coalesce(m.returned, 0) <> CASE WHEN d.status = 'cancelled' THEN d.cost_total ELSE 0 END)""",
    "amount paid is the active allocations, and the status follows": """
        WITH a AS (SELECT invoice_id, sum(amount) AS paid FROM allocation
                   WHERE invoice_id IS NOT NULL AND unallocated_at IS NULL GROUP BY invoice_id)
        SELECT count(*) FROM sales_document d LEFT JOIN a ON a.invoice_id = d.id
        WHERE d.doc_type = 'invoice' AND (coalesce(a.paid, 0) <> d.amount_paid
            OR d.payment_status <> CASE WHEN d.amount_paid = 0 THEN 'unpaid'
                                        WHEN d.amount_paid = d.grand_total THEN 'paid' ELSE 'partly_paid' END)""",
    "a payment's allocated amount is its active allocations": """
        WITH a AS (SELECT payment_id, sum(amount) AS v FROM allocation WHERE unallocated_at IS NULL
                   GROUP BY payment_id)
        SELECT count(*) FROM payment p LEFT JOIN a ON a.payment_id = p.id WHERE coalesce(a.v, 0) <> p.allocated_amount""",
    "invoice numbers are gapless and below their counter": """
        WITH n AS (SELECT split_part(number, '-', 2) || '-' || split_part(number, '-', 3) AS period,
                          count(*) AS made, max(split_part(number, '-', 4)::int) AS top
                   FROM sales_document WHERE doc_type = 'invoice' AND number LIKE 'INV-%' GROUP BY 1)
        SELECT count(*) FROM n LEFT JOIN number_counter c ON c.kind = 'invoice' AND c.period = n.period
        WHERE n.made <> n.top OR c.next_value IS DISTINCT FROM n.top + 1""",
    "cost pools equal the moves (quantity and value)": """
        WITH m AS (SELECT product_id, sum(value_change) AS v,
                          sum(CASE WHEN to_location_id IS NOT NULL AND from_location_id IS NULL THEN quantity
                                   WHEN from_location_id IS NOT NULL AND to_location_id IS NULL THEN -quantity
                                   ELSE 0 END) AS q
                   FROM stock_move GROUP BY product_id)
        SELECT count(*) FROM m FULL JOIN product_stock ps ON ps.product_id = m.product_id
        WHERE coalesce(m.v, 0) <> coalesce(ps.pool_value - ps.backlog_value, 0)
           OR coalesce(m.q, 0) <> coalesce(ps.pool_quantity - ps.backlog_quantity, 0)""",
    "batch-tracked products move by batch, others never": """
        SELECT count(*) FROM stock_move m JOIN product p ON p.id = m.product_id
        WHERE m.kind <> 'revaluation' AND p.tracks_batches <> (m.batch_id IS NOT NULL)""",
}


def check() -> dict:
    """Run the consistency checks in the current tenant; SystemExit on any failure.
    Returns the stock value and receivables (both equal to their accounts)."""
    from webapp.extensions import db
    failures = []
    for name, sql in CHECKS.items():
        bad = db.session.execute(sa.text(sql)).scalar()
        if bad:
            failures.append(f"{name}: {bad}")
    moved = db.session.execute(sa.text("SELECT coalesce(sum(value_change), 0) FROM stock_move")).scalar()
    pooled = db.session.execute(sa.text(
        "SELECT coalesce(sum(pool_value - backlog_value), 0) FROM product_stock")).scalar()
    inventory, receivables = (db.session.execute(sa.text(
        "SELECT coalesce(sum(b.debit - b.credit), 0) FROM account_day_balance b JOIN account a ON a.id = b.account_id "
        "WHERE a.role = :role"), {"role": role}).scalar() for role in ("inventory", "receivables"))
    if not (Decimal(moved) == Decimal(pooled) == Decimal(inventory)):
        failures.append(f"stock value differs: moves {moved}, pools {pooled}, inventory account {inventory}")
    db.session.rollback()
    if failures:
        raise SystemExit("The sales data is inconsistent:\n  " + "\n  ".join(failures))
    return {"stock_value": Decimal(inventory), "receivables": Decimal(receivables)}
