"""Money is Decimal end to end and exact on both databases."""
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa

from webapp.core.money import (MoneyError, Money, ScaledDecimal, format_amount, parse_amount, quantize,
                               to_decimal)
from webapp.extensions import db

_md = sa.MetaData()
probe = sa.Table("money_probe", _md, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("amount", Money()), sa.Column("price", ScaledDecimal(6, 20)))


@pytest.fixture
def table(app):
    with app.app_context():
        _md.create_all(db.engine)
        yield db.engine
        _md.drop_all(db.engine)


def test_hundred_thousand_cents_sum_to_exactly_one_thousand(table):
    with table.begin() as conn:
        conn.execute(probe.insert(), [{"amount": Decimal("0.01")} for _ in range(100_000)])
        total = conn.execute(sa.select(sa.func.sum(probe.c.amount))).scalar_one()
    assert isinstance(total, Decimal)
    assert total == Decimal("1000.00")
    assert str(total.quantize(Decimal("0.01"))) == "1000.00"


@pytest.mark.parametrize("value", [Decimal("9999999999999.99"), Decimal("9999999999999"),
                                   Decimal("-9999999999999.99"), Decimal("0.001"), Decimal("123.456")])
def test_large_and_small_amounts_round_trip_unchanged(table, value):
    with table.begin() as conn:
        conn.execute(probe.insert(), {"amount": value})
        back = conn.execute(sa.select(probe.c.amount)).scalar_one()
    assert back == value and isinstance(back, Decimal)


def test_vnd_thirteen_digit_amount_round_trips(table):
    vnd = quantize(Decimal("1234567890123"), "VND")
    with table.begin() as conn:
        conn.execute(probe.insert(), {"amount": vnd})
        assert conn.execute(sa.select(probe.c.amount)).scalar_one() == Decimal("1234567890123")


def test_more_places_than_the_column_holds_is_refused_not_rounded(table):
    with pytest.raises(sa.exc.StatementError) as err:
        with table.begin() as conn:
            conn.execute(probe.insert(), {"amount": Decimal("0.0001")})
    assert isinstance(err.value.orig, MoneyError)


def test_unit_prices_keep_six_places(table):
    with table.begin() as conn:
        conn.execute(probe.insert(), {"price": Decimal("12.345678")})
        assert conn.execute(sa.select(probe.c.price)).scalar_one() == Decimal("12.345678")


@pytest.mark.parametrize("code,value,expected", [
    ("VND", "12345.5", "12346"), ("VND", "12344.49", "12344"),
    ("INR", "10.005", "10.01"), ("INR", "10.004", "10.00"), ("INR", "-10.005", "-10.01"),
    ("KWD", "1.0005", "1.001"), ("KWD", "1.0004", "1.000"),
    ("USD", "2.675", "2.68"),  # as a float 2.675 is 2.67499…; Decimal is exact
])
def test_each_currency_rounds_to_its_precision_half_up(code, value, expected):
    assert str(quantize(Decimal(value), code, ROUND_HALF_UP)) == expected


def test_rounding_mode_is_explicit():
    assert str(quantize(Decimal("10.005"), "INR", ROUND_HALF_EVEN)) == "10.00"
    assert str(quantize(Decimal("10.015"), "INR", ROUND_HALF_EVEN)) == "10.02"


def test_floats_never_become_amounts():
    with pytest.raises(MoneyError):
        to_decimal(0.1)
    with pytest.raises(MoneyError):
        to_decimal(True)


@pytest.mark.parametrize("text,kwargs,error", [
    ("", {}, "Enter a number"), ("abc", {}, "not a number"), ("NaN", {}, "not a number"),
    ("Infinity", {}, "not a number"), ("1e9", {}, "not a number"), ("1.2.3", {}, "not a number"),
    ("-5", {}, "negative"), ("0", {"allow_zero": False}, "more than zero"), ("1" + "0" * 30, {}, "too large"),
    ("1.234", {"code": "INR"}, "at most 2"), ("1.5", {"code": "VND"}, "whole number"),
])
def test_parse_amount_refuses_what_a_user_cannot_mean(text, kwargs, error):
    with pytest.raises(MoneyError, match=error):
        parse_amount(text, **kwargs)


def test_parse_amount_accepts_grouping():
    assert parse_amount("1,23,456.50", code="INR") == Decimal("123456.50")
    assert parse_amount(" 12 000 ", code="VND") == Decimal("12000")


@pytest.mark.parametrize("value,code,text", [
    ("12345678.9", "INR", "1,23,45,678.90"), ("1234567", "VND", "1,234,567"), ("1.5", "KWD", "1.500"),
    ("-1000.5", "USD", "-1,000.50"), ("1.005", "INR", "1.005"),  # formatting never rounds
])
def test_formatting(value, code, text):
    assert format_amount(Decimal(value), code) == text


def _reference_format(amount: Decimal, code, symbol: bool) -> str:
    """format_amount as it was first written (slower, plainly right): the reference for the fast one."""
    from webapp.core.money import currency
    places = currency(code).precision if code else 2
    significant = amount.normalize()
    exponent = -significant.as_tuple().exponent if significant.as_tuple().exponent < 0 else 0
    shown = amount.quantize(Decimal(1).scaleb(-max(places, exponent)))
    sign = "-" if shown < 0 else ""
    whole, _, frac = f"{abs(shown):f}".partition(".")
    if code == "INR" and len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        whole = ",".join(groups + [tail])
    else:
        whole = f"{int(whole):,}"
    text = f"{sign}{whole}" + (f".{frac}" if frac else "")
    if symbol and code:
        return f"{sign}{currency(code).symbol}{text.lstrip('-')}"
    return text


def test_format_amount_matches_the_reference_for_any_amount_and_currency():
    from hypothesis import given, settings, strategies as st

    from webapp.core.money import CURRENCIES

    @settings(max_examples=2000, deadline=None)
    @given(st.integers(-10**18, 10**18), st.integers(0, 6), st.sampled_from([None, *CURRENCIES]), st.booleans())
    def check(units, scale, code, symbol):
        amount = Decimal(units).scaleb(-scale)
        assert format_amount(amount, code, symbol=symbol) == _reference_format(amount, code, symbol)

    check()
    assert format_amount(Decimal("-0.000"), "INR") == _reference_format(Decimal("-0.000"), "INR", False) == "0.00"
