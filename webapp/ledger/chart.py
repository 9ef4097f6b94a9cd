"""Chart-of-accounts templates, one per tax regime.

Each row: (code, name, type, parent code or None, role or None, is_group).
Roles name the control accounts other modules post to; every template has
every role in COMMON_ROLES, plus the tax roles of its regime.
"""
from __future__ import annotations

from webapp.core.regions import GST_INDIA, NO_TAX, VAT

A, L, E, I, X = "asset", "liability", "equity", "income", "expense"

COMMON = [
    ("1000", "Assets", A, None, None, True),
    ("1100", "Current assets", A, "1000", None, True),
    ("1110", "Cash", A, "1100", "cash", False),
    ("1120", "Bank", A, "1100", "bank", False),
    ("1200", "Accounts receivable", A, "1100", "receivables", False),
    ("1300", "Inventory", A, "1100", "inventory", False),
    ("1500", "Prepaid expenses", A, "1100", None, False),
    ("1600", "Fixed assets", A, "1000", None, True),
    ("1610", "Furniture and equipment", A, "1600", None, False),
    ("2000", "Liabilities", L, None, None, True),
    ("2100", "Accounts payable", L, "2000", "payables", False),
    ("2150", "Goods received not invoiced", L, "2000", "grni", False),
    ("2400", "Loans", L, "2000", None, False),
    ("3000", "Equity", E, None, None, True),
    ("3100", "Owner's capital", E, "3000", None, False),
    ("3200", "Retained earnings", E, "3000", "retained_earnings", False),
    ("3300", "Opening balance equity", E, "3000", "opening_balance_equity", False),
    ("4000", "Income", I, None, None, True),
    ("4100", "Sales", I, "4000", "sales", False),
    ("4200", "Sales returns", I, "4000", "sales_returns", False),
    ("4300", "Other income", I, "4000", None, False),
    ("5000", "Expenses", X, None, None, True),
    ("5100", "Cost of goods sold", X, "5000", "cogs", False),
    ("5200", "Stock adjustments and write-offs", X, "5000", "stock_adjustments", False),
    ("5300", "Rounding differences", X, "5000", "rounding", False),
    ("5400", "Rent", X, "5000", None, False),
    ("5500", "Salaries and wages", X, "5000", None, False),
    ("5600", "Utilities", X, "5000", None, False),
    ("5700", "Bank charges", X, "5000", None, False),
    ("5900", "General expenses", X, "5000", None, False),
]

GST = [
    ("1400", "Input GST", A, "1100", None, True),
    ("1410", "Input CGST", A, "1400", "input_cgst", False),
    ("1420", "Input SGST", A, "1400", "input_sgst", False),
    ("1430", "Input IGST", A, "1400", "input_igst", False),
    ("2200", "Output GST", L, "2000", None, True),
    ("2210", "Output CGST", L, "2200", "output_cgst", False),
    ("2220", "Output SGST", L, "2200", "output_sgst", False),
    ("2230", "Output IGST", L, "2200", "output_igst", False),
]

VAT_ACCOUNTS = [
    ("1410", "Input VAT", A, "1100", "input_vat", False),
    ("2210", "Output VAT", L, "2000", "output_vat", False),
]

COMMON_ROLES = {row[4] for row in COMMON if row[4]}
TAX_ROLES = {
    GST_INDIA: {"input_cgst", "input_sgst", "input_igst", "output_cgst", "output_sgst", "output_igst"},
    VAT: {"input_vat", "output_vat"},
    NO_TAX: set(),
}


def template_for(regime: str) -> list[tuple]:
    extra = {GST_INDIA: GST, VAT: VAT_ACCOUNTS, NO_TAX: []}[regime]
    return sorted(COMMON + extra, key=lambda row: row[0])
