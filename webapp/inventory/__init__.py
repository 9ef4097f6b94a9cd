"""Stock: lookup, locations, adjustments, transfers, stocktakes, reports."""
from flask import Blueprint

bp = Blueprint("inventory", __name__, url_prefix="/stock")

from webapp.inventory import document_routes, jobs, routes  # noqa: E402,F401
