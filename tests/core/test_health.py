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
