"""Settings read from the environment and checked at start.

`APP_ENV` is `development` (default), `testing` or `production`. Production
refuses to start without a strong `SECRET_KEY`; development generates one
once and keeps it under `instance/` so sessions survive restarts.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

#: Values seen in tutorials and sample configs; never acceptable in production.
KNOWN_WEAK_KEYS = {
    "dev", "development", "secret", "changeme", "change-me", "default",
    "secret-key", "your-secret-key", "supersecret", "test", "testing",
    "please-change-me", "replace-me",
}
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a safe, runnable app."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key(instance_path: Path) -> str:
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def check_secret_key(key: str | None) -> None:
    if not key:
        raise ConfigError("SECRET_KEY is not set; production refuses to start without one.")
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters.")
    if key.strip().lower() in KNOWN_WEAK_KEYS or len(set(key)) < 8:
        raise ConfigError("SECRET_KEY is a known default or too repetitive.")


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs however they were written."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_environment(instance_path: Path, environ=os.environ, overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    env = str(overrides.get("APP_ENV") or environ.get("APP_ENV", "development")).strip().lower()
    if env not in {"development", "testing", "production"}:
        raise ConfigError(f"APP_ENV must be development, testing or production, not {env!r}.")
    production = env == "production"

    secret = overrides.get("SECRET_KEY") or environ.get("SECRET_KEY")
    if production:
        check_secret_key(secret)
    elif not secret:
        secret = _dev_secret_key(instance_path)

    db_url = overrides.get("SQLALCHEMY_DATABASE_URI") or environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'smepulse.db'}"
    redis_url = (overrides["REDIS_URL"] if "REDIS_URL" in overrides else environ.get("REDIS_URL")) or None

    settings = {
        "APP_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(db_url),
        "REDIS_URL": redis_url,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "smepulse_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_NAME": "smepulse_remember",
        "REMEMBER_COOKIE_DURATION": 30 * 24 * 3600,
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        # The sign-in lasts as long as its server-side session (auth.services.SESSION_LIFETIME, from
        # sign-in, not from the last request): re-signing the cookie on every response changes nothing.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "MAX_CONTENT_LENGTH": int(environ.get("MAX_UPLOAD_BYTES", 8 * 1024 * 1024)),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": environ.get("LOGIN_RATE_LIMIT", "10 per 15 minutes"),
        "MAIL_SERVER": environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(environ.get("MAIL_USE_TLS"), True),
        "MAIL_FROM": environ.get("MAIL_FROM", "SME Pulse <no-reply@localhost>"),
        # Jobs without Redis run in a thread of the web process; tests run them
        # synchronously after the commit so that assertions are deterministic.
        "JOBS_SYNC": _bool(environ.get("JOBS_SYNC"), env == "testing"),
        "RQ_QUEUE": environ.get("RQ_QUEUE", "smepulse"),
        # Seconds a count in the navigation (overdue invoices) is reused per organization; tests
        # see every change at once.
        "NAV_COUNT_TTL": float(environ.get("NAV_COUNT_TTL", 0 if env == "testing" else 60)),
        # Requests of a process after which its live objects are frozen out of the garbage
        # collector's sight (lifecycle.settle_objects); tests keep collecting everything.
        "GC_FREEZE_AFTER": () if env == "testing" else (10, 100, 1_000, 10_000),
        # Seconds a pooled connection may sit unused before it is pinged at check-out (core.pool).
        "POOL_PING_IDLE_SECONDS": float(environ.get("POOL_PING_IDLE_SECONDS", 5)),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(db_url),
    }
    settings.update(overrides)
    settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(settings["SQLALCHEMY_DATABASE_URI"])
    return settings


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Wait for a writer instead of failing at once with "database is locked".
        return {"connect_args": {"timeout": 30}}
    # No ping on every check-out (a round trip per request): `core.pool` pings only a connection
    # that has sat unused in the pool, which is when a restart or a firewall has dropped it.
    return {"pool_pre_ping": False, "pool_size": 10, "max_overflow": 10}
