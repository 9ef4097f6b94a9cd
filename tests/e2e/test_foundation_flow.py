"""Sign up → invite a user → log in as that user → switch organization, in a real browser."""
import re

from tests.e2e.conftest import shot
from tests.factories import PASSWORD, create_org


def _open_menu_if_phone(page, name):
    if page.viewport_size["width"] < 960:
        page.click("details.menu-toggle > summary")


def test_signup_invite_login_switch(app, live_server, new_page, viewport):
    label, size = viewport
    # The invitee already owns another organization, so there is something to switch to.
    with app.app_context():
        create_org("Second Branch", email=f"invitee-{label}@example.com", owner_name="Ivan Invitee")

    owner = new_page(size)
    owner.goto(live_server + "/signup")
    shot(owner, f"foundation-signup-{label}")
    owner.fill("#name", "Lotus Pharmacy")
    owner.select_option("#country", "IN")
    owner.select_option("#state", "29")
    owner.select_option("#base_currency", "INR")
    owner.select_option("#tax_regime", "gst_india")
    owner.fill("#tax_id", "29AAGCB7383J1Z4")
    owner.fill("#address_line1", "14 Residency Road")
    owner.fill("#city", "Bengaluru")
    owner.fill("#user_name", "Lakshmi Owner")
    owner.fill("#user_email", f"lakshmi-{label}@example.com")
    owner.fill("#password", PASSWORD)
    owner.fill("#confirm", PASSWORD)
    owner.click("button[type=submit]")
    owner.wait_for_url(re.compile(r"/home$"))
    assert "Lotus Pharmacy" in owner.inner_text("header")
    shot(owner, f"foundation-home-{label}")

    _open_menu_if_phone(owner, "users")
    owner.locator("a:visible", has_text="Users and roles").first.click()
    owner.wait_for_url(re.compile(r"/settings/users$"))
    owner.fill("#email", f"invitee-{label}@example.com")
    owner.select_option("#role", "accountant")
    owner.click("text=Send invitation")
    link = owner.input_value(".invite-link input")
    assert "/invite/" in link
    shot(owner, f"foundation-users-{label}")

    invitee = new_page(size)
    invitee.goto(link)
    invitee.get_by_role("link", name="Log in to accept").click()
    invitee.wait_for_url(re.compile(r"/login"))
    shot(invitee, f"foundation-accept-login-{label}")
    invitee.fill("#email", f"invitee-{label}@example.com")
    invitee.fill("#password", PASSWORD)
    invitee.click("button[type=submit]")
    invitee.wait_for_url(re.compile(r"/invite/"))
    invitee.click("button:has-text('Join Lotus Pharmacy')")
    invitee.wait_for_url(re.compile(r"/home$"))
    assert "Lotus Pharmacy" in invitee.inner_text(".org-switch summary")
    assert "Accountant" in invitee.inner_text(".org-switch summary")

    invitee.click(".org-switch > summary")
    shot(invitee, f"foundation-switcher-{label}")
    invitee.click("button.popover-item:has-text('Second Branch')")
    invitee.wait_for_url(re.compile(r"/home$"))
    assert "Second Branch" in invitee.inner_text(".org-switch summary")
    assert "Owner" in invitee.inner_text(".org-switch summary")
    shot(invitee, f"foundation-switched-{label}")
    assert not owner.js_errors and not invitee.js_errors, owner.js_errors + invitee.js_errors
