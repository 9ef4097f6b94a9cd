"""Jinja filters and globals every template may use."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import g
from flask_login import current_user
from markupsafe import Markup

from webapp.core.money import CURRENCIES, format_amount
from webapp.core.permissions import ROLE_LABELS, allowed
from webapp.core.regions import INDIA_STATES, MONTHS, TAX_REGIMES, state_name


def _money(value, code=None, symbol=False):
    if value is None:
        return ""
    if not code:
        org = getattr(g, "org", None)     # one look through the proxy (a page formats hundreds)
        code = org.base_currency if org is not None else None
    return format_amount(value, code, symbol=symbol)


def _localtime(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    tz = getattr(getattr(g, "org", None), "timezone", None) or "UTC"
    try:
        return value.astimezone(ZoneInfo(tz)).strftime(fmt)
    except Exception:
        return value.strftime(fmt)


_DATES: dict[tuple, str] = {}


def format_date(value: date | None, fmt: str = "%d %b %Y") -> str:
    # A list shows the same few days on many rows: each (day, format) is formatted once.
    if not value:
        return ""
    key = (value, fmt)
    text = _DATES.get(key)
    if text is None:
        if len(_DATES) > 20_000:
            _DATES.clear()
        text = _DATES[key] = value.strftime(fmt)
    return text


def _qty(value) -> str:
    """A quantity without trailing zeros: 10.000 → 10, 0.250 → 0.25, 1234.5 → 1,234.5."""
    if value is None:
        return ""
    from decimal import Decimal
    value = Decimal(value)
    text = f"{value.normalize():,f}" if value != value.to_integral() else f"{int(value):,}"
    return text


def _can(permission: str) -> bool:
    return allowed(getattr(g, "role", None), permission)


def _nav():
    from webapp.nav import nav_for
    return nav_for(getattr(g, "role", None))


def _my_orgs():
    if not current_user.is_authenticated:
        return []
    return sorted((m for m in current_user.memberships if m.active), key=lambda m: m.organization.name.lower())


_NAV_HTML: dict[tuple, Markup] = {}


def _nav_html():
    """The navigation as HTML. It depends only on the role, the page's path (which item is
    active) and the counts beside items, so each combination is rendered once per process."""
    from flask import render_template, request
    from webapp.nav import NAV, nav_count
    role = getattr(g, "role", None)
    counts = tuple(nav_count(item) for section in NAV for item in section.items if item.count)
    key = (role, request.path, request.endpoint == "dashboard.home", counts)
    html = _NAV_HTML.get(key)
    if html is None:
        if len(_NAV_HTML) > 5_000:
            _NAV_HTML.clear()
        html = _NAV_HTML[key] = Markup(render_template("_nav.html"))
    return html


def _nav_count(item) -> int:
    """The number beside a navigation item (overdue invoices), once per request."""
    from webapp.nav import nav_count
    return nav_count(item)


def register(app) -> None:
    from webapp.core.clock import today
    from webapp.inventory.models import MOVE_KINDS, REASONS
    from webapp.payments.models import METHODS, POLICIES
    app.jinja_env.filters.update(money=_money, localtime=_localtime, date=format_date, qty=_qty,
                                 role_label=lambda r: ROLE_LABELS.get(r, r))
    app.jinja_env.globals.update(can=_can, nav=_nav, my_orgs=_my_orgs, ROLE_LABELS=ROLE_LABELS,
                                 TAX_REGIMES=TAX_REGIMES, MONTHS=MONTHS, INDIA_STATES=INDIA_STATES,
                                 state_name=state_name, currency_places=lambda c: CURRENCIES[c].precision,
                                 today=today, MOVE_KINDS=MOVE_KINDS, REASONS=REASONS, METHODS=METHODS,
                                 POLICIES=POLICIES, nav_count=_nav_count, nav_html=_nav_html)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    # Shared UI macros are globals, so that a block rendered alone as an htmx
    # fragment (which skips its template's top-level imports) can use them.
    for template in ("_macros.html", "_combobox.html", "_doc.html"):
        module = app.jinja_env.get_template(template).module
        for name in dir(module):
            if not name.startswith("_"):
                app.jinja_env.globals[name] = getattr(module, name)

    @app.context_processor
    def _current():
        return {"current_org": getattr(g, "org", None), "current_role": getattr(g, "role", None)}
