"""The ledger through its pages: chart, the htmx journal editor, reports, downloads."""
import re
from datetime import date

import pytest
import sqlalchemy as sa

from tests.conftest import drain_jobs
from tests.factories import VAT_VN, NO_TAX_US, add_member, create_org, login
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import Account, JournalEntry, ManualJournal

HX = {"HX-Request": "true"}


@pytest.fixture
def owner(app, client):
    with app.app_context():
        org_id, _ = create_org("Ledger Ltd", email="books@example.com", fiscal_year_start_month=4)
    login(client, "books@example.com")
    return org_id


def acc_id(app, org_id, code):
    with app.app_context(), tenant(org_id):
        return db.session.scalars(sa.select(Account.id).where(Account.code == code)).one()


@pytest.mark.parametrize("details,roles,absent", [
    ({}, {"output_cgst", "output_sgst", "output_igst", "input_cgst", "input_sgst", "input_igst"}, {"output_vat"}),
    (VAT_VN, {"output_vat", "input_vat"}, {"output_cgst"}),
    (NO_TAX_US, set(), {"output_vat", "output_cgst"}),
])
def test_chart_template_per_regime(app, ctx, details, roles, absent):
    from webapp.ledger.chart import COMMON_ROLES
    org_id, _ = create_org(**details)
    with tenant(org_id):
        have = set(db.session.scalars(sa.select(Account.role).where(Account.role.is_not(None))))
    assert COMMON_ROLES | roles == have and not (absent & have)
    assert {"cash", "bank", "receivables", "payables", "inventory", "grni", "sales", "sales_returns", "cogs",
            "stock_adjustments", "rounding", "opening_balance_equity", "retained_earnings"} <= have


def test_chart_page_shows_the_tree(client, owner):
    page = client.get("/ledger/accounts").get_data(as_text=True)
    assert "1110 · Cash" in page and "Output CGST" in page and 'class="depth-2"' in page


def test_add_rename_and_deactivate_an_account(app, client, owner):
    parent = acc_id(app, owner, "5000")
    r = client.post("/ledger/accounts/new", data={"code": "5950", "name": "Courier", "type": "expense",
                                                  "parent_id": str(parent)})
    assert r.status_code == 303
    new = acc_id(app, owner, "5950")
    r = client.post(f"/ledger/accounts/{new}/edit", data={"code": "5950", "name": "Courier and post",
                                                          "type": "expense", "parent_id": str(parent)})
    assert r.status_code == 303
    assert client.post(f"/ledger/accounts/{new}/active", data={"active": "0"}).status_code == 303
    with app.app_context(), tenant(owner):
        a = db.session.get(Account, new)
        assert (a.name, a.active) == ("Courier and post", False)


@pytest.mark.parametrize("data,message", [
    ({"code": "1110", "name": "Dup", "type": "asset"}, "already used"),
    ({"code": "", "name": "X", "type": "asset"}, "Enter a code"),
    ({"code": "77 77", "name": "X", "type": "asset"}, "letters, digits"),
    ({"code": "7777", "name": "X", "type": "planet"}, "Not a valid choice"),
    ({"code": "7777", "name": "X", "type": "income", "parent_id": "PARENT_ASSETS"}, "cannot sit under"),
    ({"code": "7777", "name": "X", "type": "asset", "parent_id": "NONGROUP"}, "Not a valid choice"),
    ({"code": "7777", "name": "X", "type": "asset", "parent_id": "999999999"}, "Not a valid choice"),
])
def test_bad_accounts_are_refused(app, client, owner, data, message):
    data = dict(data)
    if data.get("parent_id") == "PARENT_ASSETS":
        data["parent_id"] = str(acc_id(app, owner, "1100"))
    if data.get("parent_id") == "NONGROUP":
        data["parent_id"] = str(acc_id(app, owner, "1110"))
    with app.app_context(), tenant(owner):
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Account))
    r = client.post("/ledger/accounts/new", data=data)
    assert r.status_code == 422 and message.encode() in r.data
    with app.app_context(), tenant(owner):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == before


def test_control_accounts_and_accounts_with_balances_stay_active(app, client, owner):
    cash = acc_id(app, owner, "1110")
    r = client.post(f"/ledger/accounts/{cash}/active", data={"active": "0"}, follow_redirects=True)
    assert b"control account" in r.data
    with app.app_context(), tenant(owner):
        assert db.session.get(Account, cash).active


def _new_journal(client, kind="manual", d="2026-05-01"):
    r = client.post("/ledger/journals/new", data={"kind": kind, "date": d, "memo": "Accrual"})
    assert r.status_code == 303
    jid = int(r.headers["Location"].rsplit("/", 1)[1])
    return jid


def _version(client, jid):
    page = client.get(f"/ledger/journals/{jid}").get_data(as_text=True)
    return re.search(r'id="doc-version" name="version" value="(\d+)"', page).group(1), page


def test_htmx_editor_add_edit_remove_and_post(app, client, owner):
    jid = _new_journal(client)
    version, page = _version(client, jid)
    line_ids = re.findall(r'id="line-(\d+)"', page)
    assert len(line_ids) == 2
    cash, sales = acc_id(app, owner, "1110"), acc_id(app, owner, "4100")
    r = client.post(f"/ledger/journals/{jid}/lines/{line_ids[0]}", headers=HX,
                    data={"account_id": cash, "debit": "1,180.50", "credit": "", "memo": "", "version": version})
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "<html" not in body and f'id="line-{line_ids[0]}"' in body
    assert 'id="doc-totals"' in body and 'hx-swap-oob="true"' in body and "1,180.50" in body
    assert "Difference" in body
    version = re.search(r'id="doc-version" name="version" value="(\d+)"', body).group(1)
    r = client.post(f"/ledger/journals/{jid}/lines", headers=HX, data={"version": version})
    assert r.status_code == 200
    version = re.search(r'id="doc-version" name="version" value="(\d+)"', r.get_data(as_text=True)).group(1)
    third = re.search(r'id="line-(\d+)"', r.get_data(as_text=True)).group(1)
    r = client.post(f"/ledger/journals/{jid}/lines/{line_ids[1]}", headers=HX,
                    data={"account_id": sales, "debit": "", "credit": "1180.50", "version": version})
    assert "Balanced" in r.get_data(as_text=True)
    version = re.search(r'id="doc-version" name="version" value="(\d+)"', r.get_data(as_text=True)).group(1)
    r = client.post(f"/ledger/journals/{jid}/lines/{third}/remove", headers=HX, data={"version": version})
    assert r.status_code == 200 and "<tr" not in r.get_data(as_text=True)
    version = re.search(r'id="doc-version" name="version" value="(\d+)"', r.get_data(as_text=True)).group(1)
    r = client.post(f"/ledger/journals/{jid}/post", data={"version": version})
    assert r.status_code == 303
    page = client.get(f"/ledger/journals/{jid}").get_data(as_text=True)
    assert "JE-2026-27-00001" in page and "Reverse journal" in page
    # A double submit of post posts once.
    r = client.post(f"/ledger/journals/{jid}/post", data={"version": version}, follow_redirects=True)
    assert b"already posted" in r.data
    with app.app_context(), tenant(owner):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 1


@pytest.mark.parametrize("fields,message", [
    ({"debit": "-5"}, "negative"),
    ({"debit": "5", "credit": "5"}, "not both"),
    ({"debit": "abc"}, "not a number"),
    ({"debit": "1.2345"}, "decimal places"),
    ({"debit": "1" + "0" * 20}, "too large"),
    ({"debit": "1e20"}, "not a number"),
])
def test_bad_line_input_is_shown_beside_the_field(app, client, owner, fields, message):
    jid = _new_journal(client)
    version, page = _version(client, jid)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r = client.post(f"/ledger/journals/{jid}/lines/{line}", headers=HX, data=dict(fields, version=version))
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    with app.app_context(), tenant(owner):
        j = db.session.get(ManualJournal, jid)
        assert all(l.debit == 0 and l.credit == 0 for l in j.lines) and j.version == int(version)


def test_another_organizations_account_on_a_line_is_not_found(app, client, owner):
    with app.app_context():
        other, _ = create_org()
    foreign = acc_id(app, other, "1110")
    jid = _new_journal(client)
    version, page = _version(client, jid)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r = client.post(f"/ledger/journals/{jid}/lines/{line}", headers=HX,
                    data={"account_id": foreign, "debit": "5", "version": version})
    assert r.status_code == 404


def test_stale_version_gets_409_with_a_message(app, client, owner):
    jid = _new_journal(client)
    version, page = _version(client, jid)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    client.post(f"/ledger/journals/{jid}/lines", headers=HX, data={"version": version})
    r = client.post(f"/ledger/journals/{jid}/lines/{line}", headers=HX, data={"debit": "5", "version": version})
    assert r.status_code == 409 and "Someone else changed" in r.get_data(as_text=True)


def test_posting_an_unbalanced_journal_is_refused_with_the_difference(app, client, owner):
    jid = _new_journal(client)
    version, page = _version(client, jid)
    l1, l2 = re.findall(r'id="line-(\d+)"', page)
    client.post(f"/ledger/journals/{jid}/lines/{l1}", headers=HX,
                data={"account_id": acc_id(app, owner, "1110"), "debit": "100", "version": version})
    version, _ = _version(client, jid)
    client.post(f"/ledger/journals/{jid}/lines/{l2}", headers=HX,
                data={"account_id": acc_id(app, owner, "4100"), "credit": "99.99", "version": version})
    version, _ = _version(client, jid)
    r = client.post(f"/ledger/journals/{jid}/post", data={"version": version})
    assert r.status_code == 422 and b"differ by 0.01" in r.data
    with app.app_context(), tenant(owner):
        assert db.session.get(ManualJournal, jid).status == "draft"


def test_lock_date_page_and_locked_posting(app, client, owner):
    assert client.post("/ledger/lock", data={"lock_date": "2026-05-31"}).status_code == 303
    jid = _new_journal(client, d="2026-05-15")
    version, _ = _version(client, jid)
    r = client.post(f"/ledger/journals/{jid}/post", data={"version": version})
    assert r.status_code == 422 and b"locked up to 31 May 2026" in r.data
    assert client.post("/ledger/lock", data={"lock_date": "2099-01-01"}).status_code == 422


def _post_sample(app, org_id):
    from tests.ledger.helpers import L, post
    with app.app_context(), tenant(org_id):
        post(date(2026, 4, 10), L("cash", "1000"), L("sales", credit="1000"))
        post(date(2026, 4, 11), L("rent" if False else "cogs", "400"), L("inventory", credit="400"))
        db.session.commit()


def test_reports_render_and_drill_down(app, client, owner):
    _post_sample(app, owner)
    q = {"date_from": "2026-04-01", "date_to": "2026-04-30"}
    tb = client.get("/reports/trial-balance", query_string=q).get_data(as_text=True)
    assert "1,000.00" in tb and "Debits equal credits." in tb
    cash = acc_id(app, owner, "1110")
    assert f"/reports/general-ledger?account_id={cash}" in tb.replace("&amp;", "&")
    pl = client.get("/reports/profit-and-loss", query_string=q).get_data(as_text=True)
    assert "Net profit" in pl and "600.00" in pl
    bs = client.get("/reports/balance-sheet", query_string=q).get_data(as_text=True)
    assert "Assets equal liabilities plus equity." in bs
    gl = client.get("/reports/general-ledger", query_string=dict(q, account_id=cash)).get_data(as_text=True)
    assert "JE-2026-27-00001" in gl and "/ledger/entries/" in gl
    entry_page = client.get(re.search(r'href="(/ledger/entries/\d+)"', gl).group(1))
    assert entry_page.status_code == 200
    bad = client.get("/reports/trial-balance", query_string={"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert bad.status_code == 200 and b"end date is before" in bad.data
    assert client.get("/reports/trial-balance", query_string={"date_from": "garbage"}).status_code == 200


@pytest.mark.parametrize("report,fmt", [("trial_balance", "csv"), ("profit_and_loss", "xlsx"),
                                        ("balance_sheet", "csv"), ("general_ledger", "xlsx")])
def test_report_downloads_run_as_jobs(app, client, owner, report, fmt):
    _post_sample(app, owner)
    data = {"report": report, "format": fmt, "date_from": "2026-04-01", "date_to": "2026-04-30"}
    if report == "general_ledger":
        data["account_id"] = acc_id(app, owner, "1110")
    r = client.post("/reports/export", data=data, headers=HX)
    job_id = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
    drain_jobs(app)
    dl = client.get(f"/jobs/{job_id}/download")
    assert dl.status_code == 200
    if fmt == "csv":
        text = dl.get_data(as_text=True)
        assert "1000.000" in text or "1000" in text
    else:
        import io
        import openpyxl
        book = openpyxl.load_workbook(io.BytesIO(dl.data))
        values = [c for row in book.active.iter_rows(values_only=True) for c in row if c is not None]
        assert 1000 in values or 600 in values


def test_sales_role_cannot_see_the_ledger(app, client, make_client, owner):
    with app.app_context():
        add_member(owner, "sales", email="seller@example.com")
    c = make_client()
    login(c, "seller@example.com")
    for url in ["/ledger/accounts", "/ledger/journals", "/reports/trial-balance"]:
        assert c.get(url).status_code == 403
