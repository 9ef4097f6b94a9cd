"""Browser tests: the app on a live local server, driven by the system Chromium.

Chromium comes from the distribution (`apt-get install chromium`), never from a
Playwright download. Without it the browser tests are skipped with a reason,
except under CI (`CI=true`), where a missing browser fails the run.
Screenshots go to test-artifacts/screenshots/.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]


def _chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    path = _chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs the system Chromium for browser tests: apt-get install chromium")
        pytest.skip("browser tests need the system Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="package")
def rq_worker(app):
    """With Redis, a real `flask worker` process runs the jobs the pages start."""
    if not app.config.get("REDIS_URL"):
        yield None
        return
    import subprocess
    import sys
    env = dict(os.environ, APP_ENV="testing", SECRET_KEY=app.config["SECRET_KEY"],
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               RQ_QUEUE=app.config["RQ_QUEUE"])
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], env=env,
                            cwd=Path(__file__).resolve().parents[2])
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="package")
def live_server(app, rq_worker):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(params=["phone", "desktop"])
def viewport(request):
    return request.param, (PHONE if request.param == "phone" else DESKTOP)


#: How long an action, and an `expect`, waits: the same for both (Playwright's expect defaults to
#: 5 s, half the actions' 10), for flows that queue several deliberately slowed saves on a busy machine.
WAIT_MS = 10_000


@pytest.fixture
def new_page(browser):
    contexts = []

    def _make(size):
        ctx = browser.new_context(viewport=size, device_scale_factor=1, is_mobile=size["width"] < 600,
                                  has_touch=size["width"] < 600)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(f"{msg.text} at {msg.location}") if msg.type == "error" else None)
        page.js_errors = errors
        return page

    from playwright.sync_api import expect
    expect.set_options(timeout=WAIT_MS)
    yield _make
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, base: str, email: str) -> None:
    """Sign in through the login form and wait for the home page."""
    from tests.factories import PASSWORD
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/home$"))
