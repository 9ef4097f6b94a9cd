"""Organizations: sign-up, settings, users and roles, switching."""
from flask import Blueprint

bp = Blueprint("orgs", __name__)

from webapp.orgs import routes  # noqa: E402,F401
