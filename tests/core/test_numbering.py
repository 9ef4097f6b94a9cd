"""Gapless, unique document numbers."""
import threading
from datetime import date


from tests.conftest import needs_postgres
from tests.factories import create_org
from webapp.core import numbering
from webapp.core.tenancy import tenant
from webapp.extensions import db


def test_numbers_follow_the_fiscal_year_and_prefix(app, ctx):
    org_id, _ = create_org(fiscal_year_start_month=4)
    with tenant(org_id):
        assert numbering.next_number("invoice", date(2026, 4, 1), 4) == "INV-2026-27-00001"
        assert numbering.next_number("invoice", date(2027, 3, 31), 4) == "INV-2026-27-00002"
        assert numbering.next_number("invoice", date(2027, 4, 1), 4) == "INV-2027-28-00001"
        numbering.set_series("invoice", "S/{year}/", 4)
        assert numbering.next_number("invoice", date(2026, 6, 1), 4) == "S/2026/0001"
        numbering.set_series("journal", "JV-", 6)
        assert numbering.next_number("journal", date(2026, 6, 1), 4) == "JV-000001"
        assert numbering.next_number("journal", date(2030, 6, 1), 4) == "JV-000002"


def test_calendar_fiscal_year_label(app, ctx):
    org_id, _ = create_org(fiscal_year_start_month=1)
    with tenant(org_id):
        assert numbering.next_number("invoice", date(2026, 12, 31)) == "INV-2026-00001"


def test_a_rolled_back_number_is_given_back(app, ctx):
    org_id, _ = create_org()
    with tenant(org_id):
        assert numbering.next_number("bill", date(2026, 5, 1), 4).endswith("00001")
        db.session.commit()
        assert numbering.next_number("bill", date(2026, 5, 1), 4).endswith("00002")
        db.session.rollback()
        assert numbering.next_number("bill", date(2026, 5, 1), 4).endswith("00002")
        db.session.commit()


def test_each_organization_has_its_own_series(app, ctx):
    a, _ = create_org()
    b, _ = create_org()
    with tenant(a):
        numbering.next_number("invoice", date(2026, 5, 1), 4)
        numbering.next_number("invoice", date(2026, 5, 1), 4)
        db.session.commit()
    with tenant(b):
        assert numbering.next_number("invoice", date(2026, 5, 1), 4).endswith("00001")


@needs_postgres
def test_concurrent_numbering_is_unique_and_gapless(app):
    """8 threads take 200 numbers; every 5th transaction rolls back."""
    with app.app_context():
        org_id, _ = create_org()
    taken, errors = [], []
    lock = threading.Lock()

    def worker(i):
        with app.app_context(), tenant(org_id):
            for k in range(25):
                n = numbering.next_number("journal", date(2026, 6, 1), 4)
                if (i + k) % 5 == 0:
                    db.session.rollback()
                    continue
                db.session.commit()
                with lock:
                    taken.append(int(n.rsplit("-", 1)[1]))
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert sorted(taken) == list(range(1, len(taken) + 1))
