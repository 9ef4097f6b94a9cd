"""HTML → PDF with WeasyPrint, reading nothing but the app's own static files.

`render_pdf(html)` turns a rendered template into PDF bytes. It needs no
Flask app or request (job workers call it). Every resource the document asks
for (stylesheets, @import, images, fonts, SVG references, attachments) goes
through `SafeURLFetcher`, which allows only:

* ``data:`` URLs (decoded by WeasyPrint's own fetcher, restricted to data:),
* ``file:`` URLs whose fully resolved path (symlinks followed, percent
  escapes decoded once) is a regular file strictly inside ``static/`` with a
  font, CSS or image extension.

Anything else (http, https, ftp, file outside static/, unknown schemes) raises
`ForbiddenURL`; WeasyPrint logs it and renders without that resource. Relative
URLs resolve against ``static/``, so a template may write
``<img src="vendor/x.png">``.

Fonts come from static/pdf/base.css (the bundled Noto Sans, see docs/pdf.md).
The parsed stylesheets and their FontConfiguration are built once per process
and reused; renders in one process are serialized by a lock (WeasyPrint's
font objects are not thread-safe). Run more worker processes for parallelism.
"""
from __future__ import annotations

import base64
import os
import stat
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

# WeasyPrint checks the system's fontconfig set-up when first imported and
# warns if the machine has no fonts at all. The PDFs do not depend on system
# fonts (base.css bundles its own), so only those two warnings are silenced.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="FontConfig cannot load default config file",
                            category=UserWarning)
    warnings.filterwarnings("ignore", message="No fonts configured in FontConfig",
                            category=UserWarning)
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
_STATIC_REAL = STATIC_DIR.resolve()
#: Base URL of every document: relative links resolve inside static/.
BASE_URL = _STATIC_REAL.as_uri() + "/"
DEFAULT_STYLESHEETS = ("pdf/base.css",)

#: The only static files a PDF may load, with the type they are served as.
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}

#: Logo types accepted by `logo_data_url`, with the bytes their files start with.
LOGO_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
MAX_LOGO_BYTES = 2 * 1024 * 1024


class ForbiddenURL(ValueError):
    """A PDF asked for a resource it may not load."""


def static_file(url: str) -> Path:
    """The real path of the static file a ``file:`` URL names, or ForbiddenURL.

    The path is percent-decoded once, then fully resolved (``..`` and every
    symlink), and must be a regular file strictly inside static/ whose real
    name has an allowed extension.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        raise ForbiddenURL(f"not a file: URL: {url[:200]!r}")
    if parts.netloc not in ("", "localhost"):
        raise ForbiddenURL(f"file: URL names a host: {url[:200]!r}")
    try:
        raw = unquote(parts.path, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ForbiddenURL(f"undecodable file: URL: {url[:200]!r}") from None
    if "\x00" in raw or not raw.startswith("/"):
        raise ForbiddenURL(f"bad file: URL path: {url[:200]!r}")
    try:
        real = Path(raw).resolve(strict=True)
    except (OSError, RuntimeError):
        raise ForbiddenURL(f"no such static file: {url[:200]!r}") from None
    if real == _STATIC_REAL or not real.is_relative_to(_STATIC_REAL):
        raise ForbiddenURL(f"outside the static folder: {url[:200]!r}")
    if real.suffix.lower() not in STATIC_TYPES:
        raise ForbiddenURL(f"not a font, stylesheet or image: {url[:200]!r}")
    if not real.is_file():
        raise ForbiddenURL(f"not a regular file: {url[:200]!r}")
    return real


def _read_static(real: Path) -> bytes:
    # O_NOFOLLOW: if the checked file is swapped for a symlink, refuse.
    fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ForbiddenURL(f"not a regular file: {real}")
        return fh.read()


def safe_url_fetcher(url: str, timeout: float = 10, ssl_context=None) -> URLFetcherResponse:
    """Fetch `url` for WeasyPrint if it is a data: URL or a static file.

    Same signature as WeasyPrint's fetchers (``timeout`` and ``ssl_context``
    are accepted and unused: nothing is ever fetched over a network). Raises
    ForbiddenURL for everything else.
    """
    if not isinstance(url, str):
        raise ForbiddenURL(f"not a URL: {url!r}")
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    if scheme == "data":
        # WeasyPrint's own fetcher, allowed to speak data: and nothing else.
        fetcher = URLFetcher(timeout=timeout, allowed_protocols=("data",),
                             allow_redirects=False)
        return fetcher.fetch(url)
    if scheme == "file":
        real = static_file(url)
        return URLFetcherResponse(real.as_uri(), _read_static(real),
                                  {"Content-Type": STATIC_TYPES[real.suffix.lower()]})
    raise ForbiddenURL(f"URL scheme not allowed in PDFs: {url[:200]!r}")


class SafeURLFetcher(URLFetcher):
    """WeasyPrint 70's fetcher interface (a `URLFetcher` whose `fetch` is
    called for every resource) around `safe_url_fetcher`."""

    def __init__(self, timeout: float = 10, ssl_context=None):
        super().__init__(timeout=timeout, ssl_context=ssl_context,
                         allowed_protocols=("data", "file"), allow_redirects=False,
                         fail_on_errors=False)

    def fetch(self, url, headers=None):
        return safe_url_fetcher(url, self._timeout)


_FETCHER = SafeURLFetcher()


def logo_data_url(data: bytes, mime: str) -> str:
    """An uploaded logo as a ``data:`` URL for ``<img src>`` in a PDF template.

    Only PNG and JPEG, checked by their leading bytes, up to MAX_LOGO_BYTES.
    SVG is refused: it is a document, not a picture (it may reference other
    URLs, embed fonts and text, and is parsed as XML), and a logo does not
    need it.
    """
    mime = (mime or "").split(";", 1)[0].strip().lower()
    if mime == "image/jpg":
        mime = "image/jpeg"
    if mime not in LOGO_TYPES:
        raise ValueError(f"logo must be PNG or JPEG, not {mime or 'unknown'}")
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ValueError("logo is empty")
    if len(data) > MAX_LOGO_BYTES:
        raise ValueError(f"logo is larger than {MAX_LOGO_BYTES // (1024 * 1024)} MB")
    if not bytes(data).startswith(LOGO_TYPES[mime]):
        raise ValueError(f"logo content is not {mime}")
    return f"data:{mime};base64,{base64.b64encode(bytes(data)).decode('ascii')}"


def _stylesheet_url(name: str) -> str:
    """The checked file URL of a stylesheet named relative to static/."""
    if not isinstance(name, str) or not name or name.startswith("/") or ":" in name:
        raise ForbiddenURL(f"stylesheets are paths relative to static/: {name!r}")
    real = static_file((STATIC_DIR / name).as_uri())
    if real.suffix.lower() != ".css":
        raise ForbiddenURL(f"not a stylesheet: {name!r}")
    return real.as_uri()


def _load_stylesheets(urls: Sequence[str], font_config: FontConfiguration) -> list[CSS]:
    return [CSS(url=u, url_fetcher=_FETCHER, font_config=font_config) for u in urls]


_lock = threading.Lock()
#: (stylesheet URLs with their mtimes) -> (FontConfiguration, parsed CSS).
_cache: dict[tuple, tuple[FontConfiguration, list[CSS]]] = {}
_CACHE_SIZE = 8


def _cached_stylesheets(urls: tuple[str, ...]) -> tuple[FontConfiguration, list[CSS]]:
    # The key has each file's mtime and size, so an edited stylesheet is
    # picked up without restarting the worker. Call with _lock held.
    key = tuple((u, (s := os.stat(static_file(u))).st_mtime_ns, s.st_size) for u in urls)
    entry = _cache.get(key)
    if entry is None:
        font_config = FontConfiguration()
        entry = (font_config, _load_stylesheets(urls, font_config))
        while len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = entry
    return entry


def render_pdf(html: str, *, stylesheets: Sequence[str] = DEFAULT_STYLESHEETS) -> bytes:
    """Render an HTML document to PDF bytes.

    `stylesheets` are paths relative to static/ (user stylesheets applied
    after the document's own). Resources are loaded only through
    `SafeURLFetcher`; a refused one is logged by WeasyPrint and left out.
    """
    if isinstance(stylesheets, str):
        raise TypeError("stylesheets is a sequence of paths, not one string")
    urls = tuple(_stylesheet_url(name) for name in stylesheets)
    with _lock:
        if "@font-face" in html.lower():
            # Fonts declared by this document must not outlive it: give it a
            # font configuration of its own instead of the shared one.
            font_config = FontConfiguration()
            css = _load_stylesheets(urls, font_config)
            shared = False
        else:
            font_config, css = _cached_stylesheets(urls)
            shared = True
        faces = _font_faces(font_config)
        try:
            document = HTML(string=html, base_url=BASE_URL, url_fetcher=_FETCHER)
            return document.write_pdf(stylesheets=css, font_config=font_config)
        finally:
            if shared and _font_faces(font_config) != faces:
                # The document declared a font after all (say, an escaped
                # "@font-face"): drop the shared configuration it changed.
                for key in [k for k, (fc, _) in _cache.items() if fc is font_config]:
                    del _cache[key]


def warm_up(stylesheets: Sequence[str] = DEFAULT_STYLESHEETS) -> None:
    """Parse `stylesheets`, load their fonts and lay out a small page once.

    A job worker calls this before it takes jobs (`core.jobs.warm_up_worker`),
    so its first PDF costs what the others do; a forking worker does it in the
    parent, so every work-horse starts with it instead of importing WeasyPrint
    and loading the fonts again for each job."""
    render_pdf(sample_invoice_html(rows=2), stylesheets=stylesheets)


def _font_faces(font_config: FontConfiguration) -> frozenset[str]:
    # WeasyPrint writes each loaded @font-face to a file in its own folder.
    folder = getattr(font_config, "_folder", None)
    return frozenset(os.listdir(folder)) if folder and os.path.isdir(folder) else frozenset()


def clear_cache() -> None:
    """Forget the parsed stylesheets and fonts (tests, benchmarks)."""
    with _lock:
        _cache.clear()


# --- a realistic sample, for the benchmark below and the tests -------------

def sample_invoice_html(rows: int = 10) -> str:
    """A one-page A4 invoice: header, two address blocks, a table, totals."""
    lines = "\n".join(
        f"<tr><td>{i}</td><td>Cà phê rang xay Buôn Ma Thuột loại {i} – gói 500 g</td>"
        f"<td class=num>{i + 1}</td><td class=num>125.000 ₫</td>"
        f"<td class=num>10%</td><td class=num>{(i + 1) * 125_000:,} ₫</td></tr>".replace(",", ".")
        for i in range(1, rows + 1)
    )
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Hóa đơn HD-2025-000123</title></head>
<body>
<div class="doc-header">
  <div><h1>Hóa đơn giá trị gia tăng</h1><p class="muted">Số HD-2025-000123 · Ngày 14/03/2025</p></div>
  <div class="keep"><strong>Công ty TNHH Thương mại Hà Nội</strong><br>
  <small>MST 0101234567 · Tổng giá trị ₫ và ₹ (INR)</small></div>
</div>
<div class="addresses">
  <div class="address keep"><h3>Người bán</h3>
    <strong>Công ty TNHH Thương mại Hà Nội</strong><br>
    Số 12, Đường Nguyễn Trãi, Phường Thượng Đình<br>Quận Thanh Xuân, Hà Nội</div>
  <div class="address keep"><h3>Người mua</h3>
    <strong>Shree Ganesh Traders Pvt. Ltd.</strong><br>
    14 MG Road, Bengaluru 560001<br>GSTIN 29ABCDE1234F1Z5</div>
</div>
<table>
  <thead><tr><th>#</th><th>Hàng hóa, dịch vụ</th><th class=num>SL</th>
  <th class=num>Đơn giá</th><th class=num>Thuế</th><th class=num>Thành tiền</th></tr></thead>
  <tbody>{lines}</tbody>
</table>
<table class="totals">
  <tr><td>Cộng tiền hàng</td><td class=num>8.125.000 ₫</td></tr>
  <tr><td>Thuế GTGT 10%</td><td class=num>812.500 ₫</td></tr>
  <tr class="grand"><td>Tổng cộng</td><td class=num>8.937.500 ₫</td></tr>
  <tr><td>Equivalent in INR</td><td class=num>₹ 28,450.00</td></tr>
</table>
<p class="muted">Số tiền viết bằng chữ: Tám triệu chín trăm ba mươi bảy nghìn năm trăm đồng.</p>
</body></html>"""


def _bench(runs: int = 20) -> None:
    import statistics
    import time

    html = sample_invoice_html()

    def measure(fn) -> tuple[float, float, float]:
        t0 = time.perf_counter()
        fn()  # warm-up (the first one builds the cache)
        first = (time.perf_counter() - t0) * 1000
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        q = statistics.quantiles(times, n=100, method="inclusive")
        return first, statistics.median(times), q[98]

    def uncached():
        font_config = FontConfiguration()
        css = _load_stylesheets([_stylesheet_url(n) for n in DEFAULT_STYLESHEETS], font_config)
        HTML(string=html, base_url=BASE_URL, url_fetcher=_FETCHER).write_pdf(
            stylesheets=css, font_config=font_config)

    clear_cache()
    first, p50, p99 = measure(lambda: render_pdf(html))
    size = len(render_pdf(html))
    print(f"render_pdf, cached stylesheets+fonts: first {first:.0f} ms, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms over {runs} runs; PDF {size / 1024:.0f} KiB")
    first, p50, p99 = measure(uncached)
    print(f"no cache (CSS + FontConfiguration per render): first {first:.0f} ms, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms over {runs} runs")


if __name__ == "__main__":
    _bench()
