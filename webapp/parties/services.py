"""Customers and suppliers: checks, create, edit, import; the walk-in customer."""
from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from webapp.core.errors import DomainError, StaleData
from webapp.core.imports import Column, Importer, RowCheck
from webapp.core.money import MAX_AMOUNT, MoneyError, parse_amount
from webapp.core.regions import GST_INDIA, INDIA_STATES
from webapp.core.taxids import gstin_problem
from webapp.extensions import db
from webapp.orgs.queries import current_organization
from webapp.orgs.services import org_setup_step
from webapp.parties.models import Party

FIELDS = ("code", "name", "is_customer", "is_supplier", "tax_id", "contact_name", "phone", "email",
          "billing_address", "billing_city", "billing_postal_code", "state", "country", "shipping_address",
          "shipping_state", "credit_limit", "payment_terms_days", "currency", "notes", "active")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@org_setup_step
def create_walk_in_customer(org) -> None:
    db.session.add(Party(code="WALKIN", name="Walk-in customer", is_customer=True, is_walk_in=True,
                         currency=org.base_currency, country=org.country, state=org.state))
    db.session.flush()


def walk_in_customer() -> Party:
    party = db.session.scalars(sa.select(Party).where(Party.is_walk_in.is_(True))).first()
    if party is None:
        raise DomainError("There is no walk-in customer; add a customer for counter sales.")
    return party


def clean(values: dict, party: Party | None = None, *, existing_codes: dict | None = None) -> dict:
    org = current_organization()
    v = {k: values.get(k) for k in FIELDS}
    for k in ("code", "name", "tax_id", "contact_name", "phone", "email", "billing_address", "billing_city",
              "billing_postal_code", "state", "shipping_address", "shipping_state", "notes"):
        v[k] = (v[k] or "").strip() or None
    if not v["code"]:
        raise DomainError("Enter a code (your short name for them).", field="code")
    if len(v["code"]) > 30 or not _CODE.match(v["code"]):
        raise DomainError("A code has up to 30 letters, digits, dots, dashes or slashes.", field="code")
    clash = existing_codes.get(v["code"]) if existing_codes is not None else db.session.scalar(
        sa.select(Party.id).where(Party.code == v["code"]))
    if clash is not None and (party is None or clash != party.id):
        raise DomainError(f"Code {v['code']} is already used.", field="code")
    if not v["name"]:
        raise DomainError("Enter the name.", field="name")
    if len(v["name"]) > 200:
        raise DomainError("The name is longer than 200 characters.", field="name")
    v["is_customer"] = bool(v["is_customer"]) if v["is_customer"] is not None else True
    v["is_supplier"] = bool(v["is_supplier"])
    if not (v["is_customer"] or v["is_supplier"]):
        raise DomainError("Tick customer, supplier or both.", field="is_customer")
    if v["email"] and (len(v["email"]) > 254 or not _EMAIL.match(v["email"])):
        raise DomainError("Enter a valid e-mail address.", field="email")
    v["country"] = (v["country"] or org.country or "").strip().upper()[:2] or None
    for k in ("state", "shipping_state"):
        if v[k] and v["country"] == "IN":
            code = v[k].zfill(2) if v[k].isdigit() else next(
                (c for c, n in INDIA_STATES.items() if n.lower() == v[k].lower()), None)
            if code not in INDIA_STATES:
                raise DomainError("Choose an Indian state; it decides CGST + SGST or IGST.", field=k)
            v[k] = code
    if v["tax_id"]:
        v["tax_id"] = v["tax_id"].upper().replace(" ", "")
        if org.tax_regime == GST_INDIA and v["country"] == "IN":
            problem = gstin_problem(v["tax_id"])
            if problem:
                raise DomainError(problem, field="tax_id")
            gst_state = v["tax_id"][:2]
            if v["state"] is None:
                v["state"] = gst_state
            elif v["state"] != gst_state:
                raise DomainError(f"This GSTIN is registered in {INDIA_STATES[gst_state]}, but the state is "
                                  f"{INDIA_STATES.get(v['state'], v['state'])}.", field="tax_id")
        elif len(v["tax_id"]) > 40:
            raise DomainError("A tax id has at most 40 characters.", field="tax_id")
    limit = v["credit_limit"]
    if limit in (None, ""):
        v["credit_limit"] = None
    else:
        try:
            v["credit_limit"] = limit if isinstance(limit, Decimal) else parse_amount(limit, code=org.base_currency)
        except MoneyError as exc:
            raise DomainError(f"Credit limit: {exc}", field="credit_limit") from None
        if v["credit_limit"] > MAX_AMOUNT:
            raise DomainError("The credit limit is too large.", field="credit_limit")
    terms = v["payment_terms_days"]
    try:
        v["payment_terms_days"] = int(terms) if terms not in (None, "") else 0
    except (TypeError, ValueError):
        raise DomainError("Payment terms are a number of days.", field="payment_terms_days") from None
    if not 0 <= v["payment_terms_days"] <= 365:
        raise DomainError("Payment terms are between 0 and 365 days.", field="payment_terms_days")
    v["currency"] = (v["currency"] or org.base_currency).upper()
    if v["currency"] != org.base_currency:
        # One currency per organization for now: the ledger, the reports and the
        # allocations all work in the base currency.
        raise DomainError(f"Customers and suppliers trade in {org.base_currency}, the organization's currency.",
                          field="currency")
    v["active"] = True if v["active"] is None else bool(v["active"])
    return v


def create_party(**values) -> Party:
    v = clean(values)
    party = Party(**v)
    db.session.add(party)
    db.session.flush()
    return party


def update_party(party: Party, version: int | None = None, **values) -> None:
    if version is not None and int(version) != party.version:
        raise StaleData("Someone else changed this record after you opened it. Reload to see their changes.")
    v = clean(values, party)
    if party.is_walk_in and not v["is_customer"]:
        raise DomainError("The walk-in customer stays a customer.", field="is_customer")
    for k, value in v.items():
        setattr(party, k, value)
    party.version += 1
    db.session.flush()


def next_code(prefix: str = "C") -> str:
    n = db.session.scalar(sa.select(sa.func.count()).select_from(Party)) + 1
    while db.session.scalar(sa.select(sa.exists().where(Party.code == f"{prefix}{n:04d}"))):
        n += 1
    return f"{prefix}{n:04d}"


# ---------------------------------------------------------------- CSV import

COLUMNS = [Column("code", True), Column("name", True), Column("is_customer", help="yes or no (default yes)"),
           Column("is_supplier", help="yes or no"), Column("tax_id", help="GSTIN or VAT number"),
           Column("contact_name"), Column("phone"), Column("email"), Column("billing_address"),
           Column("billing_city"), Column("billing_postal_code"), Column("state", help="GST state code or name"),
           Column("country", help="two letters, e.g. IN"), Column("shipping_address"), Column("shipping_state"),
           Column("credit_limit"), Column("payment_terms_days"), Column("notes")]
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def _context() -> dict:
    return {"codes": dict(db.session.execute(sa.select(Party.code, Party.id)).all()), "seen": {}}


def _check_row(raw: dict, ctx: dict) -> RowCheck:
    check = RowCheck(raw["_line"], raw)
    values = {k: raw.get(k) for k in FIELDS if k in raw}
    for flag, default in (("is_customer", True), ("is_supplier", False)):
        text = (raw.get(flag) or "").strip().lower()
        if not text:
            values[flag] = default
        elif text in _YES or text in _NO:
            values[flag] = text in _YES
        else:
            check.errors.append(f"{flag}: write yes or no, not “{raw.get(flag)}”.")
    code = (raw.get("code") or "").strip()
    check.action = "update" if code in ctx["codes"] else "new"
    if code in ctx["seen"]:
        check.errors.append(f"Code {code} appears again (first on line {ctx['seen'][code]}).")
    ctx["seen"].setdefault(code, check.number)
    if not check.errors:
        try:
            party = db.session.get(Party, ctx["codes"][code]) if code in ctx["codes"] else None
            check.values = clean(values, party, existing_codes=ctx["codes"])
        except DomainError as exc:
            check.errors.append(exc.message)
    return check


def _write(rows: list[RowCheck]) -> dict:
    existing = {p.code: p for p in db.session.scalars(sa.select(Party).where(
        Party.code.in_([r.values["code"] for r in rows])))}
    created = updated = 0
    for row in rows:
        party = existing.get(row.values["code"])
        if party is None:
            db.session.add(Party(**row.values))
            created += 1
        else:
            for k, value in row.values.items():
                setattr(party, k, value)
            party.version += 1
            updated += 1
    db.session.flush()
    return {"created": created, "updated": updated}


PARTY_IMPORTER = Importer("parties", COLUMNS, _check_row, _write, _context)
