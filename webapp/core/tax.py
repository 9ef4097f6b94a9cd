"""The sales tax engine: from invoice lines to taxes, totals and round-off.

A pure module: no Flask, no database. It takes a `TaxContext` (regime,
currency, where the sale happens, whether prices include tax, rounding
policy) and a list of `LineInput`, and returns a `DocumentResult` with every
figure a printed invoice needs. Nothing is stored and nothing is looked up;
callers (invoices, quotes, quick sale) pass in what they know.

Regimes
-------
* India GST (`GST_INDIA`). A sale within one state (the place of supply is
  the seller's state, or not given) pays CGST and SGST, each at half the
  line's rate (18 % -> CGST 9 % + SGST 9 %). A sale to another state pays
  IGST at the full rate.
* VAT (`VAT`). One component, "VAT", at the line's rate. One invoice may mix
  rates (Vietnam: 0, 5, 8 and 10 %).
* No tax (`NO_TAX`). No components and no tax; a non-zero `tax_rate` on a
  line is *ignored*, so a catalogue that carries rates can still be sold by
  a business that does not charge tax.

Money
-----
Money is `Decimal` end to end; a float is refused. Every money figure in a
result is quantized to the currency's precision (VND 0 places, INR 2,
KWD 3) with `ROUND_HALF_UP`, by name, through `webapp.core.money.quantize`.
Quantities may have 3 decimal places, unit prices 6, rates and discount
percentages 4.

Per line:  gross    = quantize(quantity * unit_price)
           discount = quantize(gross * percent / 100), or the amount given
                      (which must already fit the currency)
           taxable  = gross - discount
           each tax component = quantize(taxable * component rate / 100)
           total    = taxable + the line's taxes

Prices that include tax (`prices_include_tax`): the customer pays exactly
gross - discount (the shelf price). The engine finds
taxable = quantize(inclusive * 100 / (100 + rate)), computes the components
from it as above, and if taxable + components misses the inclusive amount by
a minor unit (each was rounded on its own), it moves taxable by the
difference: the tax stays as computed, the line total is the shelf price.

Rounding policy
---------------
* PER_LINE (default for GST): every component of every line is rounded on
  its own (CGST and SGST separately); the document's tax is the sum of the
  lines' rounded taxes.
* PER_DOCUMENT (default for VAT): taxable values are summed per rate and the
  tax is computed once per rate: quantize(taxable_sum * rate / 100). With
  inclusive prices, VAT per rate is quantize(inclusive_sum * rate / (100 +
  rate)) and taxable_sum = inclusive_sum - tax; GST per rate reuses the line
  method on the sums (taxable, components, adjust taxable). Each line still
  shows its own tax rounded per line, for display, so the lines' taxes may
  differ from the document's by a minor unit or two: the document's
  breakdown and totals are the ones that count. With inclusive prices this
  also holds for the taxable values (the document's `taxable_total` is
  inclusive_sum - tax, which may differ from the sum of the lines' taxable
  values) so that the customer still pays exactly the shelf prices.
* Round-off to a whole unit (default only for GST in INR: the "Round off" line
  of an Indian invoice): grand_total is rounded to the nearest whole rupee,
  ROUND_HALF_UP, and the difference (between -0.49 and +0.50) is `rounding`.
  Otherwise `rounding` is 0.

The results satisfy: grand_total == taxable_total + tax_total + rounding,
tax_total == the sum of the breakdown's amounts, and (except for the
inclusive per-document case above) taxable_total == the sum of the lines'
taxable values. See docs/tax.md for worked examples.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from webapp.core.money import CURRENCIES, MAX_AMOUNT, MoneyError, quantize, to_decimal

GST_INDIA, VAT, NO_TAX = "gst_india", "vat", "none"   # same strings as webapp/core/regions.py
PER_LINE, PER_DOCUMENT = "line", "document"

REGIMES = (GST_INDIA, VAT, NO_TAX)
ROUNDINGS = (PER_LINE, PER_DOCUMENT)

#: Decimal places accepted on input (the widths of the Quantity, UnitPrice and Rate columns).
QUANTITY_PLACES = 3
PRICE_PLACES = 6
RATE_PLACES = 4
#: A rate above this is almost surely a typing mistake (180 for 18).
MAX_RATE = Decimal(100)

#: Order of the components within one rate in the breakdown.
KIND_ORDER = {"CGST": 0, "SGST": 1, "IGST": 2, "VAT": 3}

_HUNDRED = Decimal(100)
#: Working precision: far above the 24 significant digits of the largest exact
#: product (15 integer digits + 9 decimals), so no intermediate is ever rounded
#: by the context; the only roundings are the explicit, named quantizes.
_PRECISION = 60


class TaxError(ValueError):
    """Input the engine cannot compute a correct invoice from.

    The message is a plain sentence fit to show a shop owner.
    """


@dataclass(frozen=True)
class TaxContext:
    regime: str                      # GST_INDIA | VAT | NO_TAX
    currency: str                    # "INR", "VND", ...
    seller_state: str | None = None  # GST state code of the seller, e.g. "29"
    place_of_supply: str | None = None  # GST state code of the place of supply; None = same as seller
    prices_include_tax: bool = False
    rounding: str | None = None      # PER_LINE | PER_DOCUMENT; None = the regime's default
    round_total_to_whole: bool | None = None  # None = regime default (GST India INR: True; others False)


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal              # tax-exclusive or tax-inclusive per ctx.prices_include_tax
    tax_rate: Decimal = Decimal(0)   # percent, e.g. Decimal("18")
    discount_percent: Decimal | None = None   # e.g. Decimal("10") for 10 %, of quantity*unit_price
    discount_amount: Decimal | None = None    # absolute, for the whole line (not per unit)


@dataclass(frozen=True)
class TaxComponent:
    kind: str        # "CGST" | "SGST" | "IGST" | "VAT"
    rate: Decimal    # percent of this component (CGST 9 for an 18 % intra-state line)
    amount: Decimal


@dataclass(frozen=True)
class LineResult:
    gross: Decimal       # quantity * unit_price, rounded to currency precision
    discount: Decimal    # discount on the line, in money
    taxable: Decimal     # value the tax is charged on (excl. tax)
    taxes: tuple[TaxComponent, ...]
    tax_total: Decimal
    total: Decimal       # taxable + tax_total


@dataclass(frozen=True)
class TaxBreakdownRow:
    kind: str
    rate: Decimal
    taxable: Decimal
    amount: Decimal


@dataclass(frozen=True)
class DocumentResult:
    lines: tuple[LineResult, ...]
    taxable_total: Decimal
    breakdown: tuple[TaxBreakdownRow, ...]   # one row per (kind, rate), by rate then kind
    tax_total: Decimal
    rounding: Decimal        # the round-off adjustment (can be negative); 0 when not rounding
    grand_total: Decimal     # taxable_total + tax_total + rounding
    intra_state: bool | None # GST only: True for CGST+SGST, False for IGST; None otherwise


# --------------------------------------------------------------------------- public


def is_intra_state(ctx: TaxContext) -> bool:
    """True when the place of supply is the seller's state (or not given).

    State codes are compared after trimming spaces and padding a one-digit
    code ("9" is "09"), so a typing difference never turns CGST+SGST into IGST.
    A place of supply without the seller's state cannot be decided: TaxError.
    """
    seller = _state_code(ctx.seller_state, "seller's state")
    place = _state_code(ctx.place_of_supply, "place of supply")
    if place is None:
        return True
    if seller is None:
        raise TaxError("Set the business's GST state before choosing a place of supply.")
    return seller == place


def compute(ctx: TaxContext, lines: Sequence[LineInput]) -> DocumentResult:
    """Taxes and totals of one document. Raises TaxError on bad input."""
    # A private context: no intermediate is rounded by precision, and the
    # caller's decimal context is left as it was.
    with localcontext() as dc:
        dc.prec = _PRECISION
        return _compute(ctx, lines)


# --------------------------------------------------------------------------- context


def _check_context(ctx: TaxContext) -> None:
    if ctx.regime not in REGIMES:
        raise TaxError(f"Unknown tax regime {ctx.regime!r}; choose GST (India), VAT or no tax.")
    if ctx.currency not in CURRENCIES:
        raise TaxError(f"Unknown currency {ctx.currency!r}.")
    if ctx.rounding is not None and ctx.rounding not in ROUNDINGS:
        raise TaxError(f"Unknown tax rounding {ctx.rounding!r}; choose per line or per document.")


def _rounding_mode(ctx: TaxContext) -> str:
    if ctx.rounding is not None:
        return ctx.rounding
    # GST practice (and the GST portal) rounds each line's CGST/SGST/IGST;
    # VAT laws (EU, Vietnam) compute the tax on the invoice's total per rate.
    return PER_LINE if ctx.regime == GST_INDIA else PER_DOCUMENT


def _rounds_to_whole(ctx: TaxContext) -> bool:
    if ctx.round_total_to_whole is not None:
        return bool(ctx.round_total_to_whole)
    return ctx.regime == GST_INDIA and ctx.currency == "INR"


def _state_code(value, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TaxError(f"The {what} must be a GST state code such as 29.")
    code = value.strip()
    if not code:
        return None
    return code.zfill(2) if code.isdigit() and len(code) == 1 else code


# --------------------------------------------------------------------------- numbers


def _number(value, line_no: int, what: str) -> Decimal:
    """An exact, finite Decimal from the input, or a TaxError naming the field."""
    try:
        number = to_decimal(value)
    except MoneyError:
        raise TaxError(f"Line {line_no}: the {what} must be a number.") from None
    return number


def _places_ok(value: Decimal, places: int) -> bool:
    return value == value.quantize(Decimal(1).scaleb(-places))


def _non_negative(value, line_no: int, what: str, places: int, limit: Decimal) -> Decimal:
    number = _number(value, line_no, what)
    if number < 0:
        raise TaxError(f"Line {line_no}: the {what} cannot be negative.")
    if number > limit:
        raise TaxError(f"Line {line_no}: the {what} is too large.")
    if not _places_ok(number, places):
        raise TaxError(f"Line {line_no}: the {what} can have at most {places} decimal places.")
    return abs(number)   # abs() turns a "-0" into 0, so no "-0.00" is ever shown


def _clean_rate(rate: Decimal) -> Decimal:
    """18.00 -> 18, 2.50 -> 2.5, 20 stays 20 (not 2E+1): the rate as printed."""
    rate = rate.normalize()
    return rate.quantize(Decimal(1)) if rate.as_tuple().exponent > 0 else rate


def _q(amount: Decimal, code: str) -> Decimal:
    return quantize(amount, code, ROUND_HALF_UP)


def _tax(base: Decimal, rate: Decimal, code: str) -> Decimal:
    return _q(base * rate / _HUNDRED, code)


def _total(amounts, code: str) -> Decimal:
    # Start from a zero of the currency's precision so an empty sum is 0.00, not int 0.
    result = _q(Decimal(0), code)
    for amount in amounts:
        result += amount
    return result


def _check_max(amount: Decimal, message: str) -> None:
    if abs(amount) > MAX_AMOUNT:
        raise TaxError(message)


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class _Line:
    """A computed line with what the document level needs to regroup it."""
    result: LineResult
    rate: Decimal        # the line's effective rate (0 under NO_TAX)
    inclusive: Decimal   # gross - discount: what the customer pays for it when prices include tax


def _components(ctx: TaxContext, intra: bool | None, taxable: Decimal,
                rate: Decimal) -> tuple[TaxComponent, ...]:
    code = ctx.currency
    if ctx.regime == NO_TAX:
        return ()
    if ctx.regime == VAT:
        return (TaxComponent("VAT", rate, _tax(taxable, rate, code)),)
    if intra:
        half = _clean_rate(rate / 2)
        # Each computed and rounded separately, as the rule says; they are
        # equal by construction, which is what a GST invoice must show.
        return (TaxComponent("CGST", half, _tax(taxable, half, code)),
                TaxComponent("SGST", half, _tax(taxable, half, code)))
    return (TaxComponent("IGST", rate, _tax(taxable, rate, code)),)


def _split_inclusive(ctx: TaxContext, intra: bool | None, inclusive: Decimal,
                     rate: Decimal) -> tuple[Decimal, tuple[TaxComponent, ...]]:
    """Taxable value and components of a tax-inclusive amount (rule 5).

    The components are computed from the rounded taxable value as for
    exclusive prices; any minor-unit gap left by rounding is taken up by the
    taxable value, so taxable + taxes is exactly the inclusive amount.
    """
    code = ctx.currency
    taxable = _q(inclusive * _HUNDRED / (_HUNDRED + rate), code)
    taxes = _components(ctx, intra, taxable, rate)
    taxable = inclusive - _total((t.amount for t in taxes), code)
    return taxable, taxes


def _line(ctx: TaxContext, intra: bool | None, line_no: int, line: LineInput) -> _Line:
    code = ctx.currency
    precision = CURRENCIES[code].precision
    quantity = _non_negative(line.quantity, line_no, "quantity", QUANTITY_PLACES, MAX_AMOUNT)
    price = _non_negative(line.unit_price, line_no, "price", PRICE_PLACES, MAX_AMOUNT)
    rate = _non_negative(line.tax_rate, line_no, "tax rate", RATE_PLACES, MAX_AMOUNT)
    if rate > MAX_RATE:
        raise TaxError(f"Line {line_no}: a tax rate above 100 % is not accepted; enter 18 for 18 %.")
    if ctx.regime == NO_TAX:
        rate = Decimal(0)   # documented: a rate on a line is ignored when no tax is charged
    rate = _clean_rate(rate)

    raw_gross = quantity * price   # exact: at most 9 decimals, see _PRECISION
    _check_max(raw_gross, f"Line {line_no}: the line's value is too large.")
    gross = _q(raw_gross, code)

    if line.discount_percent is not None and line.discount_amount is not None:
        raise TaxError(f"Line {line_no}: give either a discount percentage or a discount amount, not both.")
    if line.discount_percent is not None:
        percent = _non_negative(line.discount_percent, line_no, "discount percentage",
                                RATE_PLACES, MAX_AMOUNT)
        if percent > _HUNDRED:
            raise TaxError(f"Line {line_no}: the discount cannot be more than 100 %.")
        discount = _q(gross * percent / _HUNDRED, code)
    elif line.discount_amount is not None:
        amount = _number(line.discount_amount, line_no, "discount")
        if amount < 0:
            raise TaxError(f"Line {line_no}: the discount cannot be negative.")
        _check_max(amount, f"Line {line_no}: the discount is too large.")
        if not _places_ok(amount, precision):
            # Refused, not rounded: the user typed an amount the currency cannot pay.
            if precision == 0:
                raise TaxError(f"Line {line_no}: {code} has no decimal places; "
                               "enter the discount as a whole number.")
            raise TaxError(f"Line {line_no}: the discount can have at most {precision} "
                           f"decimal places in {code}.")
        discount = _q(abs(amount), code)   # exact already; quantize only fixes the exponent
        if discount > gross:
            raise TaxError(f"Line {line_no}: the discount ({discount}) is more than "
                           f"the line's value ({gross}).")
    else:
        discount = _q(Decimal(0), code)

    net = gross - discount
    if ctx.prices_include_tax:
        taxable, taxes = _split_inclusive(ctx, intra, net, rate)
    else:
        taxable = net
        taxes = _components(ctx, intra, taxable, rate)
    tax_total = _total((t.amount for t in taxes), code)
    total = taxable + tax_total
    _check_max(total, f"Line {line_no}: the line's total is too large.")
    result = LineResult(gross=gross, discount=discount, taxable=taxable, taxes=taxes,
                        tax_total=tax_total, total=total)
    return _Line(result=result, rate=rate, inclusive=net)


# --------------------------------------------------------------------------- document


def _per_rate(ctx: TaxContext, intra: bool | None, mode: str, rate: Decimal,
              group: list[_Line]) -> tuple[Decimal, list[TaxBreakdownRow]]:
    """The taxable value and breakdown rows of all lines at one rate."""
    code = ctx.currency
    taxable = _total((g.result.taxable for g in group), code)
    if ctx.regime == NO_TAX:
        return taxable, []
    if mode == PER_LINE:
        # Sum the lines' own rounded components, kind by kind.
        amounts: dict[tuple[str, Decimal], Decimal] = {}
        for g in group:
            for t in g.result.taxes:
                key = (t.kind, t.rate)
                amounts[key] = amounts.get(key, _q(Decimal(0), code)) + t.amount
        return taxable, [TaxBreakdownRow(kind, r, taxable, a) for (kind, r), a in amounts.items()]

    # PER_DOCUMENT: one computation on the rate's sums.
    if ctx.prices_include_tax:
        inclusive = _total((g.inclusive for g in group), code)
        if ctx.regime == VAT:
            tax = _q(inclusive * rate / (_HUNDRED + rate), code)
            taxable = inclusive - tax
            return taxable, [TaxBreakdownRow("VAT", rate, taxable, tax)]
        # GST: same method as a line, so CGST and SGST stay equal.
        taxable, taxes = _split_inclusive(ctx, intra, inclusive, rate)
    else:
        taxes = _components(ctx, intra, taxable, rate)
    return taxable, [TaxBreakdownRow(t.kind, t.rate, taxable, t.amount) for t in taxes]


def _compute(ctx: TaxContext, lines: Sequence[LineInput]) -> DocumentResult:
    _check_context(ctx)
    code = ctx.currency
    intra = is_intra_state(ctx) if ctx.regime == GST_INDIA else None
    mode = _rounding_mode(ctx)

    computed = [_line(ctx, intra, n, line) for n, line in enumerate(lines, start=1)]

    groups: dict[Decimal, list[_Line]] = {}
    for c in computed:
        groups.setdefault(c.rate, []).append(c)

    taxable_total = _q(Decimal(0), code)
    rows: list[TaxBreakdownRow] = []
    for rate in sorted(groups):
        taxable, rate_rows = _per_rate(ctx, intra, mode, rate, groups[rate])
        taxable_total += taxable
        rows.extend(rate_rows)
    rows.sort(key=lambda r: (r.rate, KIND_ORDER[r.kind]))
    tax_total = _total((r.amount for r in rows), code)

    before = taxable_total + tax_total
    _check_max(before, "The document's total is too large.")
    if _rounds_to_whole(ctx):
        whole = before.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        rounding = _q(whole - before, code)
    else:
        rounding = _q(Decimal(0), code)
    grand_total = before + rounding
    _check_max(grand_total, "The document's total is too large.")

    return DocumentResult(
        lines=tuple(c.result for c in computed),
        taxable_total=taxable_total,
        breakdown=tuple(rows),
        tax_total=tax_total,
        rounding=rounding,
        grand_total=grand_total,
        intra_state=intra,
    )
