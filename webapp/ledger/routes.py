"""Chart of accounts, manual journals (htmx line editor), entries, lock date."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for

from webapp.core.clock import today
from webapp.core.errors import DomainError, StaleData
from webapp.core.forms import form_error, status_for
from webapp.core.htmx import render, render_fragment
from webapp.core.permissions import requires
from webapp.core.tenancy import get_or_404
from webapp.ledger import bp, queries, services
from webapp.ledger.forms import (AccountForm, JournalHeaderForm, JournalLineForm, LockDateForm, NewJournalForm,
                                 PostForm, ReverseForm)
from webapp.ledger.models import DRAFT, Account, JournalEntry, ManualJournal, ManualJournalLine
from webapp.ledger.sources import source_label, source_url


# ---------------------------------------------------------------- chart

@bp.route("/accounts")
@requires("ledger.view")
def accounts():
    """The chart of accounts as a tree with balances."""
    as_of = today()
    return render("ledger/accounts/index.html", rows=queries.chart_with_balances(as_of), as_of=as_of,
                  fy=queries.fiscal_year_of(as_of))


def _account_form(form: AccountForm, account: Account | None = None) -> AccountForm:
    groups = [a for a in queries.accounts() if a.is_group and a.active and (account is None or a.id != account.id)]
    form.parent_id.choices = {"": "None (top level)", **{str(a.id): f"{a.label} ({a.type})" for a in groups}}
    return form


def _parent(form: AccountForm) -> Account | None:
    return get_or_404(Account, form.parent_id.data) if form.parent_id.data else None


@bp.route("/accounts/new", methods=["GET", "POST"])
@requires("ledger.accounts")
def new_account():
    """Add an account."""
    form = _account_form(AccountForm())
    if form.validate_on_submit():
        try:
            acc = services.add_account(code=form.code.data, name=form.name.data, type=form.type.data,
                                       parent=_parent(form), is_group=form.is_group.data,
                                       description=form.description.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"Account {acc.label} added.", "success")
            return redirect(url_for("ledger.accounts"), 303)
    return render("ledger/accounts/form.html", form=form, account=None, status=status_for(form))


@bp.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@requires("ledger.accounts")
def edit_account(account_id: int):
    """Rename or move an account."""
    acc = get_or_404(Account, account_id)
    form = _account_form(AccountForm(obj=acc), acc)
    form.type.data = acc.type  # the type of an account never changes
    if request.method == "GET":
        form.parent_id.data = str(acc.parent_id or "")
    if form.validate_on_submit():
        try:
            services.update_account(acc, code=form.code.data, name=form.name.data, parent=_parent(form),
                                    description=form.description.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"Account {acc.label} saved.", "success")
            return redirect(url_for("ledger.accounts"), 303)
    return render("ledger/accounts/form.html", form=form, account=acc, status=status_for(form))


@bp.route("/accounts/<int:account_id>/active", methods=["POST"])
@requires("ledger.accounts")
def set_account_active(account_id: int):
    """Deactivate or reactivate an account (an account with entries is never deleted)."""
    acc = get_or_404(Account, account_id)
    active = request.form.get("active") == "1"
    try:
        services.set_account_active(acc, active)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("ledger.accounts"), 303)
    flash(f"{acc.label} is {'active again' if active else 'deactivated'}.", "success")
    return redirect(url_for("ledger.accounts"), 303)


@bp.route("/accounts/search")
@requires("ledger.view")
def account_search():
    """Postable accounts matching what was typed (combobox options)."""
    q = request.args.get("q", "")[:60]
    return render("ledger/accounts/_options.html", accounts=queries.postable_accounts(q))


# ---------------------------------------------------------------- manual journals

@bp.route("/journals")
@requires("ledger.view")
def journals():
    """Manual journals and opening balances."""
    status = request.args.get("status") if request.args.get("status") in ("draft", "posted", "reversed") else None
    form = NewJournalForm(date=today())
    return render("ledger/journals/index.html", journals=queries.manual_journals(status), status=status,
                  form=form)


@bp.route("/journals/new", methods=["POST"])
@requires("ledger.journal")
def new_journal():
    """Start a draft journal."""
    form = NewJournalForm()
    if not form.validate_on_submit():
        flash("Enter a date for the journal.", "error")
        return redirect(url_for("ledger.journals"), 303)
    journal = services.create_manual_journal(date=form.date.data, memo=form.memo.data, kind=form.kind.data)
    return redirect(url_for("ledger.journal", journal_id=journal.id), 303)


def _editor(journal: ManualJournal, **extra):
    debit, credit = services.journal_totals(journal)
    return dict(journal=journal, debit=debit, credit=credit, header=JournalHeaderForm(obj=journal),
                post_form=PostForm(version=journal.version), reverse_form=ReverseForm(date=today()), **extra)


@bp.route("/journals/<int:journal_id>")
@requires("ledger.view")
def journal(journal_id: int):
    """A journal: the line editor while a draft, the posted entry after."""
    j = get_or_404(ManualJournal, journal_id)
    return render("ledger/journals/detail.html", **_editor(j))


def _draft_for_edit(journal_id: int) -> ManualJournal:
    return get_or_404(ManualJournal, journal_id)


def _line_response(journal, line, form=None, status=200, error=None):
    return render_fragment("ledger/journals/detail.html", "line_update", status=status,
                           **_editor(journal, line=line, line_form=form, line_error=error))


@bp.route("/journals/<int:journal_id>/header", methods=["POST"])
@requires("ledger.journal")
def journal_header(journal_id: int):
    """Change the date or description of a draft."""
    j = _draft_for_edit(journal_id)
    form = JournalHeaderForm()
    error = None
    if form.validate():
        try:
            services.update_journal_header(j, date=form.date.data, memo=form.memo.data, version=form.version.data)
        except DomainError as exc:
            error = exc
    else:
        error = DomainError(next(iter(form.errors.values()))[0])
    return render_fragment("ledger/journals/detail.html", "header_update", status=error.status_code if error else 200,
                           **_editor(j, header_error=error))


@bp.route("/journals/<int:journal_id>/lines", methods=["POST"])
@requires("ledger.journal")
def add_journal_line(journal_id: int):
    """Add an empty line to a draft."""
    j = _draft_for_edit(journal_id)
    try:
        line = services.add_journal_line(j, request.form.get("version", type=int))
    except DomainError as exc:
        return render_fragment("ledger/journals/detail.html", "editor_error", status=exc.status_code,
                               **_editor(j, error=exc))
    return _line_response(j, line)


@bp.route("/journals/<int:journal_id>/lines/<int:line_id>", methods=["POST"])
@requires("ledger.journal")
def update_journal_line(journal_id: int, line_id: int):
    """Save one line of a draft; returns the line and the new totals."""
    j = _draft_for_edit(journal_id)
    line = get_or_404(ManualJournalLine, line_id)
    if line.journal_id != j.id:
        abort(404)
    form = JournalLineForm()
    if not form.validate():
        return _line_response(j, line, form, 422)
    account = get_or_404(Account, form.account_id.data) if form.account_id.data else None
    try:
        services.update_journal_line(j, line, account=account, debit=form.debit.data, credit=form.credit.data,
                                     memo=form.memo.data, version=form.version.data)
    except DomainError as exc:
        form_error(form, exc)
        return _line_response(j, line, form, exc.status_code, exc if isinstance(exc, StaleData) else None)
    return _line_response(j, line)


@bp.route("/journals/<int:journal_id>/lines/<int:line_id>/remove", methods=["POST"])
@requires("ledger.journal")
def remove_journal_line(journal_id: int, line_id: int):
    """Remove a line from a draft."""
    j = _draft_for_edit(journal_id)
    line = get_or_404(ManualJournalLine, line_id)
    if line.journal_id != j.id:
        abort(404)
    try:
        services.remove_journal_line(j, line, request.form.get("version", type=int))
    except DomainError as exc:
        return _line_response(j, line, None, exc.status_code, exc)
    return _line_response(j, None)


@bp.route("/journals/<int:journal_id>/post", methods=["POST"])
@requires("ledger.journal")
def post_journal(journal_id: int):
    """Post a draft: it gets its number and becomes a journal entry."""
    j = get_or_404(ManualJournal, journal_id)
    form = PostForm()
    if form.validate_on_submit():
        if j.status != DRAFT:
            flash(f"This journal is already posted as {j.number}.", "info")
            return redirect(url_for("ledger.journal", journal_id=j.id), 303)
        try:
            entry = services.post_manual_journal(j, form.version.data)
        except DomainError as exc:
            return render("ledger/journals/detail.html", status=exc.status_code, **_editor(j, error=exc))
        flash(f"Posted as {entry.number}.", "success")
    return redirect(url_for("ledger.journal", journal_id=j.id), 303)


@bp.route("/journals/<int:journal_id>/reverse", methods=["POST"])
@requires("ledger.journal")
def reverse_journal(journal_id: int):
    """Reverse a posted journal with a new, mirrored entry."""
    j = get_or_404(ManualJournal, journal_id)
    form = ReverseForm()
    if not form.validate_on_submit():
        return render("ledger/journals/detail.html", status=422,
                      **_editor(j, error=DomainError("Enter the reversal date.")))
    try:
        entry = services.reverse_manual_journal(j, date=form.date.data, memo=form.memo.data)
    except DomainError as exc:
        return render("ledger/journals/detail.html", status=exc.status_code, **_editor(j, error=exc))
    flash(f"Reversed by {entry.number}.", "success")
    return redirect(url_for("ledger.journal", journal_id=j.id), 303)


@bp.route("/journals/<int:journal_id>/delete", methods=["POST"])
@requires("ledger.journal")
def delete_journal(journal_id: int):
    """Delete a draft (a posted journal is never deleted)."""
    j = get_or_404(ManualJournal, journal_id)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        services.delete_draft_journal(j)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("ledger.journal", journal_id=journal_id), 303)
    flash("Draft deleted.", "info")
    return redirect(url_for("ledger.journals"), 303)


# ---------------------------------------------------------------- entries and lock date

@bp.route("/entries")
@requires("ledger.view")
def entries():
    """Every posted journal entry, newest first."""
    before = request.args.get("before", type=int)
    q = request.args.get("q", "")[:60]
    rows, cursor = queries.entries(q=q, before_id=before if before and before > 0 else None)
    return render("ledger/entries/index.html", "results", entries=rows, cursor=cursor, q=q,
                  source_url=source_url, source_label=source_label)


@bp.route("/entries/<int:entry_id>")
@requires("ledger.view")
def entry(entry_id: int):
    """One posted entry with its lines and where it came from."""
    e = get_or_404(JournalEntry, entry_id)
    return render("ledger/entries/detail.html", entry=e, reversal=services.reversal_of(e),
                  source=source_url(e), source_label=source_label(e))


@bp.route("/lock", methods=["GET", "POST"])
@requires("ledger.lock")
def lock_date():
    """Close periods: nothing on or before the lock date can be posted, cancelled or reversed."""
    form = LockDateForm(lock_date=g.org.lock_date)
    if form.validate_on_submit():
        try:
            services.set_lock_date(g.org, form.lock_date.data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            flash(f"Books locked up to {form.lock_date.data:%d %b %Y}." if form.lock_date.data
                  else "The lock date is removed.", "success")
            return redirect(url_for("ledger.lock_date"), 303)
    return render("ledger/lock.html", form=form, status=status_for(form))
