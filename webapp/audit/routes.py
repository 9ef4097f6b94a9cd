"""Browse the audit trail; export it as CSV through a job."""
from __future__ import annotations


from flask import g, request
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from webapp.audit import bp, queries
from webapp.core import jobs
from webapp.core.htmx import render
from webapp.core.permissions import requires
from webapp.core.tenancy import MAX_ID
from webapp.orgs.services import members


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    record_type = SelectField("Record", choices={}, validators=[Optional()])
    record_id = IntegerField("Record id", validators=[Optional(), NumberRange(1, MAX_ID, "Enter a record id.")])
    user_id = SelectField("User", choices={}, validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])


def _filter_form():
    form = AuditFilterForm(request.args if request.method == "GET" else request.form)
    form.record_type.choices = {"": "All records", **{t: t.replace("_", " ") for t in queries.record_types()}}
    form.user_id.choices = {"": "All users", **{str(m.user_id): m.user.name for m in members(g.org.id)}}
    valid = form.validate()
    f = queries.AuditFilter()
    if valid:
        f = queries.AuditFilter(
            record_type=form.record_type.data or None, record_id=form.record_id.data,
            user_id=int(form.user_id.data) if form.user_id.data else None,
            date_from=form.date_from.data, date_to=form.date_to.data)
        if f.date_from and f.date_to and f.date_from > f.date_to:
            form.date_to.errors = ["The end date is before the start date."]
            f = queries.AuditFilter()
    return form, f


@bp.route("/")
@requires("audit.view")
def index():
    """The audit trail, newest first, with filters."""
    form, f = _filter_form()
    before = request.args.get("before", type=int)
    rows, next_cursor = queries.audit_entries(f, before_id=before if before and 0 < before <= MAX_ID else None)
    return render("audit/index.html", "results", form=form, rows=rows, next_cursor=next_cursor,
                  params=f.as_params(), status=422 if form.errors else 200)


@bp.route("/export", methods=["POST"])
@requires("audit.view")
def export():
    """Start (or find) the CSV export of the filtered trail."""
    form, f = _filter_form()
    params = f.as_params()
    # The newest entry id is part of the key: the same filters export again
    # once the trail has grown, but a double click finds the same job.
    job = jobs.enqueue("audit_export", params, title="Audit trail export",
                       key=f"{sorted(params.items())}:{queries.latest_id()}")
    return render("jobs/_progress.html", job=job)
