"""Amounts in words (webapp/core/words.py): Indian numbering for rupees."""
from decimal import Decimal as D

import pytest
from hypothesis import given, settings, strategies as st

from webapp.core.words import amount_in_words, rupees_in_words


@pytest.fixture(autouse=True)
def _clean():
    """Pure functions: no app and no tables to empty (overrides tests/conftest.py here)."""
    yield


@pytest.mark.parametrize("amount, words", [
    ("123456.75", "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six and Seventy-Five Paise Only"),
    ("1", "Rupees One Only"),
    ("0.50", "Rupees Zero and Fifty Paise Only"),
    ("0.05", "Rupees Zero and Five Paise Only"),
    ("0", "Rupees Zero Only"),
    ("0.00", "Rupees Zero Only"),
    ("1.5", "Rupees One and Fifty Paise Only"),          # 1.5 is 1 rupee 50 paise
    ("2.500", "Rupees Two and Fifty Paise Only"),        # trailing zeros are not extra places
    ("11", "Rupees Eleven Only"),
    ("20", "Rupees Twenty Only"),
    ("99", "Rupees Ninety-Nine Only"),
    ("100", "Rupees One Hundred Only"),
    ("101", "Rupees One Hundred One Only"),
    ("420.00", "Rupees Four Hundred Twenty Only"),
    ("1000", "Rupees One Thousand Only"),
    ("100000", "Rupees One Lakh Only"),                  # 1,00,000
    ("100001", "Rupees One Lakh One Only"),
    ("9999999", "Rupees Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine Only"),
    ("10000000", "Rupees One Crore Only"),               # 1,00,00,000
    ("100000000", "Rupees Ten Crore Only"),
    ("1000000000", "Rupees One Hundred Crore Only"),     # 1,00,00,00,000
    ("1000000000000", "Rupees One Lakh Crore Only"),     # 10^12 = 1,00,000 crore
    ("100000000000000", "Rupees One Crore Crore Only"),  # 10^14
    ("12345678.90", "Rupees One Crore Twenty-Three Lakh Forty-Five Thousand Six Hundred "
                    "Seventy-Eight and Ninety Paise Only"),
    # 99,99,99,99,99,999.99 = 9,99,999 crore + 99,99,999
    ("9999999999999.99", "Rupees Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine Crore "
                         "Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine "
                         "and Ninety-Nine Paise Only"),
])
def test_rupees_in_words(amount, words):
    assert rupees_in_words(D(amount)) == words


def test_an_int_is_accepted():
    assert rupees_in_words(5) == "Rupees Five Only"


@pytest.mark.parametrize("amount", [D("-1"), D("-0.01"), D("1.005"), D("0.001"), 1.5, D("NaN"),
                                    D("Infinity"), D("1000000000000000"), "abc"])
def test_rupees_in_words_refuses(amount):
    with pytest.raises(ValueError):
        rupees_in_words(amount)


@pytest.mark.parametrize("amount, code, words", [
    ("1200000", "VND", "Vietnamese đồng: One Million Two Hundred Thousand"),
    ("0", "VND", "Vietnamese đồng: Zero"),
    ("1000001", "VND", "Vietnamese đồng: One Million One"),
    ("1000000000000", "IDR", "Indonesian rupiah: One Trillion"),
    ("12.50", "USD", "US dollar: Twelve and 50/100"),
    ("0.99", "USD", "US dollar: Zero and 99/100"),
    ("7.05", "EUR", "Euro: Seven and 05/100"),
    ("3.250", "KWD", "Kuwaiti dinar: Three and 250/1000"),
    ("3.005", "KWD", "Kuwaiti dinar: Three and 005/1000"),
    ("123456.75", "INR", "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six and "
                         "Seventy-Five Paise Only"),
])
def test_amount_in_words(amount, code, words):
    assert amount_in_words(D(amount), code) == words


@pytest.mark.parametrize("amount, code", [(D("1.5"), "VND"), (D("1.001"), "USD"), (D("-1"), "KWD"),
                                          (D("1"), "XYZ"), (D("1.001"), "INR")])
def test_amount_in_words_refuses(amount, code):
    with pytest.raises(ValueError):
        amount_in_words(amount, code)


# Reading the words back: the inverse of the Indian system, to check every number.
_SMALL = {w: n for n, w in enumerate(
    "Zero One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen Fourteen "
    "Fifteen Sixteen Seventeen Eighteen Nineteen".split())}
_SMALL.update({w: 10 * n for n, w in enumerate("Twenty Thirty Forty Fifty Sixty Seventy Eighty Ninety".split(),
                                                start=2)})


def _read_indian(words: str) -> int:
    total = current = 0
    for word in words.replace("-", " ").split():
        if word in _SMALL:
            current += _SMALL[word]
        elif word == "Hundred":
            current *= 100
        elif word in ("Thousand", "Lakh"):
            total += current * (1000 if word == "Thousand" else 100000)
            current = 0
        elif word == "Crore":   # multiplies everything read so far (crore is used recursively)
            total = (total + current) * 10**7
            current = 0
        else:
            raise AssertionError(f"unexpected word {word!r}")
    return total + current


@given(st.integers(0, 999999999999999), st.integers(0, 99))
@settings(max_examples=200, deadline=None)
def test_rupees_in_words_reads_back_to_the_same_amount(rupees, paise):
    text = rupees_in_words(D(rupees) + D(paise).scaleb(-2))
    assert text.startswith("Rupees ") and text.endswith(" Only") and "  " not in text
    body = text.removeprefix("Rupees ").removesuffix(" Only")
    whole, _, fraction = body.partition(" and ")
    assert _read_indian(whole) == rupees
    if paise:
        assert fraction.endswith(" Paise") and _read_indian(fraction.removesuffix(" Paise")) == paise
    else:
        assert fraction == ""
