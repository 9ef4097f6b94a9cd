"""Every blueprint, registered in one place."""
from __future__ import annotations

BLUEPRINTS = [
    "webapp.auth:bp",
    "webapp.orgs:bp",
    "webapp.dashboard:bp",
    "webapp.audit:bp",
    "webapp.ledger:bp",
    "webapp.reports:bp",
    "webapp.catalog:bp",
    "webapp.inventory:bp",
    "webapp.parties:bp",
    "webapp.sales:bp",
    "webapp.purchases:bp",
    "webapp.payments:bp",
    "webapp.jobs:bp",
    "webapp.health:bp",
    "webapp.soon:bp",
]


def register(app) -> None:
    from importlib import import_module
    for spec in BLUEPRINTS:
        module, _, attr = spec.partition(":")
        app.register_blueprint(getattr(import_module(module), attr))
