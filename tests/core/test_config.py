import pytest

from webapp.config import ConfigError, from_environment


@pytest.mark.parametrize("key", [None, "", "short", "dev", "changeme" * 1, "x" * 40, "secret"])
def test_production_refuses_weak_secret_keys(tmp_path, key):
    env = {"APP_ENV": "production"}
    if key is not None:
        env["SECRET_KEY"] = key
    with pytest.raises(ConfigError):
        from_environment(tmp_path, env)


def test_production_accepts_a_strong_key(tmp_path):
    cfg = from_environment(tmp_path, {"APP_ENV": "production", "SECRET_KEY": "k3Y-" + "aZ9_bY8-cX7" * 4})
    assert cfg["SESSION_COOKIE_SECURE"] is True


def test_development_generates_a_key_once_and_keeps_it(tmp_path):
    a = from_environment(tmp_path, {})
    b = from_environment(tmp_path, {})
    assert a["SECRET_KEY"] == b["SECRET_KEY"] and len(a["SECRET_KEY"]) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_defaults(tmp_path):
    cfg = from_environment(tmp_path, {})
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///") and "instance" not in "" 
    assert cfg["REDIS_URL"] is None
    cfg = from_environment(tmp_path, {"DATABASE_URL": "postgres://u@h/db", "REDIS_URL": "redis://h:6379/0"})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://h:6379/0"


def test_unknown_app_env_is_refused(tmp_path):
    with pytest.raises(ConfigError):
        from_environment(tmp_path, {"APP_ENV": "staging"})
