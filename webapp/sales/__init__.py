"""Sales: customers' quotes, orders and invoices, quick sale, printable invoices."""
from flask import Blueprint

bp = Blueprint("sales", __name__, url_prefix="/sales")

from webapp.sales import cards, jobs, quick, routes  # noqa: E402,F401
