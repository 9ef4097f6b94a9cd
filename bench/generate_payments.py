"""Receivables for the payments benchmark, written with COPY.

One organization (India GST, INR) with about 5,000 customers, 100,000 open
posted invoices (unpaid or partly paid, due over the last 200 days and the
next 30, so every age bucket is filled), about 50,000 paid ones, one customer
with exactly 1,000 open invoices, and the payments that settled them: one
payment for one to four invoices, partial payments, advances and overpayments
left on account as credits, a few allocations undone later, refunds of
credits and payments cancelled by reversal.

Everything the services keep beside the documents is derived here as they
would have written it: invoice totals from the real tax engine
(`webapp.core.tax.compute`, CGST+SGST or IGST, rounded to whole rupees), each
invoice's `amount_paid` and payment status from its active allocations, each
payment's `allocated_amount` and `refunded_amount`, one journal entry per
invoice (receivables with the customer / sales / output tax / rounding), per
payment (bank or cash / receivables), per refund and per cancellation (the
mirror image), the day balances from the lines, and the number counters so
that the next real invoice, payment or entry continues the series.
`bench.payments.check` then proves it with SQL.
"""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa

from bench.common import raw_connection
from bench.generate import bulk_load
from webapp.sales.search import tokens as search_tokens

ZERO = Decimal(0)
_RUPEE = Decimal(1)

_FIRST = ["Sri", "New", "Shree", "Royal", "Modern", "National", "City", "Metro", "Star", "Lakshmi", "Ganesh",
          "Balaji", "Sai", "Krishna", "Om", "Jai", "Annapurna", "Kaveri", "Vinayaka", "Durga", "Mahalakshmi",
          "Apollo", "Sunrise", "Green", "Blue", "Global", "Prime", "Classic", "Golden", "Silver", "Venkateshwara",
          "Sharma", "Gupta", "Reddy", "Patel", "Iyer", "Nair", "Rao", "Shetty", "Agarwal", "Jain", "Khan"]
_TRADE = ["Medicals", "Pharma", "Traders", "Stores", "Enterprises", "Agencies", "Distributors", "Kirana",
          "Supermarket", "Provisions", "Hardware", "Electricals", "Clinic", "Hospital", "Hotel", "Caterers",
          "Bakery", "Sweets", "General Stores", "Wholesale", "Marketing", "Retail", "Mart", "Chemists",
          "Diagnostics", "Textiles", "Stationers", "Book House", "Paints", "Motors"]
_CITY = ["Jayanagar", "Indiranagar", "Malleshwaram", "Koramangala", "Whitefield", "Yelahanka", "Hebbal",
         "Basavanagudi", "Rajajinagar", "Banashankari", "Mysuru", "Tumakuru", "Hubballi", "Mangaluru", "Hosur",
         "Electronic City", "BTM Layout", "HSR Layout", "Marathahalli", "Vijayanagar"]
#: Other GST states some customers are in (an IGST invoice).
_STATES = ["33", "32", "27", "36", "07"]
_SERVICES = [("Annual maintenance", "998719", "18"), ("Delivery charges", "996511", "18"),
             ("Medicines (assorted)", "3004", "12"), ("Surgical supplies", "9018", "12"),
             ("Groceries (assorted)", "1006", "5"), ("Stationery supplies", "4820", "12"),
             ("Electrical fittings", "8536", "18"), ("Paint and sundries", "3209", "18"),
             ("Air conditioner service", "998717", "18"), ("Printing", "998912", "18"),
             ("Packaged drinking water", "2201", "18"), ("Confectionery", "1704", "18"),
             ("Tyres", "4011", "28"), ("Textiles", "5208", "5")]
_TAX_ROLE = {"CGST": "output_cgst", "SGST": "output_sgst", "IGST": "output_igst"}


class _Customer:
    __slots__ = ("id", "code", "name", "terms", "state", "snapshot", "invoices", "payments")

    def __init__(self, pid, code, name, terms, state):
        self.id, self.code, self.name, self.terms, self.state = pid, code, name, terms, state
        self.snapshot = None
        self.invoices, self.payments = [], []


class _Invoice:
    __slots__ = ("id", "cust", "date", "due", "lines", "taxable", "tax", "rounding", "total", "breakdown",
                 "paid", "target", "number", "entry_id", "key")

    def __init__(self, cust, d, due, target):
        self.cust, self.date, self.due, self.target = cust, d, due, target
        self.paid = ZERO
        self.id = self.number = self.entry_id = None


class _Payment:
    __slots__ = ("id", "cust", "date", "amount", "method", "account", "reference", "allocated", "refunded",
                 "status", "refund_of", "number", "entry_id", "cancel_on", "cancel_entry_id", "memo", "key")

    def __init__(self, cust, d, amount, method, account, reference):
        self.cust, self.date, self.amount, self.method, self.account = cust, d, amount, method, account
        self.reference = reference
        self.allocated = self.refunded = ZERO
        self.status, self.refund_of, self.cancel_on, self.memo = "posted", None, None, None
        self.id = self.number = self.entry_id = self.cancel_entry_id = None

    @property
    def credit(self) -> Decimal:
        return self.amount - self.allocated - self.refunded


class _Allocation:
    __slots__ = ("id", "payment", "invoice", "amount", "date", "undone_on")

    def __init__(self, payment, invoice, amount, d, undone_on=None):
        self.payment, self.invoice, self.amount, self.date, self.undone_on = payment, invoice, amount, d, undone_on
        self.id = None


def _customers(r: random.Random, n: int, first_id: int) -> list[_Customer]:
    names = r.sample([f"{a} {b}, {c}" for a in _FIRST for b in _TRADE for c in _CITY], n)
    out = []
    for i, name in enumerate(names):
        state = "29" if r.random() < 0.85 else r.choice(_STATES)
        out.append(_Customer(first_id + i, f"C{i + 1:05d}", name, r.choice((0, 7, 15, 30, 30, 30, 45, 60)), state))
    return out


def _spread(r: random.Random, total: int, weights: list[float], cap: int) -> list[int]:
    """`total` items over the weights, each at most `cap`; exactly `total` in all."""
    s = sum(weights)
    counts = [min(cap, int(w / s * total)) for w in weights]
    have = sum(counts)
    while have < total:
        i = r.randrange(len(counts))
        if weights[i] > 0 and counts[i] < cap:
            counts[i] += 1
            have += 1
    return counts


def _amounts(r: random.Random, inv: _Invoice, tax, ctx_same, ctx_other) -> None:
    """Lines and totals of one invoice, from the real tax engine (GST rounds the total to a whole rupee)."""
    lines = []
    for _ in range(r.choice((1, 1, 2, 2, 2, 3, 4))):
        desc, hsn, rate = r.choice(_SERVICES)
        qty = Decimal(r.choice((1, 1, 1, 2, 3, 5, 10, 12, 24, 50)))
        price = Decimal(r.randrange(2_000, 4_000_000 if qty == 1 else 400_000)) / 100
        lines.append((desc, hsn, qty, price, Decimal(rate)))
    res = tax.compute(ctx_same if inv.cust.state == "29" else ctx_other,
                      [tax.LineInput(quantity=q, unit_price=p, tax_rate=t) for _, _, q, p, t in lines])
    inv.lines = [(desc, hsn, q, p, t, lr) for (desc, hsn, q, p, t), lr in zip(lines, res.lines)]
    inv.taxable, inv.tax, inv.rounding, inv.total = res.taxable_total, res.tax_total, res.rounding, res.grand_total
    inv.breakdown = [{"kind": b.kind, "rate": str(b.rate), "taxable": str(b.taxable), "amount": str(b.amount)}
                     for b in res.breakdown if b.amount or b.rate]


def _part(r: random.Random, total: Decimal) -> Decimal:
    """A part payment: 10–90 % of the total in whole rupees (at least one rupee, less than the total)."""
    p = (total * Decimal(r.randrange(10, 91)) / 100).quantize(_RUPEE, rounding=ROUND_DOWN)
    return min(max(p, _RUPEE), total - Decimal("0.01"))


def receivables(app, org_id: int, user_id: int, *, customers: int = 5_000, open_invoices: int = 100_000,
                paid_invoices: int = 50_000, big: int = 1_000, end: date | None = None, seed: int = 17) -> dict:
    """Generate the receivables described in the module docstring up to `end` (today). Returns counts and the
    id of the customer with `big` open invoices."""
    from webapp.core import tax
    from webapp.core.clock import today
    from webapp.core.money import currency
    from webapp.core.numbering import fiscal_year_label, series_for
    from webapp.core.tenancy import tenant
    from webapp.extensions import db
    from webapp.ledger.models import Account
    from webapp.orgs.queries import current_organization
    r = random.Random(seed)
    T = end or today()
    with app.app_context(), tenant(org_id):
        org = current_organization()
        assert org.base_currency == "INR" and currency(org.base_currency).precision == 2, "INR organization expected"
        assert org.lock_date is None, "the generated history needs open books"
        fy_month, seller_state = org.fiscal_year_start_month, org.state
        roles = {a.role: a.id for a in db.session.scalars(sa.select(Account).where(Account.role.is_not(None)))}
        prefixes = {k: series_for(k) for k in ("invoice", "payment_in", "payment_out", "journal")}
    ctx_same = tax.TaxContext(regime=tax.GST_INDIA, currency="INR", seller_state=seller_state,
                              place_of_supply=seller_state)
    ctx_other = tax.TaxContext(regime=tax.GST_INDIA, currency="INR", seller_state=seller_state,
                               place_of_supply=_STATES[0])

    with raw_connection(app, org_id) as conn:
        cur = conn.cursor()
        first = {}
        for t in ("party", "sales_document", "sales_line", "payment", "allocation", "journal_entry",
                  "journal_line"):
            cur.execute(f"SELECT coalesce(max(id), 0) FROM {t}")
            first[t] = cur.fetchone()[0] + 1
        cur.execute("SELECT (SELECT count(*) FROM sales_document) + (SELECT count(*) FROM payment) "
                    "+ (SELECT count(*) FROM journal_entry) + (SELECT count(*) FROM number_counter "
                    "WHERE kind IN ('invoice', 'payment_in', 'payment_out', 'journal'))")
        assert cur.fetchone()[0] == 0, "receivables() expects an organization without documents or entries yet"

    # ---- customers and how many invoices each has (a long tail; one with exactly `big` open invoices)
    custs = _customers(r, customers, first["party"])
    for c in custs:
        c.snapshot = json.dumps({"name": c.name, "code": c.code, "tax_id": None, "address": None,
                                 "city": c.name.rsplit(", ", 1)[1], "postal_code": None, "state": c.state,
                                 "country": "IN", "shipping_address": None, "shipping_state": None, "phone": None,
                                 "email": None})
    whale, rest = custs[0], custs[1:]
    weights = [0.0 if r.random() < 0.08 else r.paretovariate(1.6) for _ in rest]
    n_open = [big] + _spread(r, open_invoices - big, weights, big // 2)
    n_paid = [big // 3] + _spread(r, paid_invoices - big // 3, [w + 0.2 for w in weights], big // 2)

    # ---- invoices
    invoices: list[_Invoice] = []
    for c, k_open, k_paid in zip(custs, n_open, n_paid):
        for _ in range(k_open):
            due = T - timedelta(days=200) + timedelta(days=r.randrange(231))
            d = due - timedelta(days=c.terms)
            if d > T:                      # a due date typed on the invoice, not the customer's terms
                d = T - timedelta(days=r.randrange(4))
            inv = _Invoice(c, d, due, "partly_paid" if r.random() < 0.22 else "unpaid")
            c.invoices.append(inv)
        for _ in range(k_paid):
            d = T - timedelta(days=r.randrange(10, 420))
            c.invoices.append(_Invoice(c, d, d + timedelta(days=c.terms), "paid"))
        invoices.extend(c.invoices)
    for inv in invoices:
        _amounts(r, inv, tax, ctx_same, ctx_other)

    # ---- payments and allocations, per customer
    payments: list[_Payment] = []
    allocations: list[_Allocation] = []

    def new_payment(c, d, amount):
        method = r.choices(("bank_transfer", "upi", "cheque", "cash", "card"), (50, 25, 12, 10, 3))[0]
        ref = {"bank_transfer": f"NEFT {r.randrange(10**8, 10**9)}", "upi": f"UPI {r.randrange(10**11, 10**12)}",
               "cheque": f"CHQ {r.randrange(100000, 999999)}", "card": f"CARD {r.randrange(1000, 9999)}",
               "cash": None}[method]
        p = _Payment(c, d, amount, method, roles["cash" if method == "cash" else "bank"], ref)
        c.payments.append(p)
        payments.append(p)
        return p

    def allocate(p, inv, amount, d=None):
        a = _Allocation(p, inv, amount, d or max(p.date, inv.date))
        allocations.append(a)
        p.allocated += amount
        inv.paid += amount
        return a

    for c in custs:
        paid = sorted((i for i in c.invoices if i.target == "paid"), key=lambda i: i.date)
        while paid:
            k = r.choice((1, 1, 1, 2, 2, 3, 4))
            group, paid = paid[:k], paid[k:]
            day = min(T, max(i.date for i in group) + timedelta(days=r.randrange(46)))
            extra = Decimal(r.randrange(100, 5000)) if r.random() < 0.05 else ZERO
            p = new_payment(c, day, sum((i.total for i in group), ZERO) + extra)
            for inv in group:
                allocate(p, inv, inv.total)
        for inv in (i for i in c.invoices if i.target == "partly_paid"):
            part = _part(r, inv.total)
            day = min(T, inv.date + timedelta(days=r.randrange(31)))
            if r.random() < 0.1 and part >= 2:   # in two instalments
                first_part = (part / 2).quantize(_RUPEE, rounding=ROUND_DOWN)
                allocate(new_payment(c, day, first_part), inv, first_part)
                day = min(T, day + timedelta(days=r.randrange(1, 20)))
                part -= first_part
            extra = Decimal(r.randrange(100, 3000)) if r.random() < 0.03 else ZERO
            allocate(new_payment(c, day, part + extra), inv, part)
        if r.random() < 0.02:                     # an advance, not allocated yet
            new_payment(c, T - timedelta(days=r.randrange(200)), Decimal(r.randrange(1000, 50000)))

    # A few allocations undone later (the credit came back; the invoice was open again and still is).
    with_credit = [p for p in payments if p.credit >= 100]
    r.shuffle(with_credit)
    undo, refund_from = with_credit[:300], with_credit[300:360]
    taken = set()
    for p in undo:
        candidates = [i for i in p.cust.invoices if i.target == "unpaid" and id(i) not in taken and i.date <= T]
        if not candidates:
            continue
        inv = r.choice(candidates)
        taken.add(id(inv))
        amount = min(p.credit, inv.total)
        d = max(p.date, inv.date)
        a = _Allocation(p, inv, amount, d, d + timedelta(days=r.randrange((T - d).days + 1)))
        allocations.append(a)          # not active: neither the payment's allocated nor the invoice's paid
    # Refunds of part or all of a credit (money back to the customer).
    for p in refund_from:
        amount = p.credit if r.random() < 0.5 else (p.credit / 2).quantize(_RUPEE, rounding=ROUND_DOWN)
        day = min(T, p.date + timedelta(days=r.randrange(30)))
        back = _Payment(p.cust, day, amount, "bank_transfer", roles["bank"], f"NEFT {r.randrange(10**8, 10**9)}")
        back.refund_of = p
        back.memo = f"Refund of {p.cust.code}"    # replaced by the number below
        p.refunded += amount
        payments.append(back)
    # Payments recorded by mistake and cancelled (their entries reversed).
    for c in r.sample(custs, 100):
        p = new_payment(c, T - timedelta(days=r.randrange(1, 300)), Decimal(r.randrange(500, 20000)))
        p.status, p.cancel_on = "cancelled", min(T, p.date + timedelta(days=r.randrange(8)))

    for inv in invoices:
        assert (inv.paid == inv.total) == (inv.target == "paid") and (inv.paid > 0) == (inv.target != "unpaid"), \
            "generated payments disagree with the invoice's status"

    # ---- ids and numbers, in date order (as the real series would have numbered them)
    def fy(d):
        return fiscal_year_label(d, fy_month)

    last_numbers: dict[str, dict[str, int]] = {}

    def numbered(kind, items, day=lambda it: it.date):
        """(item, number) in the order given: the series' prefix and a counter per fiscal year."""
        prefix, width = prefixes[kind]
        counters = last_numbers.setdefault(kind, {})
        for it in items:
            d = day(it)
            period = fy(d) if "{fy}" in prefix else str(d.year) if "{year}" in prefix else ""
            counters[period] = counters.get(period, 0) + 1
            text = prefix.replace("{fy}", period).replace("{year}", str(d.year))
            yield it, f"{text}{counters[period]:0{width}d}"

    for inv in invoices:
        inv.key = r.random()
    invoices.sort(key=lambda i: (i.date, i.key))
    for n, (inv, number) in enumerate(numbered("invoice", invoices)):
        inv.id, inv.number = first["sales_document"] + n, number
    for p in payments:
        p.key = r.random()
    payments.sort(key=lambda p: (p.date, p.key))
    for n, p in enumerate(payments):
        p.id = first["payment"] + n
    for kind, items in (("payment_in", [p for p in payments if p.refund_of is None]),
                        ("payment_out", [p for p in payments if p.refund_of is not None])):
        for p, number in numbered(kind, items):
            p.number = number
    for p in payments:
        if p.refund_of is not None:
            p.memo = f"Refund of {p.refund_of.number}"
        elif p.status == "cancelled":
            p.memo = " — cancelled: entered twice"
    allocations.sort(key=lambda a: (a.date, a.payment.id, a.invoice.id))
    for n, a in enumerate(allocations):
        a.id = first["allocation"] + n

    # ---- the ledger: one entry per invoice, payment, refund and cancellation, numbered in date order
    events = [(i.date, 0, i.id, "invoice", i) for i in invoices] + \
             [(p.date, 1, p.id, "payment", p) for p in payments] + \
             [(p.cancel_on, 2, p.id, "cancel", p) for p in payments if p.cancel_on]
    events.sort(key=lambda e: e[:3])
    entries, lines = [], []
    line_id = first["journal_line"]
    for n, ((d, _, _, kind, obj), number) in enumerate(numbered("journal", events, day=lambda e: e[0])):
        entry_id = first["journal_entry"] + n
        if kind == "invoice":
            inv = obj
            inv.entry_id = entry_id
            memo = f"Invoice {inv.number} — {inv.cust.name}"
            ls = [(roles["receivables"], inv.total, ZERO, inv.number, inv.cust.id),
                  (roles["sales"], ZERO, inv.taxable, inv.number, None)]
            taxes = {}
            for b in inv.breakdown:
                taxes[b["kind"]] = taxes.get(b["kind"], ZERO) + Decimal(b["amount"])
            for k, amount in sorted(taxes.items()):
                ls.append((roles[_TAX_ROLE[k]], ZERO, amount, f"{inv.number} {k}", None))
            if inv.rounding:
                ls.append((roles["rounding"], ZERO, inv.rounding, None, None) if inv.rounding > 0 else
                          (roles["rounding"], -inv.rounding, ZERO, None, None))
            entries.append((entry_id, org_id, number, d, memo[:300], "invoice", inv.id, inv.number, None,
                            f"{d} 11:00:00+00", user_id))
        else:
            p = obj
            if p.refund_of is None:
                memo = f"{p.number} Receipt from {p.cust.name}"
                ls = [(p.account, p.amount, ZERO, p.reference, None),
                      (roles["receivables"], ZERO, p.amount, None, p.cust.id)]
            else:
                memo = f"{p.number} Refund to {p.cust.name} of {p.refund_of.number}'s credit"
                ls = [(roles["receivables"], p.amount, ZERO, None, p.cust.id),
                      (p.account, ZERO, p.amount, p.reference, None)]
            if kind == "payment":
                p.entry_id = entry_id
                entries.append((entry_id, org_id, number, d, memo[:300], "payment", p.id, p.number, None,
                                f"{d} 15:00:00+00", user_id))
            else:
                p.cancel_entry_id = entry_id
                ls = [(acc, credit, debit, m, party) for acc, debit, credit, m, party in ls]
                entries.append((entry_id, org_id, number, d, f"Cancellation of {p.number}: entered twice",
                                "payment", p.id, p.number, p.entry_id, f"{d} 16:00:00+00", user_id))
        for k, (acc, debit, credit, m, party) in enumerate((l for l in ls if l[1] or l[2]), 1):
            lines.append((line_id, org_id, entry_id, k, acc, d, debit, credit, m, party))
            line_id += 1

    # ---- COPY everything
    tables = ("party", "journal_entry", "journal_line", "sales_document", "sales_line", "payment", "allocation")
    n_lines = 0
    with raw_connection(app, org_id) as conn, bulk_load(conn, *tables, "sales_document_search"):
        cur = conn.cursor()
        with cur.copy("COPY party (id, org_id, code, name, is_customer, is_supplier, is_walk_in, billing_city, "
                      "state, country, payment_terms_days, currency, active, created_at, version) FROM STDIN") as cp:
            for c in custs:
                cp.write_row((c.id, org_id, c.code, c.name, True, False, False, c.name.rsplit(", ", 1)[1], c.state,
                              "IN", c.terms, "INR", True, f"{T - timedelta(days=430)} 09:00:00+00", 1))
        with cur.copy("COPY journal_entry (id, org_id, number, date, memo, source_type, source_id, source_number, "
                      "reversal_of_id, posted_at, posted_by_id) FROM STDIN") as cp:
            for e in entries:
                cp.write_row(e)
        with cur.copy("COPY journal_line (id, org_id, entry_id, line_no, account_id, date, debit, credit, memo, "
                      "party_id) FROM STDIN") as cp:
            for line in lines:
                cp.write_row(line)
        with cur.copy("COPY sales_document (id, org_id, doc_type, status, number, customer_id, due_date, "
                      "customer_snapshot, amount_paid, payment_status, cost_total, entry_id, posted_at, posted_by_id, "
                      "created_by_id, created_at, date, currency, place_of_supply, prices_include_tax, taxable_total, "
                      "tax_total, rounding, grand_total, tax_breakdown, version) FROM STDIN") as cp:
            for inv in invoices:
                status = "unpaid" if not inv.paid else "paid" if inv.paid == inv.total else "partly_paid"
                cp.write_row((inv.id, org_id, "invoice", "posted", inv.number, inv.cust.id, inv.due,
                              inv.cust.snapshot, inv.paid, status, ZERO, inv.entry_id, f"{inv.date} 11:00:00+00",
                              user_id, user_id, f"{inv.date} 10:30:00+00", inv.date, "INR", inv.cust.state, False,
                              inv.taxable, inv.tax, inv.rounding, inv.total, json.dumps(inv.breakdown), 3))
        with cur.copy("COPY sales_document_search (org_id, document_id, token) FROM STDIN") as cp:
            for inv in invoices:
                for token in sorted(search_tokens(inv.number, None)):
                    cp.write_row((org_id, inv.id, token))
        with cur.copy("COPY sales_line (id, org_id, document_id, invoiced_quantity, cost, position, description, "
                      "hsn_code, unit, quantity, unit_price, tax_rate, taxable, discount, cgst, sgst, igst, vat, "
                      "tax_amount, total) FROM STDIN") as cp:
            sl = first["sales_line"]
            for inv in invoices:
                for pos, (desc, hsn, q, price, rate, lr) in enumerate(inv.lines, 1):
                    comps = {t.kind: t.amount for t in lr.taxes}
                    cp.write_row((sl, org_id, inv.id, ZERO, ZERO, pos, desc, hsn, "nos", q, price, rate, lr.taxable,
                                  lr.discount, comps.get("CGST", ZERO), comps.get("SGST", ZERO),
                                  comps.get("IGST", ZERO), ZERO, lr.tax_total, lr.total))
                    sl += 1
            n_lines = sl - first["sales_line"]
        with cur.copy("COPY payment (id, org_id, number, direction, status, date, party_id, account_id, method, "
                      "reference, memo, currency, amount, allocated_amount, refunded_amount, entry_id, refund_of_id, "
                      "created_by_id, created_at) FROM STDIN") as cp:
            for p in payments:
                cp.write_row((p.id, org_id, p.number, "in" if p.refund_of is None else "out", p.status, p.date,
                              p.cust.id, p.account, p.method, p.reference, p.memo, "INR", p.amount, p.allocated,
                              p.refunded, p.entry_id, p.refund_of.id if p.refund_of else None, user_id,
                              f"{p.date} 15:00:00+00"))
        with cur.copy("COPY allocation (id, org_id, payment_id, invoice_id, amount, date, created_at, created_by_id, "
                      "unallocated_at, unallocated_on, unallocated_by_id) FROM STDIN") as cp:
            for a in allocations:
                cp.write_row((a.id, org_id, a.payment.id, a.invoice.id, a.amount, a.date, f"{a.date} 15:00:00+00",
                              user_id, f"{a.undone_on} 17:00:00+00" if a.undone_on else None, a.undone_on,
                              user_id if a.undone_on else None))
        cur.execute("""INSERT INTO account_day_balance (org_id, account_id, date, debit, credit)
                       SELECT org_id, account_id, date, sum(debit), sum(credit) FROM journal_line
                       WHERE org_id = %s AND entry_id >= %s
                       GROUP BY org_id, account_id, date
                       ON CONFLICT (org_id, account_id, date) DO UPDATE
                       SET debit = account_day_balance.debit + excluded.debit,
                           credit = account_day_balance.credit + excluded.credit""",
                    (org_id, first["journal_entry"]))
        # The series carry on after the generated numbers (a real posting takes the next one).
        for kind, counters in last_numbers.items():
            for period, last in counters.items():
                cur.execute("INSERT INTO number_counter (org_id, kind, period, next_value) VALUES (%s, %s, %s, %s)",
                            (org_id, kind, period, last + 1))
        for t in tables + ("account_day_balance", "number_counter"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT greatest(max(id), 1) FROM {t}))")
    # VACUUM as well as ANALYZE, as autovacuum does soon after a bulk load: the aged report reads
    # the open invoices from an index alone, which needs the visibility map that VACUUM sets.
    with app.app_context():
        from webapp.extensions import db
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for t in tables + ("account_day_balance", "number_counter", "sales_document_search", "party_search"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {t}")
    n_open_made = sum(1 for i in invoices if i.paid < i.total)
    return {"customers": len(custs), "invoices": len(invoices), "open": n_open_made, "lines": n_lines,
            "payments": len(payments), "allocations": len(allocations), "entries": len(entries),
            "journal_lines": len(lines), "whale": whale.id, "start": min(i.date for i in invoices), "end": T}
