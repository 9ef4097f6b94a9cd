"""The ledger: chart of accounts, manual journals, journal entries, lock date."""
from flask import Blueprint

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

from webapp.ledger import routes  # noqa: E402,F401
