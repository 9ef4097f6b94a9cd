"""Tenant scoping: applied in one place, stamped on insert, raising without a tenant."""
import pytest
import sqlalchemy as sa

from tests.conftest import is_postgres
from tests.factories import create_org
from webapp.core.audit import AuditLog
from webapp.core.numbering import NumberSeries, set_series
from webapp.core.tenancy import NoTenant, TenantMismatch, get_or_404, no_tenant, tenant
from webapp.extensions import db


def test_scoped_query_without_a_tenant_raises(app, ctx):
    create_org()
    with no_tenant():
        with pytest.raises(NoTenant):
            db.session.scalars(sa.select(NumberSeries)).all()
        with pytest.raises(NoTenant):
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))


def test_queries_see_only_the_current_organization(app, ctx):
    a, _ = create_org()
    b, _ = create_org()
    with tenant(a):
        set_series("invoice", "A-")
        db.session.commit()
    with tenant(b):
        set_series("invoice", "B-")
        db.session.commit()
    with tenant(a):
        assert [s.prefix for s in db.session.scalars(sa.select(NumberSeries))] == ["A-"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NumberSeries)) == 1
        # even through a subquery and a join
        sub = sa.select(NumberSeries.id).subquery()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(sub)) == 1
        # bulk update touches only this organization's rows
        db.session.execute(sa.update(NumberSeries).values(width=7))
        db.session.commit()
    with tenant(b):
        assert db.session.scalars(sa.select(NumberSeries)).one().width == 5


def test_a_statement_built_once_is_scoped_to_each_organization_in_turn(app, ctx):
    """`built_once` statements keep their organization's option per organization: the statement
    kept for one organization is never the one another runs."""
    a, _ = create_org()
    b, _ = create_org()
    for org, prefix in ((a, "A-"), (b, "B-")):
        with tenant(org):
            set_series("invoice", prefix)
            db.session.commit()
    stmt = (sa.select(NumberSeries.prefix).where(NumberSeries.kind == sa.bindparam("kind"))
            .execution_options(built_once=True))
    for _ in range(3):
        for org, prefix in ((a, "A-"), (b, "B-")):
            with tenant(org):
                assert db.session.scalars(stmt, {"kind": "invoice"}).all() == [prefix]
                db.session.rollback()
    with no_tenant():
        with pytest.raises(NoTenant):
            db.session.scalars(stmt, {"kind": "invoice"}).all()


def test_new_rows_are_stamped_and_foreign_rows_refused(app, ctx):
    a, _ = create_org()
    b, _ = create_org()
    with tenant(a):
        s = NumberSeries(kind="x", prefix="X-", width=3)
        db.session.add(s)
        db.session.flush()
        assert s.org_id == a
        db.session.add(NumberSeries(kind="y", prefix="Y-", width=3, org_id=b))
        with pytest.raises(TenantMismatch):
            db.session.flush()
        db.session.rollback()


def test_get_or_404_does_not_find_another_organizations_row(app, ctx):
    from werkzeug.exceptions import NotFound
    a, _ = create_org()
    b, _ = create_org()
    with tenant(a):
        sid = set_series("invoice", "A-").id
        db.session.commit()
    with tenant(b):
        with pytest.raises(NotFound):
            get_or_404(NumberSeries, sid)
        for bad in ("abc", -1, 0, 2**64, None):
            with pytest.raises(NotFound):
                get_or_404(NumberSeries, bad)


@pytest.mark.skipif(not is_postgres(), reason="row-level security is PostgreSQL's")
def test_row_level_security_is_the_second_wall(app, ctx):
    a, _ = create_org()
    b, _ = create_org()
    with tenant(a):
        set_series("invoice", "A-")
        db.session.commit()
    with db.engine.connect() as conn:
        superuser = conn.exec_driver_sql("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").scalar()
        if superuser:
            pytest.skip("connected as a superuser, who bypasses row-level security; CI uses an ordinary role")
        # Raw SQL, past the ORM filter: with no organization set, nothing is visible.
        assert conn.exec_driver_sql("SELECT count(*) FROM number_series").scalar() == 0
        conn.exec_driver_sql("SELECT set_config('app.org_id', %s, false)", (str(b),))
        assert conn.exec_driver_sql("SELECT count(*) FROM number_series").scalar() == 0
        with pytest.raises(sa.exc.DBAPIError):
            conn.exec_driver_sql(
                "INSERT INTO number_series (org_id, kind, prefix, width) VALUES (%s, 'z', 'Z', 3)", (a,))
        conn.rollback()
        conn.exec_driver_sql("SELECT set_config('app.org_id', %s, false)", (str(a),))
        assert conn.exec_driver_sql("SELECT count(*) FROM number_series").scalar() == 1
