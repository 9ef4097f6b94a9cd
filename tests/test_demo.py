"""`flask demo` builds a working organization, and running it again changes nothing."""
import sqlalchemy as sa

from webapp.core.tenancy import tenant
from webapp.extensions import db


def test_demo_command_is_idempotent_and_consistent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "demo@example.com" in first.output and "demo-pulse-2026" in first.output
    with app.app_context():
        from webapp.ledger.models import JournalEntry
        from webapp.orgs.models import Organization
        org = db.session.scalars(sa.select(Organization)).one()
        with tenant(org.id):
            entries = db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))
            assert entries > 2
            _check_invariants()
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    with app.app_context(), tenant(org.id):
        from webapp.ledger.models import JournalEntry
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == entries
        _check_invariants()


def _check_invariants():
    from decimal import Decimal
    from webapp.core.clock import today
    from webapp.inventory import queries as stock
    from webapp.ledger import queries
    from webapp.sales.models import SalesDocument
    bs = queries.balance_sheet(today())
    assert bs.balanced
    fy_start, _ = queries.fiscal_year_of(today())
    assert queries.trial_balance(fy_start, today()).balanced
    # Stock value equals the inventory account; what invoices say customers owe
    # (less unallocated credits) equals the receivables account.
    assert stock.valuation(today())[1] == queries.balance_of_role("inventory", today())
    due = sum((d.grand_total - d.amount_paid for d in db.session.scalars(
        sa.select(SalesDocument).where(SalesDocument.status == "posted"))), Decimal(0))
    from webapp.payments.models import Payment
    credits = sum((p.unallocated for p in db.session.scalars(sa.select(Payment).where(
        Payment.direction == "in", Payment.refund_of_id.is_(None), Payment.status == "posted"))), Decimal(0))
    assert due - credits == queries.balance_of_role("receivables", today())
    # What bills say we owe equals the payables account (a credit balance); what was
    # received and not billed yet, at its receiving value, equals goods received not invoiced.
    from webapp.purchases.models import GoodsReceipt, GoodsReceiptLine, PurchaseDocument
    owed = sum((d.grand_total - d.amount_paid for d in db.session.scalars(
        sa.select(PurchaseDocument).where(PurchaseDocument.doc_type == "bill", PurchaseDocument.status == "posted"))),
        Decimal(0))
    prepaid = sum((p.unallocated for p in db.session.scalars(sa.select(Payment).where(
        Payment.direction == "out", Payment.refund_of_id.is_(None), Payment.status == "posted"))), Decimal(0))
    assert owed > 0 and -(owed - prepaid) == queries.balance_of_role("payables", today())
    # The aged reports agree with the control accounts; payments in every shape are there.
    from webapp.payments import queries as pq
    assert pq.aged("customer", today()).totals.total == queries.balance_of_role("receivables", today())
    assert -pq.aged("supplier", today()).totals.total == queries.balance_of_role("payables", today())
    kinds = {(p.direction, p.refund_of_id is not None, p.unallocated > 0) for p in db.session.scalars(sa.select(Payment))}
    assert {("in", False, False), ("in", False, True), ("out", True, False), ("out", False, False)} <= kinds
    statuses = {d.payment_status for d in db.session.scalars(sa.select(PurchaseDocument).where(
        PurchaseDocument.doc_type == "bill", PurchaseDocument.status == "posted"))}
    assert {"paid", "partly_paid"} <= statuses
    unbilled = sum((l.value - l.billed_value for l in db.session.scalars(
        sa.select(GoodsReceiptLine).join(GoodsReceipt).where(GoodsReceipt.status == "posted"))), Decimal(0))
    assert unbilled > 0 and -unbilled == queries.balance_of_role("grni", today())
    statuses = {d.status for d in db.session.scalars(sa.select(PurchaseDocument).where(
        PurchaseDocument.doc_type == "order"))}
    assert statuses == {"draft", "sent", "partly_received", "received", "cancelled"}


def test_demo_login_works(app, client):
    app.test_cli_runner().invoke(args=["demo"])
    r = client.post("/login", data={"email": "demo@example.com", "password": "demo-pulse-2026"})
    assert r.status_code == 303
    assert client.get("/home").status_code == 200
