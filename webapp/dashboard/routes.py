from __future__ import annotations

from flask import g, redirect, url_for
from flask_login import current_user

from webapp.core.htmx import render
from webapp.core.permissions import member, public
from webapp.dashboard import bp

#: Cards contributed by domains: callables (org, role) -> dict | None.
CARDS: list = []


def card(fn):
    CARDS.append(fn)
    return fn


@bp.route("/")
@public
def index():
    """Home for members; the product page for everyone else."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    return render("dashboard/welcome.html")


@bp.route("/home")
@member
def home():
    """What needs attention today."""
    cards = [c for c in (fn(g.org, g.role) for fn in CARDS) if c]
    return render("dashboard/home.html", cards=cards)
