"""CSV and XLSX output that a spreadsheet cannot turn into a formula.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
read as a formula by Excel and LibreOffice; such text cells get a leading
apostrophe. Numbers (Decimal, int) are written as numbers, never as text,
and never through float in CSV.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Sequence

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_DANGEROUS) else text


def _csv_cell(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return safe_text(value)


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    # A byte-order mark lets Excel open UTF-8 (₹, ₫, Vietnamese) correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheet: str, headers: Sequence[str], rows: Iterable[Sequence],
               *, title: str | None = None, money_columns: Sequence[int] = ()) -> bytes:
    import xlsxwriter
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    ws = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", " ", sheet)[:31] or "Sheet1")
    bold = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    datefmt = book.add_format({"num_format": "yyyy-mm-dd"})
    r = 0
    if title:
        ws.write_string(0, 0, safe_text(title), book.add_format({"bold": True, "font_size": 13}))
        r = 2
    for c, h in enumerate(headers):
        ws.write_string(r, c, safe_text(h), bold)
    widths = [max(10, len(h) + 2) for h in headers]
    for row in rows:
        r += 1
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, bool):
                ws.write_string(r, c, "yes" if v else "no")
            elif isinstance(v, (Decimal, int)):
                # XLSX stores numbers as doubles; the text of the exact value
                # is what CSV is for. Values are already rounded to the unit.
                ws.write_number(r, c, float(v), money if c in money_columns else None)
            elif isinstance(v, datetime):
                ws.write_string(r, c, v.strftime("%Y-%m-%d %H:%M"))
            elif isinstance(v, date):
                ws.write_datetime(r, c, datetime(v.year, v.month, v.day), datefmt)
            else:
                ws.write_string(r, c, safe_text(v))
            if c < len(widths):
                widths[c] = min(60, max(widths[c], len(str(v)) + 2))
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.freeze_panes(3 if title else 1, 0)
    book.close()
    return buf.getvalue()


def safe_filename(name: str, default: str = "download") -> str:
    """A file name safe in a Content-Disposition header and on every OS."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name or "").strip(".-")[:120]
    return cleaned or default
