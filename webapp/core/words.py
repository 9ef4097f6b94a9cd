"""Amounts in words, as printed under the total of an invoice.

India (`rupees_in_words`) uses the Indian numbering system: thousand (10^3),
lakh (10^5) and crore (10^7), with crore applied recursively beyond that
(10^9 is "One Hundred Crore", 10^12 "One Lakh Crore", 10^14 "One Crore
Crore"). No "and" inside a number; tens and units are hyphenated
("Twenty-Three"); the paise are read as a two-digit number:

    123456.75 -> "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six
                  and Seventy-Five Paise Only"

Other currencies (`amount_in_words`) use the international system (thousand,
million, billion, trillion) after the currency's name, with any minor units
as a fraction, as written on a cheque:

    VND 1200000 -> "Vietnamese đồng: One Million Two Hundred Thousand"
    USD 12.50   -> "US dollar: Twelve and 50/100"
    KWD 3.250   -> "Kuwaiti dinar: Three and 250/1000"

Nothing is rounded: an amount with more decimal places than the currency
has (more than 2 for rupees), a negative amount, a float, or an amount above
webapp.core.money.MAX_AMOUNT raises ValueError.
"""
from __future__ import annotations

from decimal import Decimal

from webapp.core.money import MAX_AMOUNT, MoneyError, to_decimal
from webapp.core.money import currency as _currency

_ONES = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
         "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen",
         "Eighteen", "Nineteen"]
_TENS = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"]

_CRORE, _LAKH, _THOUSAND = 10**7, 10**5, 10**3
_INTERNATIONAL = [(10**12, "Trillion"), (10**9, "Billion"), (10**6, "Million"), (10**3, "Thousand")]


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _below_thousand(n: int) -> str:
    """1..999 in words ("One Hundred Five"); "" for 0 so callers can skip it."""
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append(f"{_ONES[hundreds]} Hundred")
    if rest:
        parts.append(_below_hundred(rest))
    return " ".join(parts)


def _indian(n: int) -> str:
    """A whole number >= 1 in the Indian system."""
    parts = []
    crores, n = divmod(n, _CRORE)
    if crores:
        # Beyond 99 crore the count of crores is itself read the Indian way.
        parts.append(f"{_indian(crores)} Crore")
    lakhs, n = divmod(n, _LAKH)
    if lakhs:
        parts.append(f"{_below_hundred(lakhs)} Lakh")
    thousands, n = divmod(n, _THOUSAND)
    if thousands:
        parts.append(f"{_below_hundred(thousands)} Thousand")
    if n:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def _international(n: int) -> str:
    """A whole number >= 1 in the international system."""
    parts = []
    for size, name in _INTERNATIONAL:
        count, n = divmod(n, size)
        if count:
            # Above 999 trillion the count of trillions is read recursively.
            parts.append(f"{_international(count) if count >= 1000 else _below_thousand(count)} {name}")
    if n:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def _checked(amount, places: int) -> Decimal:
    """The amount as an exact Decimal, or ValueError: nothing is rounded here."""
    try:
        value = to_decimal(amount)
    except MoneyError as err:
        raise ValueError(str(err)) from None
    if value < 0:
        raise ValueError("An amount in words cannot be negative.")
    if value > MAX_AMOUNT:
        raise ValueError("That amount is too large.")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"An amount in words can have at most {places} decimal places.")
    return abs(value)


def _split(value: Decimal, places: int) -> tuple[int, int]:
    """Whole units and minor units (exact: `value` was checked to fit `places`)."""
    minor_total = int(value.scaleb(places))
    return divmod(minor_total, 10**places)


def rupees_in_words(amount: Decimal) -> str:
    """ "Rupees One Lakh Twenty-Three Thousand ... and Seventy-Five Paise Only". """
    value = _checked(amount, 2)
    rupees, paise = _split(value, 2)
    text = f"Rupees {_indian(rupees) if rupees else 'Zero'}"
    if paise:
        text += f" and {_below_hundred(paise)} Paise"
    return text + " Only"


def amount_in_words(amount: Decimal, currency: str) -> str:
    """The amount in words for the currency: the Indian form for INR, else
    "<currency name>: <whole units in words>[ and <minor>/<10^places>]"."""
    if currency == "INR":
        return rupees_in_words(amount)
    try:
        cur = _currency(currency)
    except MoneyError as err:
        raise ValueError(str(err)) from None
    value = _checked(amount, cur.precision)
    whole, minor = _split(value, cur.precision)
    text = f"{cur.name}: {_international(whole) if whole else 'Zero'}"
    if minor:
        text += f" and {minor:0{cur.precision}d}/{10**cur.precision}"
    return text
