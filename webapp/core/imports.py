"""CSV imports with a preview: parse and check every row, show the errors,
write nothing until the user confirms.

The uploaded file is kept in an `ImportBatch` row (size-limited), so the
preview and the confirmation read the very same bytes, and a second confirm
of the same batch imports nothing more. Each domain supplies an importer:
its columns, a row checker returning (values, errors), and a writer.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column

from webapp.core import audit
from webapp.core.clock import now
from webapp.core.errors import DomainError
from webapp.core.tenancy import TenantScoped
from webapp.extensions import db

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 10_000
PREVIEW, IMPORTED = "preview", "imported"


class ImportBatch(TenantScoped, db.Model):
    __tablename__ = "import_batch"
    __table_args__ = (sa.CheckConstraint("status IN ('preview', 'imported')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    status: Mapped[str] = mapped_column(sa.String(10), default=PREVIEW)
    summary: Mapped[dict | None] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)


@dataclass
class Column:
    name: str
    required: bool = False
    help: str = ""


@dataclass
class RowCheck:
    number: int                  # line number in the file (the header is line 1)
    raw: dict
    values: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    action: str = "new"          # "new" | "update"

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Importer:
    kind: str
    columns: list[Column]
    check_row: Callable[[dict, dict], RowCheck]   # (raw row, context) -> RowCheck
    write: Callable[[list[RowCheck]], dict]       # valid rows -> summary
    context: Callable[[], dict] = dict            # loaded once per preview (existing SKUs…)


def read_csv(data: bytes, columns: list[Column]) -> list[dict]:
    """Rows of a CSV file as dicts keyed by lower-case header, or a DomainError."""
    if not data:
        raise DomainError("The file is empty.", field="file")
    if len(data) > MAX_IMPORT_BYTES:
        raise DomainError(f"The file is larger than {MAX_IMPORT_BYTES / (1024 * 1024):g} MB; split it.", field="file")
    if b"\x00" in data:
        raise DomainError("This is not a CSV file (it contains binary data). Save the sheet as CSV.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("The file is not UTF-8 text. In your spreadsheet choose “CSV UTF-8” when saving.",
                          field="file") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise DomainError("The file has no header row.", field="file") from None
    except csv.Error as exc:
        raise DomainError(f"The file is not valid CSV: {exc}.", field="file") from None
    header = [h.strip().lower().replace(" ", "_") for h in header]
    known = {c.name for c in columns}
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        raise DomainError(f"The header row lacks the column(s): {', '.join(missing)}. "
                          f"Expected columns: {', '.join(c.name for c in columns)}.", field="file")
    unknown = [h for h in header if h and h not in known]
    if unknown:
        raise DomainError(f"Unknown column(s): {', '.join(unknown)}. Expected: "
                          f"{', '.join(c.name for c in columns)}.", field="file")
    rows = []
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                raise DomainError(f"The file has more than {MAX_IMPORT_ROWS:,} rows; split it.", field="file")
            if len(line) > len(header):
                raise DomainError(f"Line {reader.line_num} has more cells than the header.", field="file")
            rows.append({"_line": reader.line_num,
                         **{h: (line[i].strip() if i < len(line) else "") for i, h in enumerate(header) if h}})
    except csv.Error as exc:
        raise DomainError(f"The file is not valid CSV near line {reader.line_num}: {exc}.", field="file") from None
    if not rows:
        raise DomainError("The file has a header but no rows.", field="file")
    return rows


def start(importer: Importer, filename: str, data: bytes) -> ImportBatch:
    read_csv(data, importer.columns)  # refuse unreadable files before storing anything
    batch = ImportBatch(kind=importer.kind, filename=(filename or "upload.csv")[:200], content=data,
                        created_by_id=audit.current_actor().user_id)
    db.session.add(batch)
    db.session.flush()
    return batch


def preview(importer: Importer, batch: ImportBatch) -> list[RowCheck]:
    rows = read_csv(batch.content, importer.columns)
    ctx = importer.context()
    return [importer.check_row(row, ctx) for row in rows]


class AlreadyImported(DomainError):
    """A second confirm of the same file (a double click, the back button): nothing more is written."""


def confirm(importer: Importer, batch_id: int) -> tuple[ImportBatch, dict]:
    batch = db.session.scalars(sa.select(ImportBatch).where(ImportBatch.id == batch_id).with_for_update(of=ImportBatch)
                               .execution_options(populate_existing=True)).one()
    if batch.status == IMPORTED:
        raise AlreadyImported("This file was imported already; nothing more was written.")
    checks = preview(importer, batch)
    good = [c for c in checks if c.ok]
    if not good:
        raise DomainError("No row can be imported; fix the errors and upload the file again.")
    summary = importer.write(good)
    summary["skipped"] = len(checks) - len(good)
    with audit.action(f"import.{importer.kind}"):
        batch.status, batch.summary = IMPORTED, summary
        db.session.flush()
    return batch, summary
