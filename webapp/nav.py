"""The navigation, in one place: sections, items, and who sees them.

An item is shown to a role that may open it (the view checks again; hiding a
link is a courtesy, not the permission). An item whose domain is not built
yet points at its "coming soon" page.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, url_for

from webapp.core.permissions import MEMBER, allowed


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    permission: str = MEMBER
    args: dict = field(default_factory=dict)
    icon: str = ""
    #: A key of NAV_COUNTS: a number shown beside the item (when not zero).
    count: str = ""

    @property
    def url(self) -> str:
        # Navigation URLs never depend on the request: build each once per app.
        cache = current_app.extensions.setdefault("smepulse_nav_urls", {})
        key = (self.endpoint, tuple(sorted(self.args.items())))
        if key not in cache:
            cache[key] = url_for(self.endpoint, **self.args)
        return cache[key]


def soon(label: str, slug: str, permission: str) -> NavItem:
    return NavItem(label, "soon.page", permission, {"slug": slug})


@dataclass(frozen=True)
class NavSection:
    label: str
    items: tuple


NAV: list[NavSection] = [
    NavSection("Sales", (
        NavItem("Invoices", "sales.invoices", "sales.view"),
        NavItem("Quick sale", "sales.quick", "sales.edit"),
        NavItem("Quotes", "sales.quotes", "sales.view"),
        NavItem("Sales orders", "sales.orders", "sales.view"),
        NavItem("Customers", "parties.customers", "customers.view"),
    )),
    NavSection("Purchases", (
        NavItem("Purchase orders", "purchases.orders", "purchases.view"),
        NavItem("Goods receipts", "purchases.receipts", "purchases.view"),
        NavItem("Supplier bills", "purchases.bills", "purchases.view"),
        NavItem("Suppliers", "parties.suppliers", "suppliers.view"),
    )),
    NavSection("Money", (
        NavItem("Payments received", "payments.received", "payments.view"),
        NavItem("Payments made", "payments.made", "payments.view_payables"),
        NavItem("Overdue invoices", "payments.overdue", "payments.view", count="overdue"),
        NavItem("Aged receivables", "payments.aged", "payments.view", {"kind": "customer"}),
        NavItem("Aged payables", "payments.aged", "payments.view_payables", {"kind": "supplier"}),
        NavItem("Cash and bank", "payments.accounts", "payments.accounts"),
    )),
    NavSection("Stock", (
        NavItem("Stock lookup", "inventory.lookup", "catalog.view"),
        NavItem("Products", "catalog.index", "catalog.view"),
        NavItem("Adjustments", "inventory.adjustments", "inventory.move"),
        NavItem("Transfers", "inventory.transfers", "inventory.move"),
        NavItem("Stocktakes", "inventory.stocktakes", "inventory.move"),
        NavItem("Stock reports", "inventory.reports", "inventory.reports"),
        NavItem("Locations", "inventory.locations", "catalog.view"),
    )),
    NavSection("Accounting", (
        NavItem("Chart of accounts", "ledger.accounts", "ledger.view"),
        NavItem("Journals", "ledger.journals", "ledger.view"),
        NavItem("Financial reports", "reports.index", "reports.financial"),
        NavItem("Lock date", "ledger.lock_date", "ledger.lock"),
    )),
    NavSection("Settings", (
        NavItem("Organization", "orgs.settings", "org.settings"),
        NavItem("Invoices and printing", "orgs.printing", "org.settings"),
        NavItem("Stock settings", "inventory.settings", "org.settings"),
        NavItem("Users and roles", "orgs.users", "users.manage"),
        NavItem("Audit trail", "audit.index", "audit.view"),
    )),
]

SOON_PAGES = {item.args["slug"]: (section.label, item) for section in NAV for item in section.items
              if item.endpoint == "soon.page"}


def _overdue() -> int:
    from webapp.core.clock import today
    from webapp.payments.queries import overdue_count
    return overdue_count(today())


#: Counts shown in the navigation: computed at most once per NAV_COUNT_TTL seconds (a minute) per
#: organization and process.
NAV_COUNTS = {"overdue": _overdue}


def nav_count(item: NavItem) -> int:
    import time
    from flask import g
    fn = NAV_COUNTS.get(item.count)
    org = getattr(g, "org", None)
    if fn is None or org is None:
        return 0
    cache = current_app.extensions.setdefault("smepulse_nav_counts", {})
    key = (org.id, item.count)
    hit = cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < current_app.config["NAV_COUNT_TTL"]:
        return hit[1]
    value = fn()
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = (time.monotonic(), value)
    return value


def nav_for(role: str | None) -> list[tuple[str, list[NavItem]]]:
    out = []
    for section in NAV:
        items = [i for i in section.items if allowed(role, i.permission)]
        if items:
            out.append((section.label, items))
    return out
