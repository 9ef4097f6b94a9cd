"""The audit trail: who, when, what, old and new, IP and agent; browsing; export job."""
import csv
import io
import re

import sqlalchemy as sa

from tests.conftest import drain_jobs
from tests.factories import add_member, create_org, login
from webapp.core.audit import AuditLog
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.orgs.models import Membership


def test_role_change_is_recorded_with_old_new_ip_and_agent(app, client):
    with app.app_context():
        org_id, owner_id = create_org("Audited", email="aud@example.com")
        uid = add_member(org_id, "sales", email="s@example.com")
        mid = db.session.scalars(sa.select(Membership).where(Membership.user_id == uid)).one().id
    login(client, "aud@example.com")
    r = client.post(f"/settings/users/{mid}/role", data={"role": "accountant"},
                    headers={"User-Agent": "TestBrowser/1.0"}, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert r.status_code == 303
    with app.app_context(), tenant(org_id):
        entry = db.session.scalars(sa.select(AuditLog).where(AuditLog.record_type == "membership",
                                                             AuditLog.action == "update")).one()
        assert entry.old == {"role": "sales"} and entry.new == {"role": "accountant"}
        assert (entry.user_id, entry.ip, entry.user_agent, entry.record_id) == (owner_id, "203.0.113.7", "TestBrowser/1.0", mid)
        assert entry.org_id == org_id and entry.at is not None


def test_a_refused_change_leaves_no_audit_row(app, client):
    with app.app_context():
        org_id, _ = create_org("NoTrace", email="nt@example.com")
        mid = db.session.scalars(sa.select(Membership)).one().id
    with app.app_context(), tenant(org_id):
        before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    login(client, "nt@example.com")
    assert client.post(f"/settings/users/{mid}/role", data={"role": "sales"}).status_code == 422
    with app.app_context(), tenant(org_id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == before


def test_owner_and_accountant_browse_with_filters_others_cannot(app, client, make_client):
    with app.app_context():
        org_id, owner_id = create_org("Browse", email="br@example.com")
        add_member(org_id, "accountant", email="acc@example.com")
        add_member(org_id, "storekeeper", email="sk@example.com")
    login(client, "br@example.com")
    page = client.get("/audit/")
    assert page.status_code == 200 and b"membership" in page.data
    r = client.get("/audit/", query_string={"record_type": "organization"})
    assert r.status_code == 200 and b"organization #" in r.data and b"membership #" not in r.data
    r = client.get("/audit/", query_string={"user_id": str(owner_id)}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and b"<html" not in r.data  # the results fragment only
    assert client.get("/audit/", query_string={"date_from": "2030-01-01", "date_to": "2020-01-01"}).status_code == 422
    assert client.get("/audit/", query_string={"record_id": "-3"}).status_code == 422
    acc = make_client(); login(acc, "acc@example.com")
    assert acc.get("/audit/").status_code == 200
    sk = make_client(); login(sk, "sk@example.com")
    assert sk.get("/audit/").status_code == 403


def test_export_job_produces_a_csv_with_progress_and_download(app, client):
    with app.app_context():
        org_id, _ = create_org("Exporter", email="ex@example.com")
        add_member(org_id, "sales", email="seller@example.com")
        mid = db.session.scalars(sa.select(Membership).where(Membership.role == "sales")).one().id
    login(client, "ex@example.com")
    # A user agent is attacker-controlled text that lands in a CSV cell.
    client.post(f"/settings/users/{mid}/role", data={"role": "storekeeper"},
                headers={"User-Agent": '=HYPERLINK("http://evil.test","x")'})
    r = client.post("/audit/export", headers={"HX-Request": "true"})
    assert r.status_code == 200
    job_id = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
    again = client.post("/audit/export", headers={"HX-Request": "true"})
    assert job_id in again.get_data(as_text=True)  # a double click finds the same job
    drain_jobs(app)
    status = client.get(f"/jobs/{job_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Download" in status and "hx-get" not in status  # done: it stops polling
    dl = client.get(f"/jobs/{job_id}/download")
    assert dl.status_code == 200 and dl.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in dl.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(dl.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["id", "when (UTC)", "user", "action"]
    assert len(rows) > 3
    # Cells that a spreadsheet would run as formulas are neutralised.
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert any("'=HYPERLINK" in cell for row in rows for cell in row)
