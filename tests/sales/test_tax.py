"""The sales tax engine (webapp/core/tax.py), with figures worked out by hand.

Every expected figure below is computed in the comment beside it, from the
rules in docs/tax.md: quantize = ROUND_HALF_UP to the currency's precision
(INR 0.01, VND 1, KWD 0.001).
"""
from decimal import Decimal as D, getcontext

import pytest
from hypothesis import given, settings, strategies as st

from webapp.core.money import CURRENCIES, quantize
from webapp.core.tax import (GST_INDIA, NO_TAX, PER_DOCUMENT, PER_LINE, VAT, DocumentResult,
                              LineInput, TaxBreakdownRow, TaxComponent, TaxContext, TaxError,
                              compute, is_intra_state)


@pytest.fixture(autouse=True)
def _clean():
    """The engine is pure: no app to build and no tables to empty after each
    test (this overrides the autouse fixture of tests/conftest.py here)."""
    yield


# Karnataka (29) selling in Karnataka, and to Maharashtra (27) / Tamil Nadu (33).
GST_KA = TaxContext(GST_INDIA, "INR", seller_state="29")
GST_KA_MH = TaxContext(GST_INDIA, "INR", seller_state="29", place_of_supply="27")
GST_KA_TN = TaxContext(GST_INDIA, "INR", seller_state="29", place_of_supply="33")
GST_KA_INCL = TaxContext(GST_INDIA, "INR", seller_state="29", prices_include_tax=True)
VAT_VN = TaxContext(VAT, "VND")


def line(quantity, price, rate="0", **kw):
    return LineInput(quantity=D(quantity), unit_price=D(price), tax_rate=D(rate),
                     **{k: D(v) for k, v in kw.items()})


def rows(result: DocumentResult):
    """The breakdown as plain tuples of strings, easy to compare with a table."""
    return [(r.kind, str(r.rate), str(r.taxable), str(r.amount)) for r in result.breakdown]


def totals(result: DocumentResult):
    return (str(result.taxable_total), str(result.tax_total), str(result.rounding),
            str(result.grand_total))


# --------------------------------------------------------------------------- India GST


def test_intra_state_18_percent_splits_into_cgst_and_sgst_rounded_separately():
    # 3 × 118.50 = 355.50
    # CGST 9 % = 355.50 × 0.09 = 31.995 -> 32.00 (half up); SGST the same, 32.00
    # total 355.50 + 64.00 = 419.50; round off to the rupee: 419.50 -> 420 (half up), +0.50
    result = compute(GST_KA, [line("3", "118.50", "18")])
    (l,) = result.lines
    assert (str(l.gross), str(l.discount), str(l.taxable)) == ("355.50", "0.00", "355.50")
    assert l.taxes == (TaxComponent("CGST", D(9), D("32.00")), TaxComponent("SGST", D(9), D("32.00")))
    assert (str(l.tax_total), str(l.total)) == ("64.00", "419.50")
    assert result.breakdown == (TaxBreakdownRow("CGST", D(9), D("355.50"), D("32.00")),
                                TaxBreakdownRow("SGST", D(9), D("355.50"), D("32.00")))
    assert totals(result) == ("355.50", "64.00", "0.50", "420.00")
    assert result.intra_state is True


def test_inter_state_pays_igst_at_the_full_rate():
    # Same line, Karnataka -> Maharashtra: IGST 18 % = 355.50 × 0.18 = 63.99 exactly
    # (one rounding instead of two: 1 paisa less than CGST + SGST above)
    # total 419.49 -> 419 (.49 rounds down), round off -0.49
    result = compute(GST_KA_MH, [line("3", "118.50", "18")])
    assert result.lines[0].taxes == (TaxComponent("IGST", D(18), D("63.99")),)
    assert rows(result) == [("IGST", "18", "355.50", "63.99")]
    assert totals(result) == ("355.50", "63.99", "-0.49", "419.00")
    assert result.intra_state is False


def test_round_off_can_be_switched_off():
    # 419.50 stays 419.50 and the round-off is 0.00
    ctx = TaxContext(GST_INDIA, "INR", seller_state="29", round_total_to_whole=False)
    assert totals(compute(ctx, [line("3", "118.50", "18")])) == ("355.50", "64.00", "0.00", "419.50")


def test_round_off_negative_with_tax():
    # 1 × 1,046.10 at 18 %: CGST 9 % = 94.149 -> 94.15, SGST 94.15, tax 188.30
    # total 1,046.10 + 188.30 = 1,234.40 -> 1,234 (half up), round off -0.40
    result = compute(GST_KA, [line("1", "1046.10", "18")])
    assert totals(result) == ("1046.10", "188.30", "-0.40", "1234.00")


@pytest.mark.parametrize("price, rounding, grand", [
    # 0 % lines, so the total is the price itself; round to the rupee, half up
    ("1234.40", "-0.40", "1234.00"),
    ("1234.49", "-0.49", "1234.00"),
    ("1234.50", "0.50", "1235.00"),   # exactly half: up
    ("1234.51", "0.49", "1235.00"),
    ("1234.00", "0.00", "1234.00"),
    ("0.50", "0.50", "1.00"),
    ("0.49", "-0.49", "0.00"),
])
def test_round_off_table(price, rounding, grand):
    result = compute(GST_KA, [line("1", price, "0")])
    assert (str(result.rounding), str(result.grand_total)) == (rounding, grand)


def test_place_of_supply_equal_to_seller_state_is_intra_state():
    # "29" selling with place of supply "29": CGST + SGST like no place at all
    ctx = TaxContext(GST_INDIA, "INR", seller_state="29", place_of_supply="29")
    assert compute(ctx, [line("3", "118.50", "18")]).breakdown == compute(GST_KA, [line("3", "118.50", "18")]).breakdown


@pytest.mark.parametrize("seller, place, intra", [
    ("29", None, True),     # no place of supply: the seller's own state
    ("29", "29", True),
    ("29", "27", False),
    ("9", "09", True),      # a one-digit code is padded: same state
    (" 29 ", "29", True),   # spaces are trimmed
    ("29", "", True),       # an empty place of supply is "not given"
    (None, None, True),
])
def test_is_intra_state(seller, place, intra):
    assert is_intra_state(TaxContext(GST_INDIA, "INR", seller, place)) is intra


def test_tax_inclusive_price_that_divides_exactly():
    # ₹1,180 including 18 %: taxable = 1180 × 100 / 118 = 1,000.00
    # CGST 9 % = 90.00, SGST 90.00; 1,000 + 180 = 1,180: no adjustment
    result = compute(GST_KA_INCL, [line("1", "1180", "18")])
    (l,) = result.lines
    assert (str(l.gross), str(l.taxable), str(l.tax_total), str(l.total)) == ("1180.00", "1000.00", "180.00", "1180.00")
    assert [str(t.amount) for t in l.taxes] == ["90.00", "90.00"]
    assert totals(result) == ("1000.00", "180.00", "0.00", "1180.00")


@pytest.mark.parametrize("ctx, price, rate, taxable, tax_each, note", [
    # 100.00 incl. 18 %: 10000/118 = 84.7457… -> 84.75; CGST 84.75 × 9 % = 7.6275 -> 7.63, SGST 7.63
    # 84.75 + 15.26 = 100.01: one paisa too many -> taxable 84.74, total 100.00
    (GST_KA_INCL, "100.00", "18", "84.74", "7.63", "adjusted down"),
    # 10.00 incl. 28 %: 1000/128 = 7.8125 -> 7.81; CGST 7.81 × 14 % = 1.0934 -> 1.09, SGST 1.09
    # 7.81 + 2.18 = 9.99: one paisa short -> taxable 7.82, total 10.00
    (GST_KA_INCL, "10.00", "28", "7.82", "1.09", "adjusted up"),
    # 1.00 incl. 18 %: 100/118 = 0.847… -> 0.85; CGST 0.85 × 9 % = 0.0765 -> 0.08, SGST 0.08
    # 0.85 + 0.16 = 1.01 -> taxable 0.84
    (GST_KA_INCL, "1.00", "18", "0.84", "0.08", "adjusted down"),
    # IGST: 100.00 incl. 18 %: taxable 84.75; IGST 84.75 × 18 % = 15.255 -> 15.26
    # 84.75 + 15.26 = 100.01 -> taxable 84.74
    (TaxContext(GST_INDIA, "INR", "29", "27", prices_include_tax=True), "100.00", "18", "84.74", "15.26",
     "adjusted down"),
])
def test_tax_inclusive_price_adjusts_taxable_so_the_customer_pays_the_shelf_price(
        ctx, price, rate, taxable, tax_each, note):
    result = compute(ctx, [line("1", price, rate)])
    (l,) = result.lines
    assert str(l.taxable) == taxable, note
    assert all(str(t.amount) == tax_each for t in l.taxes)
    assert l.total == l.gross == D(price)
    assert result.taxable_total + result.tax_total == D(price)


def test_tax_inclusive_with_a_percent_discount():
    # 2 × 590.00 = 1,180.00; 10 % off = 118.00; the customer pays 1,062.00
    # taxable 1062 × 100 / 118 = 900.00; CGST 9 % = 81.00; SGST 81.00; total 1,062.00
    (l,) = compute(GST_KA_INCL, [line("2", "590.00", "18", discount_percent="10")]).lines
    assert [str(x) for x in (l.gross, l.discount, l.taxable, l.tax_total, l.total)] == \
        ["1180.00", "118.00", "900.00", "162.00", "1062.00"]


def test_percent_discount():
    # 2 × 499.00 = 998.00; 10 % = 99.80; taxable 898.20
    # CGST 9 % = 80.838 -> 80.84; SGST 80.84; tax 161.68; total 1,059.88 -> 1,060, +0.12
    result = compute(GST_KA, [line("2", "499.00", "18", discount_percent="10")])
    (l,) = result.lines
    assert [str(x) for x in (l.gross, l.discount, l.taxable, l.tax_total, l.total)] == \
        ["998.00", "99.80", "898.20", "161.68", "1059.88"]
    assert totals(result) == ("898.20", "161.68", "0.12", "1060.00")


def test_percent_discount_is_rounded_half_up():
    # 1 × 33.33 with 12.5 % off: 33.33 × 0.125 = 4.16625 -> 4.17; taxable 29.16
    (l,) = compute(GST_KA, [line("1", "33.33", "0", discount_percent="12.5")]).lines
    assert (str(l.discount), str(l.taxable)) == ("4.17", "29.16")


def test_amount_discount_is_for_the_whole_line():
    # 4 × 250.00 = 1,000.00; 75.50 off the line (not per unit) -> taxable 924.50
    # CGST 2.5 % = 23.1125 -> 23.11; SGST 23.11; tax 46.22; total 970.72 -> 971, +0.28
    result = compute(GST_KA, [line("4", "250.00", "5", discount_amount="75.50")])
    (l,) = result.lines
    assert [str(x) for x in (l.gross, l.discount, l.taxable, l.tax_total, l.total)] == \
        ["1000.00", "75.50", "924.50", "46.22", "970.72"]
    assert l.taxes[0] == TaxComponent("CGST", D("2.5"), D("23.11"))
    assert totals(result) == ("924.50", "46.22", "0.28", "971.00")


def test_discount_equal_to_the_line_value_makes_a_free_line():
    # 100 % off 2 × 50.00: gross 100.00, discount 100.00, taxable 0.00, tax 0.00
    (l,) = compute(GST_KA, [line("2", "50.00", "18", discount_percent="100")]).lines
    assert (l.gross, l.discount, l.taxable, l.tax_total, l.total) == (D(100), D(100), 0, 0, 0)


MIXED = [
    line("2", "150.00", "5"),    # 300.00;  CGST/SGST 2.5 % = 7.50 each;   IGST 5 % = 15.00
    line("1", "1299.00", "12"),  # 1299.00; CGST/SGST 6 % = 77.94 each;    IGST 12 % = 155.88
    line("3", "118.50", "18"),   # 355.50;  CGST/SGST 9 % = 31.995 -> 32.00; IGST 18 % = 63.99
    line("5", "40.00", "0"),     # 200.00;  nothing
    line("1", "89.99", "18"),    # 89.99;   CGST/SGST 9 % = 8.0991 -> 8.10;  IGST 18 % = 16.1982 -> 16.20
]


def test_mixed_rates_intra_state_breakdown():
    # taxable: 300 + 1299 + 355.50 + 200 + 89.99 = 2,244.49
    # rate 9 (the 18 % lines): taxable 355.50 + 89.99 = 445.49; CGST 32.00 + 8.10 = 40.10
    # tax: 2 × (0 + 7.50 + 77.94 + 40.10) = 2 × 125.54 = 251.08
    # 2,244.49 + 251.08 = 2,495.57 -> 2,496, round off +0.43
    result = compute(GST_KA, MIXED)
    assert rows(result) == [
        ("CGST", "0", "200.00", "0.00"), ("SGST", "0", "200.00", "0.00"),
        ("CGST", "2.5", "300.00", "7.50"), ("SGST", "2.5", "300.00", "7.50"),
        ("CGST", "6", "1299.00", "77.94"), ("SGST", "6", "1299.00", "77.94"),
        ("CGST", "9", "445.49", "40.10"), ("SGST", "9", "445.49", "40.10"),
    ]
    assert totals(result) == ("2244.49", "251.08", "0.43", "2496.00")
    assert result.tax_total == sum(l.tax_total for l in result.lines)


def test_mixed_rates_inter_state_breakdown():
    # IGST at 18 %: 63.99 + 16.20 = 80.19 on 445.49
    # tax 0 + 15.00 + 155.88 + 80.19 = 251.07; 2,244.49 + 251.07 = 2,495.56 -> 2,496, +0.44
    result = compute(GST_KA_TN, MIXED)
    assert rows(result) == [
        ("IGST", "0", "200.00", "0.00"),
        ("IGST", "5", "300.00", "15.00"),
        ("IGST", "12", "1299.00", "155.88"),
        ("IGST", "18", "445.49", "80.19"),
    ]
    assert totals(result) == ("2244.49", "251.07", "0.44", "2496.00")


def test_gst_per_document_rounding_when_asked():
    # At 9 % the per-rate tax is 445.49 × 0.09 = 40.0941 -> 40.09 (per line: 32.00 + 8.10 = 40.10)
    # tax 2 × (0 + 7.50 + 77.94 + 40.09) = 251.06; 2,495.55 -> 2,496, +0.45
    ctx = TaxContext(GST_INDIA, "INR", seller_state="29", rounding=PER_DOCUMENT)
    result = compute(ctx, MIXED)
    assert rows(result)[-2:] == [("CGST", "9", "445.49", "40.09"), ("SGST", "9", "445.49", "40.09")]
    assert totals(result) == ("2244.49", "251.06", "0.45", "2496.00")
    # the lines still show their own per-line tax
    assert [str(t.amount) for t in result.lines[4].taxes] == ["8.10", "8.10"]


def test_equal_rates_written_differently_share_one_breakdown_row():
    # 18 and 18.00 are the same rate: one CGST row at 9 and one SGST row at 9
    result = compute(GST_KA, [line("1", "100", "18"), line("1", "100", "18.00")])
    assert rows(result) == [("CGST", "9", "200.00", "18.00"), ("SGST", "9", "200.00", "18.00")]


def test_fractional_quantity_and_six_decimal_price():
    # 0.250 kg × 480.00 = 120.00; CGST 2.5 % = 3.00
    # 7 × 12.345678 = 86.419746 -> 86.42; CGST 9 % = 7.7778 -> 7.78
    # 0.333 × 1.50 = 0.4995 -> 0.50 (half up)
    result = compute(GST_KA, [line("0.250", "480.00", "5"), line("7", "12.345678", "18"),
                              line("0.333", "1.50", "0")])
    assert [str(l.gross) for l in result.lines] == ["120.00", "86.42", "0.50"]
    assert [str(l.taxes[0].amount) for l in result.lines] == ["3.00", "7.78", "0.00"]


def test_free_samples_are_zero_lines():
    # 0 × 100.00 and 5 × 0.00: everything is zero, components included
    result = compute(GST_KA, [line("0", "100.00", "18"), line("5", "0", "18")])
    for l in result.lines:
        assert (str(l.gross), str(l.taxable), str(l.total)) == ("0.00", "0.00", "0.00")
        assert [str(t.amount) for t in l.taxes] == ["0.00", "0.00"]
    assert totals(result) == ("0.00", "0.00", "0.00", "0.00")


def test_an_empty_document_is_all_zeros():
    result = compute(GST_KA, [])
    assert result.lines == () and result.breakdown == ()
    assert totals(result) == ("0.00", "0.00", "0.00", "0.00")


# --------------------------------------------------------------------------- VAT

VND_INVOICE = [
    line("1", "12345", "10"),   # VAT 1,234.5 -> 1,235 on its own
    line("1", "12345", "10"),   # VAT 1,235
    line("3", "25000", "5"),    # 75,000; VAT 3,750
    line("2", "33333", "8"),    # 66,666; VAT 5,333.28 -> 5,333
    line("1", "50000", "0"),    # 50,000; VAT 0
]


def test_vnd_vat_per_document_is_the_default():
    # per rate: 10 %: (12,345 + 12,345) × 0.10 = 2,469.0 -> 2,469
    #            8 %: 66,666 × 0.08 = 5,333.28 -> 5,333;  5 %: 3,750;  0 %: 0
    # taxable 24,690 + 75,000 + 66,666 + 50,000 = 216,356; tax 11,552; total 227,908
    result = compute(VAT_VN, VND_INVOICE)
    assert rows(result) == [
        ("VAT", "0", "50000", "0"),
        ("VAT", "5", "75000", "3750"),
        ("VAT", "8", "66666", "5333"),
        ("VAT", "10", "24690", "2469"),
    ]
    assert totals(result) == ("216356", "11552", "0", "227908")
    # each line still shows its own tax rounded on its own (1,235), for display
    assert [str(l.tax_total) for l in result.lines] == ["1235", "1235", "3750", "5333", "0"]
    assert result.intra_state is None


def test_vnd_vat_per_line_differs_by_one_dong():
    # per line: 10 % lines 1,235 + 1,235 = 2,470 (vs 2,469 per document)
    # tax 11,553; total 227,909: one dong more than per document
    result = compute(TaxContext(VAT, "VND", rounding=PER_LINE), VND_INVOICE)
    assert rows(result)[-1] == ("VAT", "10", "24690", "2470")
    assert totals(result) == ("216356", "11553", "0", "227909")


def test_vnd_figures_are_whole_dong():
    # 3 × 33,333 = 99,999; 7.5 % off = 7,499.925 -> 7,500; taxable 92,499; VAT 9,249.9 -> 9,250
    result = compute(VAT_VN, [line("3", "33333", "10", discount_percent="7.5")])
    (l,) = result.lines
    assert [str(x) for x in (l.gross, l.discount, l.taxable, l.tax_total, l.total)] == \
        ["99999", "7500", "92499", "9250", "101749"]
    assert totals(result) == ("92499", "9250", "0", "101749")


def test_vnd_tax_inclusive_per_document_and_per_line():
    # two lines of 10,500 đ including 10 %: the customer pays 21,000 either way
    # each line: 1,050,000 / 110 = 9,545.45 -> 9,545; VAT 954.5 -> 955; 9,545 + 955 = 10,500
    # per document: VAT = 21,000 × 10 / 110 = 1,909.09 -> 1,909; taxable 21,000 - 1,909 = 19,091
    # per line:     VAT = 955 + 955 = 1,910; taxable 9,545 + 9,545 = 19,090
    lines = [line("1", "10500", "10"), line("1", "10500", "10")]
    per_doc = compute(TaxContext(VAT, "VND", prices_include_tax=True), lines)
    per_line = compute(TaxContext(VAT, "VND", prices_include_tax=True, rounding=PER_LINE), lines)
    assert rows(per_doc) == [("VAT", "10", "19091", "1909")]
    assert totals(per_doc) == ("19091", "1909", "0", "21000")
    assert rows(per_line) == [("VAT", "10", "19090", "1910")]
    assert totals(per_line) == ("19090", "1910", "0", "21000")
    # the lines are the same in both (their own split), and each is the shelf price
    assert per_doc.lines == per_line.lines
    assert [str(l.taxable) for l in per_doc.lines] == ["9545", "9545"]
    assert all(l.total == D(10500) for l in per_doc.lines)


def test_kwd_vat_has_three_decimals():
    # 0.250 × 3.125 = 0.78125 -> 0.781; 3 × 1.999 = 5.997; 1.5 × 2.3335 = 3.50025 -> 3.500
    # per document at 5 %: (0.781 + 5.997 + 3.500) = 10.278 × 0.05 = 0.5139 -> 0.514
    # per line (display): 0.03905 -> 0.039, 0.29985 -> 0.300, 0.175 -> 0.175
    # total 10.278 + 0.514 = 10.792
    result = compute(TaxContext(VAT, "KWD"), [line("0.250", "3.125", "5"), line("3", "1.999", "5"),
                                              line("1.5", "2.3335", "5")])
    assert [str(l.gross) for l in result.lines] == ["0.781", "5.997", "3.500"]
    assert [str(l.tax_total) for l in result.lines] == ["0.039", "0.300", "0.175"]
    assert rows(result) == [("VAT", "5", "10.278", "0.514")]
    assert totals(result) == ("10.278", "0.514", "0.000", "10.792")


def test_kwd_discount_amount_may_have_three_decimals():
    # 2 × 4.500 = 9.000; 0.125 off -> 8.875
    (l,) = compute(TaxContext(NO_TAX, "KWD"), [line("2", "4.500", discount_amount="0.125")]).lines
    assert (str(l.gross), str(l.discount), str(l.taxable)) == ("9.000", "0.125", "8.875")


def test_vat_may_round_the_total_to_a_whole_unit_when_asked():
    # AED 1 × 10.30 at 5 %: VAT 0.515 -> 0.52; total 10.82 -> 11 (nearest whole dirham), +0.18
    ctx = TaxContext(VAT, "AED", round_total_to_whole=True)
    assert totals(compute(ctx, [line("1", "10.30", "5")])) == ("10.30", "0.52", "0.18", "11.00")


# --------------------------------------------------------------------------- no tax


def test_no_tax_ignores_line_rates():
    # KWD, no tax: 2 × 1.2345 = 2.469; the 5 % on the line is ignored
    result = compute(TaxContext(NO_TAX, "KWD"), [line("2", "1.2345", "5")])
    (l,) = result.lines
    assert l.taxes == () and str(l.tax_total) == "0.000" and str(l.total) == "2.469"
    assert result.breakdown == ()
    assert totals(result) == ("2.469", "0.000", "0.000", "2.469")
    assert result.intra_state is None


def test_no_tax_inclusive_prices_are_all_taxable_and_inr_is_not_rounded_to_the_rupee():
    # 1 × 99.99 with an 18 % rate on the line: no tax, taxable 99.99, no round-off by default
    result = compute(TaxContext(NO_TAX, "INR", prices_include_tax=True), [line("1", "99.99", "18")])
    assert totals(result) == ("99.99", "0.00", "0.00", "99.99")


# --------------------------------------------------------------------------- errors


HUGE = "600000000000000"


@pytest.mark.parametrize("ctx, lines, message", [
    (GST_KA, [line("-1", "10")], "Line 1: the quantity cannot be negative."),
    (GST_KA, [line("1", "-10")], "Line 1: the price cannot be negative."),
    (GST_KA, [line("1", "10", "-5")], "Line 1: the tax rate cannot be negative."),
    (GST_KA, [line("1", "10", "180")], "Line 1: a tax rate above 100 % is not accepted; enter 18 for 18 %."),
    (GST_KA, [line("1", "10", "18.00005")], "Line 1: the tax rate can have at most 4 decimal places."),
    (GST_KA, [line("1.2345", "10")], "Line 1: the quantity can have at most 3 decimal places."),
    (GST_KA, [line("1", "10.1234567")], "Line 1: the price can have at most 6 decimal places."),
    (GST_KA, [line("1", "10", discount_percent="-1")], "Line 1: the discount percentage cannot be negative."),
    (GST_KA, [line("1", "10", discount_percent="100.01")], "Line 1: the discount cannot be more than 100 %."),
    (GST_KA, [line("1", "10", discount_amount="-1")], "Line 1: the discount cannot be negative."),
    (GST_KA, [line("1", "100.00", discount_amount="100.01")],
     "Line 1: the discount (100.01) is more than the line's value (100.00)."),
    (GST_KA, [line("1", "100", discount_amount="1.005")],
     "Line 1: the discount can have at most 2 decimal places in INR."),
    (VAT_VN, [line("1", "100", discount_amount="1.5")],
     "Line 1: VND has no decimal places; enter the discount as a whole number."),
    (GST_KA, [line("1", "100", discount_percent="5", discount_amount="5")],
     "Line 1: give either a discount percentage or a discount amount, not both."),
    (GST_KA, [LineInput(1.5, D(10))], "Line 1: the quantity must be a number."),       # a float
    (GST_KA, [LineInput(D(1), "ten")], "Line 1: the price must be a number."),
    (GST_KA, [LineInput(D("NaN"), D(1))], "Line 1: the quantity must be a number."),
    (GST_KA, [line("1000000000", "10000000")], "Line 1: the line's value is too large."),   # 10^16
    (GST_KA, [line("1000000000000000", "0")], "Line 1: the quantity is too large."),
    # 900 lakh crore + 18 % tax > 999,999,999,999,999.999
    (GST_KA, [line("1", "900000000000000", "18")], "Line 1: the line's total is too large."),
    (TaxContext(NO_TAX, "INR"), [line("1", HUGE), line("1", HUGE)], "The document's total is too large."),
    # .50 rounds up past the largest amount
    (GST_KA, [line("1", "999999999999999.50")], "The document's total is too large."),
    (GST_KA, [line("1", "10"), line("-2", "10")], "Line 2: the quantity cannot be negative."),
    (TaxContext("sales_tax", "INR"), [], "Unknown tax regime 'sales_tax'; choose GST (India), VAT or no tax."),
    (TaxContext(VAT, "XYZ"), [], "Unknown currency 'XYZ'."),
    (TaxContext(VAT, "VND", rounding="invoice"), [],
     "Unknown tax rounding 'invoice'; choose per line or per document."),
    (TaxContext(GST_INDIA, "INR", seller_state=None, place_of_supply="27"), [],
     "Set the business's GST state before choosing a place of supply."),
    (TaxContext(GST_INDIA, "INR", seller_state=29), [], "The seller's state must be a GST state code such as 29."),
])
def test_bad_input_is_refused_with_a_plain_message(ctx, lines, message):
    with pytest.raises(TaxError) as err:
        compute(ctx, lines)
    assert str(err.value) == message
    assert isinstance(err.value, ValueError)


def test_the_callers_decimal_context_is_untouched():
    before = getcontext().prec
    compute(GST_KA, MIXED)
    assert getcontext().prec == before


# --------------------------------------------------------------------------- properties

CODES = ["INR", "INR", "VND", "KWD"]
RATES = [D(0), D(5), D(12), D(18), D(28)]


@st.composite
def line_inputs(draw, code: str):
    places = CURRENCIES[code].precision
    quantity = D(draw(st.integers(0, 10**7))).scaleb(-3)          # 0 .. 10,000.000
    price = D(draw(st.one_of(st.integers(0, 10**6),               # small prices: 0 .. 1.000000
                             st.integers(0, 10**12)))).scaleb(-6)  # 0 .. 1,000,000.000000
    rate = draw(st.sampled_from(RATES))
    discount = draw(st.sampled_from(["none", "percent", "amount"]))
    percent = amount = None
    if discount == "percent":
        percent = D(draw(st.integers(0, 100 * 10**4))).scaleb(-4)
    elif discount == "amount":
        gross_minor = int(quantize(quantity * price, code).scaleb(places))
        amount = D(draw(st.integers(0, gross_minor))).scaleb(-places)
    return LineInput(quantity, price, rate, discount_percent=percent, discount_amount=amount)


@st.composite
def documents(draw):
    code = draw(st.sampled_from(CODES))
    ctx = TaxContext(
        regime=draw(st.sampled_from([GST_INDIA, GST_INDIA, VAT, NO_TAX])),
        currency=code,
        seller_state="29",
        place_of_supply=draw(st.sampled_from([None, "29", "27"])),
        prices_include_tax=draw(st.booleans()),
        rounding=draw(st.sampled_from([None, PER_LINE, PER_DOCUMENT])),
        round_total_to_whole=draw(st.sampled_from([None, None, True, False])),
    )
    return ctx, draw(st.lists(line_inputs(code), max_size=8))


@given(documents())
@settings(max_examples=200, deadline=None)
def test_every_result_is_consistent(doc):
    ctx, lines = doc
    result = compute(ctx, lines)
    code = ctx.currency
    exponent = -CURRENCIES[code].precision
    mode = ctx.rounding or (PER_LINE if ctx.regime == GST_INDIA else PER_DOCUMENT)
    to_whole = ctx.round_total_to_whole if ctx.round_total_to_whole is not None else \
        (ctx.regime == GST_INDIA and code == "INR")

    # The document adds up.
    assert result.grand_total == result.taxable_total + result.tax_total + result.rounding
    assert result.tax_total == sum((r.amount for r in result.breakdown), D(0))
    if ctx.prices_include_tax and mode == PER_DOCUMENT and ctx.regime != NO_TAX:
        # Documented exception: the taxable total is inclusive sum - document tax.
        # What must hold is that the customer pays exactly the shelf prices.
        assert result.taxable_total + result.tax_total == sum((l.total for l in result.lines), D(0))
    else:
        assert result.taxable_total == sum((l.taxable for l in result.lines), D(0))
    if mode == PER_LINE:
        assert result.tax_total == sum((l.tax_total for l in result.lines), D(0))
    else:
        # Per-document rounding differs from the lines' own by at most a unit or so per line.
        unit = D(1).scaleb(exponent)
        assert abs(result.tax_total - sum((l.tax_total for l in result.lines), D(0))) <= \
            2 * (len(lines) + 1) * unit

    # Each line adds up.
    for given_line, l in zip(lines, result.lines):
        assert l.tax_total == sum((t.amount for t in l.taxes), D(0))
        assert l.total == l.taxable + l.tax_total
        assert l.discount <= l.gross
        if ctx.prices_include_tax:
            assert l.total == l.gross - l.discount          # the shelf price, exactly
        else:
            assert l.taxable == l.gross - l.discount
        if ctx.regime == NO_TAX:
            assert l.taxes == ()
        elif ctx.regime == GST_INDIA and ctx.place_of_supply in (None, "29"):
            cgst, sgst = l.taxes
            assert (cgst.kind, sgst.kind) == ("CGST", "SGST")
            assert (cgst.rate, cgst.amount) == (sgst.rate, sgst.amount)
            assert cgst.rate * 2 == given_line.tax_rate
        else:
            (t,) = l.taxes
            assert t.kind == ("VAT" if ctx.regime == VAT else "IGST") and t.rate == given_line.tax_rate

    # Breakdown rows are ordered by rate, then CGST, SGST, IGST, VAT, and unique.
    keys = [(r.rate, ["CGST", "SGST", "IGST", "VAT"].index(r.kind)) for r in result.breakdown]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    if mode == PER_DOCUMENT and not ctx.prices_include_tax:
        for r in result.breakdown:
            assert r.amount == quantize(r.taxable * r.rate / 100, code)

    # Every money figure has exactly the currency's decimals.
    figures = [result.taxable_total, result.tax_total, result.rounding, result.grand_total]
    figures += [x for r in result.breakdown for x in (r.taxable, r.amount)]
    for l in result.lines:
        figures += [l.gross, l.discount, l.taxable, l.tax_total, l.total] + [t.amount for t in l.taxes]
    assert all(isinstance(x, D) and x.as_tuple().exponent == exponent for x in figures)

    # Round-off to a whole unit: never more than half a unit either way.
    if to_whole:
        assert D("-0.5") < result.rounding <= D("0.5")
        assert result.grand_total == result.grand_total.to_integral_value()
    else:
        assert result.rounding == 0

    assert result.intra_state == ((ctx.place_of_supply in (None, "29")) if ctx.regime == GST_INDIA else None)
