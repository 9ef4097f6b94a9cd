"""Tax identification numbers: the Indian GSTIN with its check character."""
from __future__ import annotations

import re

from webapp.core.regions import INDIA_STATES

_GSTIN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def gstin_check_char(first14: str) -> str:
    """The 15th character of a GSTIN (Luhn mod 36 over the first 14)."""
    total = 0
    for i, ch in enumerate(first14):
        value = _ALPHABET.index(ch) * (2 if i % 2 else 1)
        total += value // 36 + value % 36
    return _ALPHABET[(36 - total % 36) % 36]


def gstin_problem(value: str) -> str | None:
    """Why `value` is not a valid GSTIN, or None when it is."""
    gstin = (value or "").strip().upper()
    if len(gstin) != 15:
        return "A GSTIN has 15 characters."
    if not _GSTIN.match(gstin):
        return "This is not a GSTIN: expected 2 digits, a PAN (5 letters, 4 digits, 1 letter), an entity code, Z and a check character."
    if gstin[:2] not in INDIA_STATES:
        return f"{gstin[:2]} is not an Indian state code."
    if gstin_check_char(gstin[:14]) != gstin[14]:
        return "The check character of this GSTIN is wrong; look for a typing mistake."
    return None


def gstin_state(value: str) -> str | None:
    gstin = (value or "").strip().upper()
    return gstin[:2] if gstin_problem(gstin) is None else None
