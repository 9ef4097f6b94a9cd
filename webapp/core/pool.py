"""Connection check-out: ping only a connection that has been idle.

`pool_pre_ping` costs a round trip on every check-out, that is on every
request. A pooled connection that was in use a moment ago is alive; the ones
that die are those left unused while the database restarted or a firewall
dropped idle connections. So a connection is pinged only when it has sat in
the pool for `POOL_PING_IDLE_SECONDS` (default 5); a dead one is replaced
before the request sees it (SQLAlchemy retries the check-out on
`DisconnectionError`). A connection that dies while in use fails that one
request, as it would with a ping, and the pool is invalidated so the next
requests get fresh connections.
"""
from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy import event

_RETURNED = "smepulse_returned_at"


def install(engine, idle_seconds: float) -> None:
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError(f"an idle pooled connection was dead: {exc}") from exc
