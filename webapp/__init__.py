"""SME Pulse: the application factory."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides settings read from the environment."""
    app = Flask(__name__, instance_path=str(ROOT / "instance"), instance_relative_config=True,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    from webapp.config import from_environment
    app.config.update(from_environment(Path(app.instance_path), overrides=config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from webapp.extensions import csrf, db, htmx, limiter, login_manager, migrate
    db.init_app(app)
    from webapp.core import begin, pool
    with app.app_context():
        pool.install(db.engine, app.config["POOL_PING_IDLE_SECONDS"])
        begin.install(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    # Only the login view has limits, and its decorators check them when it runs; the extension's
    # own check before every request (for app-wide limits, of which there are none) is dropped.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    login_manager.init_app(app)

    import webapp.models  # noqa: F401  (complete metadata before anything queries)
    from webapp.core import audit, readonly, sqlite as sqlite_setup, tenancy
    from webapp.sales import search as sales_search
    tenancy.install()
    audit.install()
    sqlite_setup.install()
    readonly.install()
    sales_search.install()

    if app.config["APP_ENV"] == "testing":
        from webapp.auth.services import use_cheap_hashing_for_tests
        use_cheap_hashing_for_tests()

    from webapp import blueprints, lifecycle, cli, templating
    blueprints.register(app)
    lifecycle.register(app)
    templating.register(app)
    cli.register(app)
    return app
