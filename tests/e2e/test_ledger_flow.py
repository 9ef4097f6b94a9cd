"""The journal editor and the reports in a real browser, phone and desktop."""
import re
from datetime import date

from tests.e2e.conftest import shot, sign_in
from tests.factories import create_org, login  # noqa: F401


def _pick_account(row, text, label):
    box = row.locator("[data-combobox-input]")
    box.click()
    box.fill(text)
    option = row.locator(".combobox-option", has_text=label)
    option.first.click()


def test_journal_editor_and_reports(app, live_server, new_page, viewport):
    label, size = viewport
    with app.app_context():
        create_org("Ledger Browser Co", email=f"gl-{label}@example.com", fiscal_year_start_month=4)
    page = new_page(size)
    sign_in(page, live_server, f"gl-{label}@example.com")
    page.goto(live_server + "/ledger/journals")
    page.fill("#date", date.today().isoformat())
    page.fill("#memo", "Owner's investment")
    page.click("button:has-text('New journal')")
    page.wait_for_url(re.compile(r"/ledger/journals/\d+$"))

    rows = page.locator("#journal-lines tr")
    _pick_account(rows.nth(0), "bank", "1120 · Bank")
    page.wait_for_timeout(300)
    rows.nth(0).locator("input[name=debit]").fill("2,50,000")
    rows.nth(0).locator("input[name=debit]").press("Tab")
    page.wait_for_selector("#doc-totals:has-text('Difference')")
    _pick_account(rows.nth(1), "capital", "3100 · Owner's capital")
    page.wait_for_timeout(300)
    rows.nth(1).locator("input[name=credit]").fill("250000")
    rows.nth(1).locator("input[name=credit]").press("Tab")
    page.wait_for_selector("#doc-totals.balanced")
    assert "2,50,000.00" in page.inner_text("#doc-totals")
    shot(page, f"ledger-journal-editor-{label}")
    page.click("button:has-text('Post journal')")
    page.wait_for_selector("text=Posted as JE-")
    shot(page, f"ledger-journal-posted-{label}")

    page.goto(live_server + "/ledger/accounts")
    shot(page, f"ledger-chart-{label}")
    page.goto(live_server + "/reports/trial-balance")
    assert "Debits equal credits." in page.content()
    shot(page, f"ledger-trial-balance-{label}")
    page.goto(live_server + "/reports/balance-sheet")
    assert "Assets equal liabilities plus equity." in page.content()
    shot(page, f"ledger-balance-sheet-{label}")
    page.click("button:has-text('Download CSV')")
    page.wait_for_selector("#export-slot a:has-text('Download')")
    shot(page, f"ledger-export-{label}")
    assert not page.js_errors, page.js_errors


def test_an_amount_typed_while_the_line_saves_is_kept_and_saved(app, live_server, new_page):
    """The account's save is still on its way when the amount is typed: the amount survives the
    swap of the row and is saved in its turn."""
    from tests.e2e.conftest import PHONE
    with app.app_context():
        create_org("Slow Ledger Co", email="gl-slow@example.com", fiscal_year_start_month=4)
    page = new_page(PHONE)
    sign_in(page, live_server, "gl-slow@example.com")
    page.goto(live_server + "/ledger/journals")
    page.fill("#date", date.today().isoformat())
    page.fill("#memo", "Owner's investment")
    page.click("button:has-text('New journal')")
    page.wait_for_url(re.compile(r"/ledger/journals/\d+$"))
    held = []

    def slow(route):            # every line save takes 1.2 s to come back
        held.append(route.request.url)
        page.wait_for_timeout(1200)
        route.continue_()
    page.route(re.compile(r"/ledger/journals/\d+/lines/\d+$"), slow)
    rows = page.locator("#journal-lines tr")
    _pick_account(rows.nth(0), "bank", "1120 · Bank")
    debit = rows.nth(0).locator("input[name=debit]")
    debit.fill("2,50,000")       # typed while the account's save is on its way
    debit.press("Tab")
    page.wait_for_selector("#doc-totals:has-text('2,50,000.00')", timeout=15_000)
    page.unroute(re.compile(r"/ledger/journals/\d+/lines/\d+$"))
    page.reload()
    value = page.locator("#journal-lines tr").nth(0).locator("input[name=debit]").input_value()
    assert value.replace(",", "") in ("250000.00", "250000"), value
    assert len(held) >= 2        # the account, then the amount
