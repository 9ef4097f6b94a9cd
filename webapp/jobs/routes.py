"""A job's progress (a fragment that polls itself) and its result."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, g, make_response
from flask_login import current_user
from sqlalchemy.orm import undefer

from webapp.core.exports import safe_filename
from webapp.core.htmx import render
from webapp.core.jobs import DONE, Job
from webapp.core.permissions import allowed, member
from webapp.extensions import db
from webapp.jobs import bp


def _job_or_404(job_id: str, *, with_result: bool = False) -> Job:
    if len(job_id) != 36:
        abort(404)
    stmt = sa.select(Job).where(Job.id == job_id)
    if with_result:
        stmt = stmt.options(undefer(Job.result))
    job = db.session.scalars(stmt).first()
    # Another organization's job is not found; a job whose result this role
    # may not see is not found either.
    if job is None or not allowed(g.role, job.permission):
        abort(404)
    return job


@bp.route("/")
@member
def index():
    """Your recent jobs."""
    rows = db.session.scalars(sa.select(Job).where(Job.requested_by_id == current_user.id)
                              .order_by(Job.created_at.desc()).limit(30)).all()
    return render("jobs/index.html", jobs=[j for j in rows if allowed(g.role, j.permission)])


@bp.route("/<job_id>")
@member
def status(job_id: str):
    """The progress fragment (polls until the job is done), or a page."""
    job = _job_or_404(job_id)
    return render("jobs/status.html", "progress", job=job)


@bp.route("/<job_id>/download")
@member
def download(job_id: str):
    """The job's result file."""
    job = _job_or_404(job_id, with_result=True)
    if job.status != DONE or job.result is None:
        abort(404)
    response = make_response(job.result)
    response.headers["Content-Type"] = job.result_mime or "application/octet-stream"
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(job.result_name)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
