"""The catalog: products and services, search, import and export."""
from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/products")

from webapp.catalog import jobs, routes  # noqa: E402,F401
