"""Customers and suppliers."""
from flask import Blueprint

bp = Blueprint("parties", __name__)

from webapp.parties import jobs, routes  # noqa: E402,F401
