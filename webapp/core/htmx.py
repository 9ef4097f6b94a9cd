"""Full page or fragment from one URL, and HX-Trigger helpers.

A request gets only a fragment (a named block of the page's template) when it
is an htmx request that is neither boosted nor a history restore; every such
response carries `Vary: HX-Request` so caches keep the two apart.
"""
from __future__ import annotations

import json

from flask import make_response, request
from jinja2_fragments.flask import render_block
from flask import render_template


def wants_fragment() -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, block: str | None = None, *, status: int = 200,
           trigger: str | dict | None = None, **context):
    """Render the page, or only `block` of it for a fragment request."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.headers.add("Vary", "HX-Request")
    if trigger:
        add_trigger(response, trigger)
    return response


def render_fragment(template: str, block: str, *, status: int = 200, **context):
    """Always a fragment (for endpoints that only htmx calls)."""
    response = make_response(render_block(template, block, **context), status)
    response.headers.add("Vary", "HX-Request")
    return response


def add_trigger(response, event: str | dict) -> None:
    """Merge an event (name, or {name: detail}) into HX-Trigger."""
    current = response.headers.get("HX-Trigger")
    events: dict = {}
    if current:
        try:
            events = json.loads(current)
        except ValueError:
            events = {name.strip(): None for name in current.split(",")}
    if isinstance(event, str):
        events[event] = None
    else:
        events.update(event)
    response.headers["HX-Trigger"] = json.dumps(events)


def redirect(url: str, status: int = 303):
    """Redirect that also works for htmx (HX-Redirect) requests."""
    from flask import redirect as flask_redirect
    if request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted"):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return flask_redirect(url, status)
