"""Browsing and exporting the audit trail."""
from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from webapp.audit import jobs, routes  # noqa: E402,F401
