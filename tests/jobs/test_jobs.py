"""Jobs plumbing: deterministic ids, idempotent runs, failure, tenant re-check."""
import sqlalchemy as sa

from tests.conftest import drain_jobs
from tests.factories import add_member, create_org
from webapp.core import audit, jobs
from webapp.core.jobs import JobResult, job_kind
from webapp.core.tenancy import tenant
from webapp.extensions import db

calls = []


@job_kind("test_echo", permission="audit.view")
def _echo(job, progress):
    calls.append(job.params.get("n"))
    progress(50, "half way")
    if job.params.get("fail"):
        raise RuntimeError("asked to fail")
    return JobResult("echo.txt", "text/plain", str(job.params).encode(), "echoed")


def _enqueue(org_id, user_id, params, key=None):
    with tenant(org_id), audit.acting_as(user_id):
        job = jobs.enqueue("test_echo", params, title="Echo", key=key)
        db.session.commit()
        jobs.dispatch_pending()
        return job.id


def test_same_key_makes_one_job_and_runs_once(app, ctx):
    calls.clear()
    org_id, user_id = create_org()
    a = _enqueue(org_id, user_id, {"n": 1})
    b = _enqueue(org_id, user_id, {"n": 1})
    drain_jobs(app)
    assert a == b and calls == [1]
    with tenant(org_id):
        job = db.session.get(jobs.Job, a)
        assert (job.status, job.progress, job.result_name, job.message) == ("done", 100, "echo.txt", "echoed")
    jobs.run_job(a, org_id)  # a retry or double delivery changes nothing
    assert calls == [1]


def test_a_failed_job_records_the_error_and_can_be_queued_again(app, ctx):
    calls.clear()
    org_id, user_id = create_org()
    try:
        _enqueue(org_id, user_id, {"n": 2, "fail": True})
        drain_jobs(app)
    except RuntimeError:
        pass  # in synchronous mode the error propagates after being recorded
    with tenant(org_id):
        job = db.session.scalars(sa.select(jobs.Job)).one()
        assert job.status == "failed" and "asked to fail" in job.error


def test_the_requester_is_rechecked_when_the_job_runs(app, ctx):
    calls.clear()
    org_id, owner_id = create_org()
    sales_id = add_member(org_id, "sales")
    job_id = _enqueue(org_id, sales_id, {"n": 3})
    drain_jobs(app)
    assert calls == []
    with tenant(org_id):
        job = db.session.get(jobs.Job, job_id)
        assert job.status == "failed" and "Not allowed" in job.error


def test_ids_differ_per_organization(app, ctx):
    a, ua = create_org()
    b, ub = create_org()
    assert jobs.job_id_for(a, "k", "x") != jobs.job_id_for(b, "k", "x")
