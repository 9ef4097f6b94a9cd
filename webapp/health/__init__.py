"""GET /healthz: is the database reachable, and the job queue."""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from webapp.core.jobs import queue_status
from webapp.core.permissions import public
from webapp.extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
def healthz():
    """Database and job queue status as JSON; 503 when something is down."""
    started = time.perf_counter()
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = {"ok": True, "backend": db.engine.dialect.name,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # report, do not crash: this is the health check
        db.session.rollback()
        database = {"ok": False, "backend": db.engine.dialect.name, "error": type(exc).__name__}
    jobs = queue_status(current_app)
    ok = database["ok"] and jobs["ok"]
    response = jsonify({"status": "ok" if ok else "degraded", "database": database, "jobs": jobs})
    response.status_code = 200 if ok else 503
    return response
