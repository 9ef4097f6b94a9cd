"""Who may do what: one table of permissions, one check for every view.

Each view declares what it needs with one decorator: `@requires("perm")`,
`@member` (any active member of the current organization), `@login_only`
(signed in, no organization needed) or `@public`. The central check in
`enforce()` runs before every request; a view that declares nothing is
refused (fail closed), and a test walks the URL map to keep it that way.

`docs/permissions.md` is generated from `PERMISSIONS` (`flask permissions-doc`)
and a test keeps it in step.
"""
from __future__ import annotations

from dataclasses import dataclass

OWNER, ACCOUNTANT, SALES, STOREKEEPER = "owner", "accountant", "sales", "storekeeper"
ROLES = (OWNER, ACCOUNTANT, SALES, STOREKEEPER)
ROLE_LABELS = {
    OWNER: "Owner",
    ACCOUNTANT: "Accountant",
    SALES: "Sales",
    STOREKEEPER: "Storekeeper",
}
ROLE_HELP = {
    OWNER: "Everything, including users, settings and the lock date.",
    ACCOUNTANT: "Books, reports, invoices, bills and payments; no user management.",
    SALES: "Customers, quotes, orders, invoices, quick sale and receipts from customers.",
    STOREKEEPER: "Products, stock, receiving goods, transfers and stocktakes.",
}

ALL = frozenset(ROLES)

PUBLIC = "@public"
AUTHENTICATED = "@login"
MEMBER = "@member"


@dataclass(frozen=True)
class Permission:
    description: str
    roles: frozenset


def _p(description: str, *roles: str) -> Permission:
    return Permission(description, frozenset(roles))


#: The one declaration of which role may do what.
PERMISSIONS: dict[str, Permission] = {
    # Organization and people
    "org.settings": _p("Change organization settings, logo and number series", OWNER),
    "users.manage": _p("Invite users, change roles, deactivate users", OWNER),
    "audit.view": _p("Browse and export the audit trail", OWNER, ACCOUNTANT),
    # Ledger
    "ledger.view": _p("See the chart of accounts and journal entries", OWNER, ACCOUNTANT),
    "ledger.accounts": _p("Add, rename and deactivate accounts", OWNER, ACCOUNTANT),
    "ledger.journal": _p("Draft, post and reverse manual journal entries", OWNER, ACCOUNTANT),
    "ledger.lock": _p("Set the lock date", OWNER, ACCOUNTANT),
    "reports.financial": _p("Trial balance, general ledger, P&L, balance sheet, tax reports", OWNER, ACCOUNTANT),
    # Catalog and stock
    "catalog.view": _p("See products, prices and stock on hand", *ROLES),
    "catalog.manage": _p("Add, edit, import and deactivate products", OWNER, ACCOUNTANT, STOREKEEPER),
    "inventory.move": _p("Record transfers and draft stock adjustments and stocktakes", OWNER, STOREKEEPER),
    "inventory.approve": _p("Approve and post stock adjustments and write-offs", OWNER, STOREKEEPER),
    "inventory.override_expiry": _p("Sell or issue an expired batch (audited)", OWNER),
    "inventory.reports": _p("Stock valuation, movement, reorder and expiry reports", OWNER, ACCOUNTANT, STOREKEEPER),
    "inventory.locations": _p("Add and rename locations", OWNER, STOREKEEPER),
    # Parties
    "customers.view": _p("See customers and their balances", OWNER, ACCOUNTANT, SALES),
    "customers.manage": _p("Add, edit and import customers", OWNER, ACCOUNTANT, SALES),
    "suppliers.view": _p("See suppliers and their balances", OWNER, ACCOUNTANT, STOREKEEPER),
    "suppliers.manage": _p("Add, edit and import suppliers", OWNER, ACCOUNTANT),
    # Sales
    "sales.view": _p("See quotes, orders and invoices", OWNER, ACCOUNTANT, SALES),
    "sales.edit": _p("Draft quotes, orders and invoices; quick sale", OWNER, ACCOUNTANT, SALES),
    "sales.post": _p("Post invoices", OWNER, ACCOUNTANT, SALES),
    "sales.cancel": _p("Cancel posted invoices", OWNER, ACCOUNTANT),
    # Purchasing
    "purchases.view": _p("See purchase orders, receipts and bills", OWNER, ACCOUNTANT, STOREKEEPER),
    "purchases.order": _p("Draft, send and cancel purchase orders", OWNER, ACCOUNTANT, STOREKEEPER),
    "purchases.receive": _p("Receive goods", OWNER, STOREKEEPER),
    "purchases.bill": _p("Record and post supplier bills", OWNER, ACCOUNTANT),
    # Payments
    "payments.view": _p("See payments, party ledgers and aged balances", OWNER, ACCOUNTANT, SALES),
    "payments.receive": _p("Record payments from customers and allocate them", OWNER, ACCOUNTANT, SALES),
    "payments.view_payables": _p("See payments made, supplier ledgers and aged payables", OWNER, ACCOUNTANT),
    "payments.pay": _p("Record payments to suppliers and allocate them", OWNER, ACCOUNTANT),
    "payments.accounts": _p("Manage cash and bank accounts", OWNER, ACCOUNTANT),
}


def allowed(role: str | None, permission: str) -> bool:
    if permission in (PUBLIC, AUTHENTICATED, MEMBER):
        return True
    if role is None:
        return False
    return role in PERMISSIONS[permission].roles


def _declare(view, permission: str):
    if permission not in (PUBLIC, AUTHENTICATED, MEMBER) and permission not in PERMISSIONS:
        raise KeyError(f"Unknown permission {permission!r}; declare it in PERMISSIONS.")
    view._permission = permission
    return view


def requires(permission: str):
    """Only members whose role has `permission` may call this view."""
    def decorator(view):
        return _declare(view, permission)
    return decorator


def public(view):
    """Anyone, signed in or not."""
    return _declare(view, PUBLIC)


def login_only(view):
    """Any signed-in user, with or without an active organization."""
    return _declare(view, AUTHENTICATED)


def member(view):
    """Any active member of the current organization, whatever the role."""
    return _declare(view, MEMBER)


def permission_of(view) -> str | None:
    return getattr(view, "_permission", None)


def markdown_table() -> str:
    """The role table for docs/permissions.md."""
    head = "| Permission | What it allows | " + " | ".join(ROLE_LABELS[r] for r in ROLES) + " |"
    sep = "| --- | --- | " + " | ".join(":---:" for _ in ROLES) + " |"
    lines = [
        "# Who may do what",
        "",
        "Generated from `webapp/core/permissions.py` by `flask permissions-doc`;",
        "a test fails when this file and the code disagree.",
        "",
        "Every view declares one permission; the check runs centrally before each",
        "request. Views marked *member* are open to every active member of the",
        "organization (dashboard, stock lookup, own jobs); *public* views are sign-up,",
        "login, invitation acceptance, password reset and `/healthz`.",
        "",
        head, sep,
    ]
    for name, perm in PERMISSIONS.items():
        cells = " | ".join("✓" if r in perm.roles else "" for r in ROLES)
        lines.append(f"| `{name}` | {perm.description} | {cells} |")
    lines += ["", "## Roles", ""]
    lines += [f"- **{ROLE_LABELS[r]}**: {ROLE_HELP[r]}" for r in ROLES]
    return "\n".join(lines) + "\n"
