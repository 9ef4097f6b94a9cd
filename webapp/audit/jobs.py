"""The audit trail as CSV, built in a job."""
from __future__ import annotations

import json
from datetime import date

from webapp.audit.queries import AuditFilter, audit_entries_all, count_entries
from webapp.core.exports import csv_bytes
from webapp.core.jobs import JobResult, job_kind

HEADERS = ["id", "when (UTC)", "user", "action", "record type", "record id", "old values",
           "new values", "ip", "user agent"]


def filter_from_params(params: dict) -> AuditFilter:
    return AuditFilter(
        record_type=params.get("record_type") or None,
        record_id=params.get("record_id"),
        user_id=params.get("user_id"),
        date_from=date.fromisoformat(params["date_from"]) if params.get("date_from") else None,
        date_to=date.fromisoformat(params["date_to"]) if params.get("date_to") else None,
    )


@job_kind("audit_export", permission="audit.view")
def export_audit_trail(job, progress):
    f = filter_from_params(job.params)
    total = max(1, count_entries(f))
    rows, done = [], 0
    for batch in audit_entries_all(f):
        for entry, email in batch:
            rows.append([entry.id, entry.at, email or "", entry.action, entry.record_type, entry.record_id,
                         json.dumps(entry.old, ensure_ascii=False) if entry.old else "",
                         json.dumps(entry.new, ensure_ascii=False) if entry.new else "",
                         entry.ip or "", entry.user_agent or ""])
        done += len(batch)
        progress(done * 100 // total, f"{done} of {total} entries")
    return JobResult(f"audit-trail-{date.today().isoformat()}.csv", "text/csv; charset=utf-8",
                     csv_bytes(HEADERS, rows), message=f"{len(rows)} entries")
