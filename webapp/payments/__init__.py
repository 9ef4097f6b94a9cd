from flask import Blueprint

bp = Blueprint("payments", __name__, url_prefix="/payments")

from webapp.payments import jobs, reports, routes  # noqa: E402,F401
