"""Background jobs: a row per job, RQ when Redis is configured, in-process otherwise.

`enqueue(kind, params)` writes (or finds) the job row. Its id is derived from
the organization, the kind and a key (the parameters by default), so a double
click finds the job the first click made instead of making a second one. The
job is handed to RQ (or run in-process) only after the request's transaction
commits, so a worker never looks for a row that is not there yet.

Job functions are registered with `@job_kind`; they receive the job row and a
progress callback, take ids rather than objects, and run inside the job's
organization as the user who asked. A job function reads and returns a
`JobResult`; `run_job` stores it on the row in its own short transaction, so
a render never holds a write lock while it works (which on SQLite would stop
the progress updates). Kinds that must write declare `writes=True`. Running
a job twice leaves one result: a finished job is not run again. Results (CSV,
PDF, ZIP) are stored on the row, so any web process can serve them.

Without Redis, jobs run on one background thread of the web process (the
embedded default); with `JOBS_SYNC` (tests), they run synchronously after the
commit.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Mapped, deferred, mapped_column

from webapp.core import audit
from webapp.core import sqlite as sqlite_setup
from webapp.core.clock import now
from webapp.core.tenancy import TenantScoped, current_org_id, tenant
from webapp.extensions import db

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
_NAMESPACE = uuid.UUID("6f1c7c55-0a43-4c8e-9b4e-3d1c2b9f8a10")


class Job(TenantScoped, db.Model):
    __tablename__ = "job"
    __table_args__ = (
        sa.Index("ix_job_org_user_created", "org_id", "requested_by_id", "created_at"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        sa.CheckConstraint(f"status IN ('{QUEUED}', '{RUNNING}', '{DONE}', '{FAILED}')", name="status"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    #: What a user must be allowed to do to see the result.
    permission: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(200))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(10), default=QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.String(200))
    error: Mapped[str | None] = mapped_column(sa.String(500))
    result_name: Mapped[str | None] = mapped_column(sa.String(200))
    result_mime: Mapped[str | None] = mapped_column(sa.String(100))
    result: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.status in (QUEUED, RUNNING)


@dataclass(frozen=True)
class JobKind:
    name: str
    func: Callable
    permission: str
    writes: bool = False


@dataclass(frozen=True)
class JobResult:
    name: str
    mime: str
    data: bytes
    message: str | None = None


JOB_KINDS: dict[str, JobKind] = {}

#: Run once by a job worker before it takes jobs (see `warm_up_worker`).
WORKER_WARM_UPS: list[Callable[[], None]] = []


def job_kind(name: str, *, permission: str, writes: bool = False):
    """Register `func(job, progress) -> JobResult | None` under `name`."""
    def decorator(func):
        JOB_KINDS[name] = JobKind(name, func, permission, writes)
        return func
    return decorator


def on_worker_start(func: Callable[[], None]) -> Callable[[], None]:
    """Register something a job worker loads once before its first job (stylesheets, fonts)."""
    WORKER_WARM_UPS.append(func)
    return func


def warm_up_worker() -> None:
    """Load what jobs need before taking any: a SimpleWorker's first job then costs what
    the others do, and a forking worker's work-horses inherit it all instead of loading
    it again for every job."""
    for func in WORKER_WARM_UPS:
        try:
            func()
        except Exception:  # a job will report the real problem; the worker still starts
            log.exception("Worker warm-up %s failed", getattr(func, "__name__", func))


def job_id_for(org_id: int, kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{org_id}:{kind}:{key}"))


def enqueue(kind: str, params: dict, *, title: str, key: str | None = None,
            rerun_finished: bool = False) -> Job:
    """Find or create the job for (organization, kind, key) and schedule it.

    A queued, running or finished job with the same key is returned as it
    is (a finished one is re-run only with `rerun_finished`); a failed one
    is queued again.
    """
    if kind not in JOB_KINDS:
        raise KeyError(f"Unknown job kind {kind!r}")
    org_id = current_org_id()
    key = key if key is not None else json.dumps(params, sort_keys=True, default=str)
    job_id = job_id_for(org_id, kind, key)
    job = db.session.scalars(sa.select(Job).where(Job.id == job_id).with_for_update(of=Job)).first()
    if job is not None and (job.active or (job.status == DONE and not rerun_finished)):
        return job
    if job is None:
        job = Job(id=job_id, kind=kind, permission=JOB_KINDS[kind].permission)
        db.session.add(job)
    job.title = title[:200]
    job.params = params
    job.status, job.progress, job.message, job.error = QUEUED, 0, "Waiting to start", None
    job.result = None
    job.result_name = job.result_mime = None
    job.requested_by_id = audit.current_actor().user_id
    job.created_at, job.started_at, job.finished_at = now(), None, None
    db.session.flush()
    _pending().append((job.id, org_id))
    return job


def _pending() -> list:
    return db.session().info.setdefault("pending_jobs", [])


def discard_pending() -> None:
    db.session().info.pop("pending_jobs", None)


def dispatch_pending() -> None:
    """Hand jobs created in the committed transaction to their runner."""
    pending = db.session().info.pop("pending_jobs", [])
    for job_id, org_id in pending:
        dispatch(job_id, org_id)


def dispatch(job_id: str, org_id: int) -> None:
    app = current_app._get_current_object()
    if app.config.get("REDIS_URL"):
        queue(app).enqueue(run_job, job_id, org_id, job_id=job_id,
                           job_timeout=app.config.get("JOB_TIMEOUT", 600),
                           result_ttl=3600, failure_ttl=24 * 3600)
    elif app.config.get("JOBS_SYNC"):
        run_job(job_id, org_id)
    else:
        _executor(app).submit(_run_in_app, app, job_id, org_id)


_executor_lock = threading.Lock()


def _executor(app) -> ThreadPoolExecutor:
    with _executor_lock:
        ex = app.extensions.get("smepulse_job_executor")
        if ex is None:
            ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smepulse-job")
            app.extensions["smepulse_job_executor"] = ex
        return ex


def _run_in_app(app, job_id: str, org_id: int) -> None:
    with app.app_context():
        try:
            run_job(job_id, org_id)
        except Exception:
            log.exception("Job %s failed", job_id)


def redis_connection(app=None):
    from redis import Redis
    app = app or current_app
    conn = app.extensions.get("smepulse_redis")
    if conn is None:
        conn = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["smepulse_redis"] = conn
    return conn


def queue(app=None):
    from rq import Queue
    app = app or current_app
    return Queue(app.config["RQ_QUEUE"], connection=redis_connection(app))


_app_for_worker = None
#: The process whose database connections the engine's pool holds: the one that imported this
#: module, so that a work-horse forked from it (whose pid differs) never uses its parent's.
_engine_pid: int = os.getpid()


def _worker_app():
    """The app a bare RQ worker uses when no app context was pushed for it."""
    global _app_for_worker
    if _app_for_worker is None:
        from webapp import create_app
        _app_for_worker = create_app()
    return _app_for_worker


def _fresh_connections_after_fork() -> None:
    # A forked RQ work-horse must not share its parent's database sockets. (Every horse is
    # forked from the worker, which set `_engine_pid` when it imported this module.)
    global _engine_pid
    pid = os.getpid()
    if _engine_pid != pid:
        db.engine.dispose(close=False)
    _engine_pid = pid


def run_job(job_id: str, org_id: int) -> None:
    """Entry point for RQ and the in-process runner. Idempotent."""
    if not has_app_context():
        with _worker_app().app_context():
            return run_job(job_id, org_id)
    _fresh_connections_after_fork()
    with tenant(org_id):
        job = db.session.get(Job, job_id)
        if job is None or job.status == DONE:
            # Already done (a retry, a double delivery): one result stays.
            db.session.rollback()
            return
        kind = JOB_KINDS.get(job.kind)
        if kind is None or not _requester_may(job):
            job.status, job.error, job.finished_at = FAILED, "Not allowed to run this job.", now()
            db.session.commit()
            return
        job.status, job.started_at, job.message = RUNNING, now(), "Working"
        db.session.commit()
        try:
            intent = sqlite_setup.write_intent(kind.writes)
            with intent, audit.acting_as(job.requested_by_id, ip="job", user_agent=f"job:{job.kind}"):
                result = kind.func(job, Progress(job.id, org_id, enabled=not kind.writes))
                if kind.writes:
                    db.session.commit()
                else:
                    db.session.rollback()  # end the read transaction
            job = db.session.get(Job, job_id)
            if result is not None:
                job.result_name, job.result_mime, job.result = result.name, result.mime, result.data
                job.message = result.message or "Done"
            else:
                job.message = "Done"
            job.status, job.progress, job.finished_at = DONE, 100, now()
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            failed = db.session.get(Job, job_id)
            failed.status, failed.finished_at = FAILED, now()
            failed.error = (str(exc) or type(exc).__name__)[:500]
            failed.message = "Failed"
            db.session.commit()
            raise


def _requester_may(job: Job) -> bool:
    """Re-check that whoever asked is still an active member allowed to see it."""
    from webapp.core.permissions import allowed
    from webapp.orgs.models import Membership
    if job.requested_by_id is None:
        return True  # system jobs (daily overdue check) have no requester
    m = db.session.scalars(sa.select(Membership).where(
        Membership.user_id == job.requested_by_id, Membership.org_id == job.org_id)).first()
    return m is not None and m.active and allowed(m.role, job.permission)


class Progress:
    """Reports progress on its own short transaction, visible while the job runs.

    Disabled for writing jobs on SQLite, whose one writer is the job itself.
    """

    def __init__(self, job_id: str, org_id: int, enabled: bool = True):
        self.job_id, self.org_id, self.enabled = job_id, org_id, enabled

    def __call__(self, percent: int, message: str | None = None) -> None:
        if not self.enabled and db.engine.dialect.name == "sqlite":
            return
        values = {"progress": max(0, min(99, int(percent)))}
        if message:
            values["message"] = message[:200]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT set_config('app.org_id', %s, true)", (str(self.org_id),))
            conn.execute(sa.update(Job.__table__)
                         .where(Job.__table__.c.id == self.job_id, Job.__table__.c.org_id == self.org_id)
                         .values(**values))


def queue_status(app) -> dict:
    """For /healthz: is the job runner reachable, and how busy is it."""
    if not app.config.get("REDIS_URL"):
        mode = "synchronous" if app.config.get("JOBS_SYNC") else "in-process"
        return {"ok": True, "mode": mode}
    from rq import Worker
    try:
        conn = redis_connection(app)
        conn.ping()
        q = queue(app)
        return {"ok": True, "mode": "rq", "queued": q.count,
                "workers": len(Worker.all(connection=conn))}
    except Exception as exc:
        return {"ok": False, "mode": "rq", "error": type(exc).__name__}
