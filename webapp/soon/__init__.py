"""'Coming soon' pages for domains not built yet, so no link is dead."""
from flask import Blueprint, abort, g

from webapp.core.htmx import render
from webapp.core.permissions import allowed, member

bp = Blueprint("soon", __name__, url_prefix="/coming-soon")


@bp.route("/<slug>")
@member
def page(slug: str):
    """A friendly placeholder for a part of the app still being built."""
    from webapp.nav import SOON_PAGES
    if slug not in SOON_PAGES:
        abort(404)
    section, item = SOON_PAGES[slug]
    if not allowed(g.role, item.permission):
        abort(403)
    return render("soon/page.html", section=section, item=item)
