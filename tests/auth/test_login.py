from tests.factories import create_org, login


def test_login_page_renders(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert b"Log in" in r.data


def test_login_and_home(app, client):
    with app.app_context():
        create_org("Asha Stores", email="asha@example.com")
    r = login(client, "asha@example.com")
    assert r.status_code == 303
    r = client.get("/home")
    assert r.status_code == 200, r.data
    assert b"Asha Stores" in r.data


def test_wrong_password_is_422_with_message(app, client):
    with app.app_context():
        create_org(email="b@example.com")
    r = login(client, "b@example.com", "wrong-password-xx")
    assert r.status_code == 422
    assert b"Wrong e-mail address or password" in r.data
