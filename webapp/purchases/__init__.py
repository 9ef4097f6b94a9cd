"""Purchasing: purchase orders, goods receipts, supplier bills."""
from flask import Blueprint

bp = Blueprint("purchases", __name__, url_prefix="/purchases")

from webapp.purchases import jobs, receipts, routes  # noqa: E402,F401
