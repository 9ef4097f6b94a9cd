"""Financial reports: trial balance, general ledger, profit and loss, balance sheet."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from webapp.reports import jobs, routes  # noqa: E402,F401
