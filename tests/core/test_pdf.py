"""HTML → PDF: the locked-down URL fetcher, the bundled fonts, base.css.

No Flask app here: jobs call render_pdf without one. PDFs are checked with
poppler-utils (pdftotext, pdffonts, pdfimages).
"""
from __future__ import annotations

import base64
import http.server
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import unicodedata
import urllib.request
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from weasyprint.urls import FatalURLFetchingError, URLFetchingError, fetch

from webapp.core import pdf
from webapp.core.pdf import (
    ForbiddenURL, SafeURLFetcher, logo_data_url, render_pdf, safe_url_fetcher,
)

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
STATIC_URL = STATIC.resolve().as_uri()
FONT_FILES = [
    "noto-sans-all-400-normal.woff", "noto-sans-all-400-italic.woff",
    "noto-sans-all-700-normal.woff", "noto-sans-all-700-italic.woff",
]

#: What an invoice for Vietnam or India must print: Vietnamese with all its
#: tone marks, the dong sign ₫ (U+20AB) and the rupee sign ₹ (U+20B9).
SAMPLE_LINES = [
    "Công ty TNHH Thương mại Hà Nội – Hóa đơn giá trị gia tăng",
    "Đường Nguyễn Trãi, Quận Thanh Xuân",
    "Tổng cộng: 8.937.500 ₫ (₹ 28,450.00)",
    "Số tiền viết bằng chữ: Tám triệu chín trăm ba mươi bảy nghìn đồng",
    "ẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợ",
    "ỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ ĂăÂâĐđÊêÔôƠơƯư ₫ ₹ € $ £ ¥ × ÷ − % · “” ‘’ …",
]

needs_poppler = pytest.mark.skipif(
    not all(shutil.which(b) for b in ("pdftotext", "pdffonts", "pdfimages", "pdfinfo", "pdfdetach")),
    reason="poppler-utils (pdftotext, pdffonts, pdfimages, pdfinfo, pdfdetach) not installed: "
           "apt-get install poppler-utils",
)

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


@pytest.fixture(scope="module", autouse=True)
def vendored_fonts():
    missing = [f for f in FONT_FILES if not (STATIC / "vendor" / f).is_file()]
    assert not missing, f"fonts not fetched ({missing}): run `uv run python -m webapp.assets`"


def _run(args: list[str], data: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"doc-{len(list(tmp_path.iterdir()))}.pdf"
    path.write_bytes(data)
    out = subprocess.run([*args, str(path), *(["-"] if args[0] == "pdftotext" else [])],
                         check=True, capture_output=True)
    return out.stdout.decode("utf-8")


def pdf_text(data: bytes, tmp_path: Path) -> str:
    return unicodedata.normalize("NFC", _run(["pdftotext", "-enc", "UTF-8"], data, tmp_path))


def pdf_pages(data: bytes, tmp_path: Path) -> list[str]:
    return pdf_text(data, tmp_path).split("\f")


def pdf_fonts(data: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    """(name without the subset prefix, embedded yes/no) per font."""
    rows = _run(["pdffonts"], data, tmp_path).splitlines()[2:]
    fonts = []
    for row in rows:
        cols = row.split()
        name = cols[0].split("+", 1)[-1]
        emb = cols[-5]  # name type… encoding emb sub uni object ID
        fonts.append((name, emb))
    return fonts


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# --- a local server that records every request it gets -------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    BODIES = {
        "/evil.css": b'body::before { content: "PWNED-CSS" }',
        "/x.png": PNG_1x1,
    }

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        body = self.BODIES.get(self.path, b"PWNED-BODY")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/css" if self.path.endswith(".css") else "image/png")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        # The server works and records (so "no request" below means something).
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{server.server_port}/sanity", timeout=5) as r:
            r.read()
        assert server.requests == ["/sanity"]
        server.requests.clear()
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- the hostile document ---------------------------------------------------

@needs_poppler
def test_hostile_document_reads_no_file_and_makes_no_request(recorder, tmp_path, caplog):
    port = recorder.server_port
    svg = base64.b64encode(
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="10" height="10"><image href="http://127.0.0.1:{port}/svg-image.png" '
        f'width="10" height="10"/><image xlink:href="file:///etc/passwd" width="5" height="5"/>'
        f'</svg>'.encode()).decode()
    html = f"""<!doctype html><html><head><meta charset="utf-8">
<link rel=stylesheet href="file:///etc/passwd">
<link rel=stylesheet href="http://127.0.0.1:{port}/linked.css">
<link rel=attachment href="file:///etc/passwd">
<style>
@import url("http://127.0.0.1:{port}/evil.css");
@import url("file:///etc/passwd");
@font-face {{ font-family: Evil; src: url(http://127.0.0.1:{port}/font.woff); }}
@font-face {{ font-family: Local; src: local("DejaVu Sans"); }}
body {{ background: url(http://127.0.0.1:{port}/x.png); }}
h1 {{ font-family: Evil, Local, sans-serif; }}
p.x::after {{ content: url(file:///etc/passwd); }}
</style></head>
<body>
<h1>Still rendered</h1>
<img src="file:///etc/passwd">
<img src="file:///static/../../etc/passwd">
<img src="../../../../../../etc/passwd">
<img src="{STATIC_URL}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd">
<img src="http://127.0.0.1:{port}/img.png">
<img src="https://127.0.0.1:{port}/tls.png">
<img src="data:image/svg+xml;base64,{svg}">
<object data="http://127.0.0.1:{port}/object.png" type="image/png"></object>
<embed src="file:///etc/passwd" type="image/png">
<p class="x">after</p>
</body></html>"""

    with caplog.at_level(logging.ERROR, logger="weasyprint"):
        data = render_pdf(html)

    assert data.startswith(b"%PDF-")
    assert recorder.requests == [], f"WeasyPrint reached the network: {recorder.requests}"
    text = pdf_text(data, tmp_path)
    assert "Still rendered" in text
    assert "root:" not in text and "PWNED" not in text
    passwd = Path("/etc/passwd")
    if passwd.exists():
        for line in passwd.read_text(errors="replace").splitlines():
            if line.strip():
                assert line.strip() not in text
    # <link rel=attachment> embedded nothing.
    assert _run(["pdfdetach", "-list"], data, tmp_path).splitlines()[0] == "0 embedded files"
    # The resources were asked for and refused by the fetcher, not skipped.
    refused = [r.getMessage() for r in caplog.records if "ForbiddenURL" in r.getMessage()]
    assert any("etc/passwd" in m for m in refused), refused
    assert any(f"127.0.0.1:{port}" in m for m in refused), refused


# --- the fetcher itself -----------------------------------------------------

@pytest.mark.parametrize("url, mime, starts", [
    (f"{STATIC_URL}/pdf/base.css", "text/css", b"/*"),
    (f"file://localhost{STATIC.resolve()}/pdf/base.css", "text/css", b"/*"),
    (f"{STATIC_URL}/pdf/%62ase.css", "text/css", b"/*"),  # escapes are fine inside
    (f"{STATIC_URL}/pdf/../pdf/base.css", "text/css", b"/*"),
    (f"{STATIC_URL}/pdf/base.css?v=1#top", "text/css", b"/*"),
    (f"{STATIC_URL}/vendor/noto-sans-all-400-normal.woff", "font/woff", b"wOFF"),
    (f"{STATIC_URL}/favicon.svg", "image/svg+xml", b""),
    ("data:text/css,body%7Bcolor:red%7D", "text/css", b"body{color:red}"),
    ("data:image/png;base64," + base64.b64encode(PNG_1x1).decode(), "image/png", b"\x89PNG"),
])
def test_fetcher_allows_static_assets_and_data_urls(url, mime, starts):
    response = safe_url_fetcher(url)
    try:
        assert response.content_type == mime
        assert response.read().startswith(starts)
    finally:
        response.close()


@pytest.mark.parametrize("url", [
    # local files outside static/
    "file:///etc/passwd",
    "file:/etc/passwd",
    "FILE:///etc/passwd",
    "file://localhost/etc/passwd",
    "file://evil.example/etc/passwd",
    "file:///static/../../etc/passwd",
    "file:etc/passwd",
    f"{STATIC_URL}/../../../../etc/passwd",
    f"{STATIC_URL}/pdf/../../webapp/core/pdf.py",
    f"{STATIC_URL}/../pyproject.toml",
    f"{STATIC_URL}/../static-evil/x.css",
    # percent-encoded traversal, encoded slashes, double encoding, NUL
    f"{STATIC_URL}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    f"{STATIC_URL}/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    f"{STATIC_URL}/..%2f..%2f..%2f..%2fetc%2fpasswd",
    f"{STATIC_URL}/%252e%252e/%252e%252e/etc/passwd",
    f"{STATIC_URL}/pdf/base.css%00.png",
    f"{STATIC_URL}/%ff%fe.css",
    # inside static/ but not a font, stylesheet or image
    f"{STATIC_URL}/app.js",
    f"{STATIC_URL}/vendor.json",
    f"{STATIC_URL}/vendor/htmx.min.js",
    f"{STATIC_URL}/vendor/.versions.json",
    f"{STATIC_URL}/",
    f"{STATIC_URL}/vendor/",
    f"{STATIC_URL}/pdf/missing.css",
    # not file: or data:
    "http://127.0.0.1/x.css",
    "https://example.com/logo.png",
    "ftp://example.com/x.png",
    "javascript:alert(1)",
    "about:blank",
    "gopher://127.0.0.1:70/_x",
    "jar:file:///etc/passwd!/x",
    "static:/pdf/base.css",
    "//example.com/x.css",
    "pdf/base.css",
    "/etc/passwd",
    "",
])
def test_fetcher_refuses(url):
    with pytest.raises(ForbiddenURL):
        safe_url_fetcher(url)


def test_fetcher_refuses_symlinks_leaving_static(tmp_path, monkeypatch):
    static = tmp_path / "static"
    (static / "pdf").mkdir(parents=True)
    (static / "pdf" / "real.css").write_text("p{}")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "secret.css").write_text("SECRET")
    (static / "pdf" / "link-out.css").symlink_to(outside / "secret.css")
    (static / "pdf" / "link-in.css").symlink_to(static / "pdf" / "real.css")
    (static / "pdf" / "link-js.css").symlink_to(static / "pdf" / "real.js")
    (static / "pdf" / "real.js").write_text("x")
    (static / "dir-out").symlink_to(outside, target_is_directory=True)
    monkeypatch.setattr(pdf, "_STATIC_REAL", static.resolve())
    base = static.resolve().as_uri()

    assert safe_url_fetcher(f"{base}/pdf/real.css").read() == b"p{}"
    assert safe_url_fetcher(f"{base}/pdf/link-in.css").read() == b"p{}"
    for url in (f"{base}/pdf/link-out.css", f"{base}/dir-out/secret.css",
                f"{base}/pdf/link-js.css", (outside / "secret.css").as_uri()):
        with pytest.raises(ForbiddenURL):
            safe_url_fetcher(url)


def test_weasyprint_skips_what_the_fetcher_refuses():
    """WeasyPrint 70 wants a URLFetcher; a refusal is an ordinary fetch error
    (resource left out), never a fatal one that stops the render."""
    fetcher = SafeURLFetcher()
    with pytest.raises(URLFetchingError, match="ForbiddenURL"):
        with fetch(fetcher, "file:///etc/passwd"):
            pass
    with pytest.raises(URLFetchingError):
        with fetch(fetcher, "http://127.0.0.1:9/x.css"):
            pass
    with fetch(fetcher, f"{STATIC_URL}/pdf/base.css") as response:
        assert response.content_type == "text/css"
    assert not issubclass(ForbiddenURL, FatalURLFetchingError)


def test_stylesheets_must_be_css_files_inside_static():
    html = "<p>x</p>"
    for bad in ("../pyproject.toml", "/etc/passwd", "file:///etc/passwd", "app.js",
                "http://example.com/x.css", "pdf/missing.css", "favicon.svg"):
        with pytest.raises(ForbiddenURL):
            render_pdf(html, stylesheets=(bad,))
    with pytest.raises(TypeError):
        render_pdf(html, stylesheets="pdf/base.css")
    assert render_pdf(html, stylesheets=()).startswith(b"%PDF-")


# --- fonts ------------------------------------------------------------------

@pytest.mark.parametrize("name", FONT_FILES)
def test_bundled_font_has_every_glyph_we_print(name):
    cmap = TTFont(STATIC / "vendor" / name).getBestCmap()
    sample = "".join(SAMPLE_LINES) + "0123456789.,:;-+/()#@&"
    missing = sorted({c for c in sample if not c.isspace() and ord(c) not in cmap})
    assert not missing, f"{name} lacks {[f'U+{ord(c):04X} {c}' for c in missing]}"
    assert {0x20AB, 0x20B9} <= cmap.keys()


@needs_poppler
def test_pdf_embeds_the_bundled_font_and_text_round_trips(tmp_path):
    body = "".join(f"<p>{line}</p><p><b>{line}</b></p><p><i>{line}</i></p><p><b><i>{line}</i></b></p>"
                   for line in SAMPLE_LINES)
    data = render_pdf(f'<!doctype html><html lang="vi"><meta charset="utf-8"><body>{body}</body></html>')

    fonts = pdf_fonts(data, tmp_path)
    # Only the family base.css declares: no system font filled in a missing glyph.
    assert {name for name, _ in fonts} == {
        "SME-Pulse-Sans", "SME-Pulse-Sans-Bold", "SME-Pulse-Sans-Italic", "SME-Pulse-Sans-Bold-Italic",
    }, fonts
    assert all(emb == "yes" for _, emb in fonts), fonts

    text = flat(pdf_text(data, tmp_path))
    for line in SAMPLE_LINES:
        assert text.count(flat(line)) == 4, line


@needs_poppler
def test_fonts_do_not_depend_on_the_machine(tmp_path):
    """With a fontconfig that knows no font at all, the PDF is the same."""
    (tmp_path / "cache").mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
                    f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n")
    out = tmp_path / "nofonts.pdf"
    script = ("import sys; from webapp.core import pdf; "
              "open(sys.argv[1], 'wb').write(pdf.render_pdf(pdf.sample_invoice_html()))")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    proc = subprocess.run([sys.executable, "-W", "error", "-c", script, str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    if shutil.which("fc-list"):
        listing = subprocess.run(["fc-list"], env=env, capture_output=True, text=True)
        assert listing.stdout.strip() == "", "the empty fontconfig still sees fonts"

    data = out.read_bytes()
    assert {name for name, _ in pdf_fonts(data, tmp_path)} == {"SME-Pulse-Sans", "SME-Pulse-Sans-Bold"}
    text = flat(pdf_text(data, tmp_path))
    for expected in ("Công ty TNHH Thương mại Hà Nội", "Hóa đơn giá trị gia tăng",
                     "Đường Nguyễn Trãi", "8.937.500 ₫", "₹ 28,450.00", "Page 1 of 1"):
        assert expected in text


# --- the stylesheet ---------------------------------------------------------

@needs_poppler
def test_sample_invoice_is_one_clean_a4_page(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        data = render_pdf(pdf.sample_invoice_html())
    # base.css uses nothing WeasyPrint ignores and every font face loads.
    assert [r.getMessage() for r in caplog.records] == []
    pages = [p for p in pdf_pages(data, tmp_path) if p.strip()]
    assert len(pages) == 1
    assert "Page 1 of 1" in pages[0]
    info = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info


@needs_poppler
def test_long_table_repeats_its_header_and_keeps_rows_whole(tmp_path):
    rows = "".join(
        f"<tr><td>{i}</td><td>rowstart{i} " + "Hàng hóa giao theo hợp đồng số 2025/HĐ " * 4
        + f"rowend{i}</td><td class=num>{i}.000 ₫</td></tr>"
        for i in range(1, 61))
    html = ('<!doctype html><meta charset="utf-8"><h1>Sao kê công nợ</h1><table><thead><tr>'
            '<th>#</th><th>Diễn giải</th><th class=num>Số tiền</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")
    pages = [p for p in pdf_pages(render_pdf(html), tmp_path) if p.strip()]
    assert len(pages) >= 3
    for n, page in enumerate(pages, 1):
        assert "Diễn giải" in page, f"header row missing on page {n}"
        assert f"Page {n} of {len(pages)}" in page
    for i in range(1, 61):
        start = [n for n, p in enumerate(pages) if re.search(rf"\browstart{i}\b", p)]
        end = [n for n, p in enumerate(pages) if re.search(rf"\browend{i}\b", p)]
        assert start == end and len(start) == 1, f"row {i} split across pages {start} / {end}"


# --- logos ------------------------------------------------------------------

def test_logo_data_url_accepts_png_and_jpeg():
    assert logo_data_url(PNG_1x1, "image/png") == (
        "data:image/png;base64," + base64.b64encode(PNG_1x1).decode())
    assert logo_data_url(JPEG_HEAD, "image/jpeg").startswith("data:image/jpeg;base64,/9j/")
    assert logo_data_url(JPEG_HEAD, "image/jpg").startswith("data:image/jpeg;base64,")
    assert logo_data_url(PNG_1x1, "IMAGE/PNG; charset=binary").startswith("data:image/png;")


@pytest.mark.parametrize("data, mime", [
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
    (b"GIF89a\x01\x00\x01\x00", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"<html><script>x</script></html>", "text/html"),
    (JPEG_HEAD, "image/png"),  # declared type and content disagree
    (PNG_1x1, "image/jpeg"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/png"),
    (b"", "image/png"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * pdf.MAX_LOGO_BYTES, "image/png"),
    (PNG_1x1, ""),
])
def test_logo_data_url_refuses_other_content(data, mime):
    with pytest.raises(ValueError):
        logo_data_url(data, mime)


@needs_poppler
def test_logo_is_embedded(tmp_path):
    data = render_pdf(f'<img class="logo" src="{logo_data_url(PNG_1x1, "image/png")}" '
                      'style="width: 20mm"><p>Logo</p>')
    listing = _run(["pdfimages", "-list"], data, tmp_path).splitlines()[2:]
    images = [row.split() for row in listing if row.split()[2] == "image"]  # not its smask
    assert [(cols[3], cols[4]) for cols in images] == [("1", "1")]  # the 1×1 logo


# --- the shared font configuration -----------------------------------------

@needs_poppler
def test_fonts_declared_by_one_document_do_not_reach_the_next(tmp_path):
    first = ('<style>@font-face { font-family: "Leaky"; '
             'src: url(vendor/noto-sans-all-700-italic.woff); }'
             'p { font-family: "Leaky"; }</style><p>first</p>')
    second = '<style>p { font-family: "Leaky", "SME Pulse Sans"; }</style><p>second</p>'
    render_pdf(second)  # the shared configuration exists before the first document
    # (The footer's "Page 1 of 1" is in the bundled font.)
    assert {n for n, _ in pdf_fonts(render_pdf(first), tmp_path)} == {"Leaky-Bold-Italic", "SME-Pulse-Sans"}
    assert {n for n, _ in pdf_fonts(render_pdf(second), tmp_path)} == {"SME-Pulse-Sans"}
    # A CSS escape hides "@font-face" from the quick check; the shared
    # configuration it changed is dropped after that document.
    escaped = first.replace("@font-face", r"@font-fac\65")
    assert {n for n, _ in pdf_fonts(render_pdf(escaped), tmp_path)} == {"Leaky-Bold-Italic", "SME-Pulse-Sans"}
    assert {n for n, _ in pdf_fonts(render_pdf(second), tmp_path)} == {"SME-Pulse-Sans"}


def test_stylesheets_and_fonts_are_parsed_once(monkeypatch):
    pdf.clear_cache()
    built = []
    real = pdf._load_stylesheets
    monkeypatch.setattr(pdf, "_load_stylesheets", lambda *a: built.append(1) or real(*a))
    for _ in range(3):
        render_pdf(pdf.sample_invoice_html(rows=2))
    assert len(built) == 1


def test_concurrent_renders_are_safe():
    html = pdf.sample_invoice_html(rows=3)
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work():
        try:
            results.append(render_pdf(html))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 4
    assert all(r.startswith(b"%PDF-") for r in results)
