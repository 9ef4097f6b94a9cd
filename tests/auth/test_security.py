"""Security defaults: CSRF, login rate limit, redirects, sessions, headers."""
import pytest

from tests.factories import PASSWORD, create_org, login


@pytest.fixture
def owner(app):
    with app.app_context():
        return create_org("Secure Shop", email="sec@example.com")


def test_post_without_csrf_token_is_refused(client, owner):
    r = client.post("/login", data={"email": "sec@example.com", "password": PASSWORD}, csrf=False)
    assert r.status_code == 400
    assert b"This form has expired" in r.data
    # and it did not sign in
    assert client.get("/home").status_code == 302


def test_htmx_request_with_the_header_token_is_accepted(client, owner):
    login(client, "sec@example.com")
    r = client.post("/settings/users/invite", data={"email": "new.person@example.com", "role": "sales"},
                    headers={"HX-Request": "true", "X-CSRFToken": client.csrf_token()}, csrf=False)
    assert r.status_code == 303
    r = client.post("/settings/users/invite", data={"email": "other@example.com", "role": "sales"},
                    headers={"HX-Request": "true"}, csrf=False)
    assert r.status_code == 400


def test_eleventh_failed_login_gets_429(client, owner):
    for i in range(10):
        r = login(client, "sec@example.com", f"wrong-password-{i}")
        assert r.status_code == 422, i
    r = login(client, "sec@example.com", "wrong-password-11")
    assert r.status_code == 429
    # Even the right password is refused until the window passes.
    assert login(client, "sec@example.com").status_code == 429


def test_failed_logins_are_limited_per_account_across_addresses(app, make_client, owner):
    for i in range(10):
        c = make_client()
        r = c.post("/login", data={"email": "sec@example.com", "password": f"bad-{i}-password"},
                   environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"})
        assert r.status_code == 422
    c = make_client()
    r = c.post("/login", data={"email": "sec@example.com", "password": "bad-again-password"},
               environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert r.status_code == 429


def test_successful_logins_do_not_count(client, owner):
    for _ in range(12):
        assert login(client, "sec@example.com").status_code == 303
        client.post("/logout")


@pytest.mark.parametrize("target", ["https://evil.com", "//evil.com", "/\\evil.com", "javascript:alert(1)",
                                    "http:/evil.com", "/%0d%0aevil", "\\\\evil.com", "  //evil.com"])
def test_next_only_goes_to_same_site_paths(client, owner, target):
    r = client.post("/login", query_string={"next": target},
                    data={"email": "sec@example.com", "password": PASSWORD})
    assert r.status_code == 303
    location = r.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "evil" not in location.split("?")[0].replace("/%0d%0aevil", "")
    assert "evil.com" not in location


def test_next_to_a_local_page_is_followed(client, owner):
    r = client.post("/login", query_string={"next": "/settings/users"},
                    data={"email": "sec@example.com", "password": PASSWORD})
    assert r.headers["Location"] == "/settings/users"


def test_session_cookie_captured_before_logout_no_longer_works(app, client, owner):
    login(client, "sec@example.com")
    assert client.get("/home").status_code == 200
    cookie = client.get_cookie("smepulse_session")
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("smepulse_session", cookie.value)
    r = thief.get("/home")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_remember_cookie_stops_working_after_logout(app, client, owner):
    client.post("/login", data={"email": "sec@example.com", "password": PASSWORD, "remember": "y"})
    remember = client.get_cookie("smepulse_remember")
    assert remember is not None
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("smepulse_remember", remember.value)
    assert thief.get("/home").status_code == 302


def test_session_is_rotated_at_login(app, client, owner):
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = "by-attacker"
    login(client, "sec@example.com")
    with client.session_transaction() as s:
        assert "planted" not in s


def test_password_change_signs_out_other_devices(app, make_client, owner):
    a, b = make_client(), make_client()
    login(a, "sec@example.com")
    login(b, "sec@example.com")
    r = a.post("/account", data={"pw-current_password": PASSWORD, "pw-new_password": "a-new-passphrase-42",
                                 "pw-confirm": "a-new-passphrase-42"})
    assert r.status_code == 303
    assert a.get("/home").status_code == 200
    assert b.get("/home").status_code == 302
    assert login(make_client(), "sec@example.com", "a-new-passphrase-42").status_code == 303


@pytest.mark.parametrize("new,confirm,current,message", [
    ("short", "short", PASSWORD, b"at least 10"),
    ("a-new-passphrase-42", "different-passphrase", PASSWORD, b"differ"),
    ("a-new-passphrase-42", "a-new-passphrase-42", "not-my-password", b"not right"),
])
def test_bad_password_changes_are_refused(client, owner, new, confirm, current, message):
    login(client, "sec@example.com")
    r = client.post("/account", data={"pw-current_password": current, "pw-new_password": new, "pw-confirm": confirm})
    assert r.status_code == 422
    assert message in r.data


def test_security_headers(client, owner):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_htmx_is_configured_without_eval_and_same_origin_only(client, owner):
    login(client, "sec@example.com")
    html = client.get("/home").get_data(as_text=True)
    assert '"allowEval": false' in html and '"selfRequestsOnly": true' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "vendor/htmx.min.js" in html
    assert "<script>" not in html  # no inline scripts


def test_session_cookie_flags(client, owner):
    r = login(client, "sec@example.com")
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("smepulse_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_no_state_change_on_get(client, owner):
    login(client, "sec@example.com")
    assert client.get("/logout").status_code == 405
    assert client.get("/home").status_code == 200


def test_unknown_email_and_wrong_password_give_the_same_message(client, owner):
    a = login(client, "nobody@example.com", "whatever-password")
    b = login(client, "sec@example.com", "whatever-password")
    assert a.status_code == b.status_code == 422
    assert b"Wrong e-mail address or password" in a.data and b"Wrong e-mail address or password" in b.data
