def test_healthz_reports_database_and_jobs(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["backend"] in ("sqlite", "postgresql")
    assert body["jobs"]["ok"] is True
    assert body["jobs"]["mode"] in ("rq", "synchronous", "in-process")


def test_healthz_is_degraded_when_redis_is_unreachable(app, client, monkeypatch):
    from redis import Redis
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.extensions, "smepulse_redis", Redis.from_url("redis://127.0.0.1:1/0"))
    r = client.get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "degraded" and body["jobs"]["ok"] is False and body["database"]["ok"] is True


def test_live_objects_are_frozen_after_the_requests_configured(app, client, monkeypatch):
    import gc
    import itertools
    monkeypatch.setitem(app.config, "GC_FREEZE_AFTER", (2,))
    monkeypatch.setitem(app.extensions, "smepulse_requests", itertools.count(1))
    calls = []
    real = gc.freeze

    def freeze():
        calls.append(1)
        real()
    monkeypatch.setattr(gc, "freeze", freeze)
    gc.unfreeze()
    try:
        client.get("/healthz")
        assert calls == [] and gc.get_freeze_count() == 0     # the first request: not yet
        client.get("/healthz")
        assert calls == [1] and gc.get_freeze_count() > 0      # after the second
        client.get("/healthz")
        assert calls == [1]                                    # and not again
    finally:
        gc.unfreeze()


def test_tests_freeze_nothing(app):
    assert app.config["GC_FREEZE_AFTER"] == ()
