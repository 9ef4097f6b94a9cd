"""Same-site redirects only."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import url_for


def safe_next(target: str | None, default_endpoint: str = "dashboard.home") -> str:
    """`target` if it is a path on this site, else the default page.

    Refuses absolute URLs, scheme-relative `//host`, backslash tricks
    (`/\\host`, which browsers read as `//host`), control characters and
    `javascript:` or any other scheme.
    """
    fallback = url_for(default_endpoint)
    if not target or not isinstance(target, str) or len(target) > 2000:
        return fallback
    if any(ord(c) < 32 or c == "\\" for c in target):
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def login_url(next_path: str | None = None) -> str:
    base = url_for("auth.login")
    if next_path and next_path not in ("/", "/?"):
        return f"{base}?{urlencode({'next': next_path.rstrip('?')})}"
    return base
