"""Money and quantities: Decimal end to end, stored exactly, rounded by name.

An amount is a `Decimal`. Each currency rounds to its own number of decimal
places (VND 0, INR 2, KWD 3) with an explicit rounding mode; nothing here
rounds implicitly, and formatting never rounds.

Storage. PostgreSQL stores `NUMERIC(p, s)`. SQLite has no decimal type, so
the same column is stored as a *scaled integer* (amount × 10^s in an INTEGER):
SQLite integers are exact 64-bit values, `SUM` over them is exact and raises
on overflow rather than losing digits. A value with more decimal places than
the column holds is refused, never silently rounded.

Consequences of the scaled storage, true on both backends so that code
written against one is right on the other: SQL may add, subtract, sum and
compare these columns with each other and with bound parameters, but must not
multiply or divide them, and a CHECK constraint may compare them only with
zero (a literal 100 would be compared with 100 × 10^scale on SQLite).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

ZERO = Decimal(0)


@dataclass(frozen=True)
class Currency:
    code: str
    name: str
    #: Number of decimal places of the minor unit (0 for VND, 3 for KWD).
    precision: int
    symbol: str

    @property
    def minor_unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.precision)


CURRENCIES: dict[str, Currency] = {c.code: c for c in [
    Currency("INR", "Indian rupee", 2, "₹"),
    Currency("VND", "Vietnamese đồng", 0, "₫"),
    Currency("USD", "US dollar", 2, "$"),
    Currency("EUR", "Euro", 2, "€"),
    Currency("GBP", "Pound sterling", 2, "£"),
    Currency("AED", "UAE dirham", 2, "AED"),
    Currency("SAR", "Saudi riyal", 2, "SAR"),
    Currency("SGD", "Singapore dollar", 2, "S$"),
    Currency("MYR", "Malaysian ringgit", 2, "RM"),
    Currency("IDR", "Indonesian rupiah", 0, "Rp"),
    Currency("THB", "Thai baht", 2, "฿"),
    Currency("PHP", "Philippine peso", 2, "₱"),
    Currency("BDT", "Bangladeshi taka", 2, "৳"),
    Currency("LKR", "Sri Lankan rupee", 2, "Rs"),
    Currency("NPR", "Nepalese rupee", 2, "Rs"),
    Currency("PKR", "Pakistani rupee", 2, "Rs"),
    Currency("KES", "Kenyan shilling", 2, "KSh"),
    Currency("NGN", "Nigerian naira", 2, "₦"),
    Currency("ZAR", "South African rand", 2, "R"),
    Currency("JPY", "Japanese yen", 0, "¥"),
    Currency("KWD", "Kuwaiti dinar", 3, "KD"),
    Currency("BHD", "Bahraini dinar", 3, "BD"),
    Currency("OMR", "Omani rial", 3, "OMR"),
]}

#: Largest absolute amount a money column accepts (fits NUMERIC(18, 3) and a
#: 64-bit scaled integer with room for sums): 999 999 999 999 999.999.
MAX_AMOUNT = Decimal("999999999999999.999")


class MoneyError(ValueError):
    """A value is not an acceptable amount."""


def currency(code: str) -> Currency:
    try:
        return CURRENCIES[code]
    except KeyError:
        raise MoneyError(f"Unknown currency {code!r}.") from None


def to_decimal(value) -> Decimal:
    """An exact Decimal from an int, Decimal or string; floats are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("Amounts are never floats.")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "").replace(" ", "")
        if not text:
            raise MoneyError("Enter a number.")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not a number.") from None
    else:
        raise MoneyError(f"Cannot use {type(value).__name__} as an amount.")
    if not result.is_finite():
        raise MoneyError("Enter a finite number.")
    return result


def quantize(amount: Decimal, code: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round `amount` to the currency's minor unit with the named mode."""
    return to_decimal(amount).quantize(currency(code).minor_unit, rounding=rounding)


def round_to(amount: Decimal, places: int, rounding: str = ROUND_HALF_UP) -> Decimal:
    return to_decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=rounding)


def is_exact_in(amount: Decimal, code: str) -> bool:
    """True when `amount` has no more decimal places than the currency has."""
    return quantize(amount, code) == amount


#: What a person types: digits with optional grouping commas or spaces and one decimal point; no exponents.
_TYPED_NUMBER = re.compile(r"^[+-]?(\d[\d,_ ]*(\.\d*)?|\.\d+)$")


def parse_amount(text, *, code: str | None = None, places: int | None = None,
                 allow_negative: bool = False, allow_zero: bool = True) -> Decimal:
    """Parse user input into an amount, refusing what a user cannot mean.

    Raises MoneyError with a sentence fit to show beside the field.
    """
    if isinstance(text, str) and text.strip() and not _TYPED_NUMBER.match(text.strip()):
        raise MoneyError(f"{text.strip()[:30]!r} is not a number; type digits, with a decimal point if needed.")
    value = to_decimal(text)
    if not allow_negative and value < 0:
        raise MoneyError("Must not be negative.")
    if not allow_zero and value == 0:
        raise MoneyError("Must be more than zero.")
    if abs(value) > MAX_AMOUNT:
        raise MoneyError("That number is too large.")
    limit = currency(code).precision if code else places
    if limit is not None and value != round_to(value, limit):
        if limit == 0:
            raise MoneyError(f"{code or 'This field'} has no decimal places; enter a whole number.")
        raise MoneyError(f"Use at most {limit} decimal places.")
    return value.normalize() if value == value.to_integral() and value.as_tuple().exponent > 0 else value


def format_amount(amount: Decimal | None, code: str | None = None, *, symbol: bool = False) -> str:
    """Group thousands and pad to the currency's places; never round.

    INR uses Indian grouping (1,23,45,678.90). Extra digits beyond the
    currency's precision are shown, not hidden, because hiding them would
    be rounding.
    """
    if amount is None:
        return ""
    if type(amount) is not Decimal:
        amount = to_decimal(amount)
    places = currency(code).precision if code else 2
    # Digits beyond the currency's precision are shown only when they are not
    # zero (a stored 12.500 of INR is 12.50; 12.505 stays 12.505).
    shown = amount.quantize(_QUANTUM[places])
    if shown != amount:
        significant = amount.normalize()
        exponent = -significant.as_tuple().exponent if significant.as_tuple().exponent < 0 else 0
        shown = amount.quantize(Decimal(1).scaleb(-max(places, exponent)))
    sign = "-" if shown < 0 else ""
    if code != "INR":
        text = f"{sign}{abs(shown):,f}"
    else:
        whole, _, frac = f"{abs(shown):f}".partition(".")
        if len(whole) > 3:
            head, tail = whole[:-3], whole[-3:]
            groups = []
            while len(head) > 2:
                groups.insert(0, head[-2:])
                head = head[:-2]
            if head:
                groups.insert(0, head)
            whole = ",".join(groups + [tail])
        text = f"{sign}{whole}" + (f".{frac}" if frac else "")
    if symbol and code:
        return f"{sign}{currency(code).symbol}{text.lstrip('-')}"
    return text


#: Decimal(1).scaleb(-n): the quantum of n decimal places, made once.
_QUANTUM = {n: Decimal(1).scaleb(-n) for n in range(19)}


class ScaledDecimal(TypeDecorator):
    """An exact decimal column: NUMERIC on PostgreSQL, scaled INTEGER on SQLite."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, scale: int, precision: int = 18):
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._factor = Decimal(10) ** scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = to_decimal(value)
        if value.quantize(self._quantum) != value:
            raise MoneyError(f"{value} has more than {self.scale} decimal places for this column.")
        if dialect.name == "sqlite":
            return int(value * self._factor)
        return value

    def process_literal_param(self, value, dialect):
        return str(self.process_bind_param(value, dialect))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):
                # Only reachable if someone stored a float behind our back.
                raise MoneyError("A float was found in an exact column.")
            return (Decimal(int(value)) / self._factor).quantize(self._quantum)
        return Decimal(value).quantize(self._quantum)

    def coerce_compared_value(self, op, value):
        return self

    @property
    def python_type(self):
        return Decimal

    def __repr__(self):
        return f"ScaledDecimal({self.scale}, {self.precision})"


def Money():
    """An amount of money: three decimal places covers every currency we list."""
    return ScaledDecimal(3, 18)


def Quantity():
    """A stock quantity: three places (grams of a kilogram, millilitres of a litre)."""
    return ScaledDecimal(3, 18)


def UnitPrice():
    """A price or cost per unit: six places, so averages do not drift."""
    return ScaledDecimal(6, 20)


def Rate():
    """A percentage such as a tax or discount rate (18.0000 for 18 %)."""
    return ScaledDecimal(4, 9)
