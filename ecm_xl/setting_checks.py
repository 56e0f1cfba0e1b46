"""What a Setup value must look like: one check per setting, in the words every command uses.

`ecm-xl new --set` refuses a bad value with these words, the close lists a bad
BillingNPI or TaxID on Exceptions with them, and the 837P export names them
when Setup is not ready. Settings are named by their defined names (the names
in column D of the Setup sheet and the keys of `--set`). Pure: no files.

    setting_problem("BillingNPI", "123")   # 'BillingNPI 123 is not 10 digits'
    setting_problem("BillingNPI", "1234567893")   # None
"""
from __future__ import annotations

import re

from . import values as V

# US states, DC, territories and military mail codes (an 837P's N402 is checked
# against this list by validators).
STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI FM MH PW AA AE AP".split())

_PO_BOX = re.compile(r"\bP\.?\s*O\.?\s*BOX\b|\bPOST\s+OFFICE\s+BOX\b", re.I)


def digits(value) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


def phone(value) -> str:
    """A phone number's ten digits (a leading 1 dropped)."""
    d = digits(value)
    return d[1:] if len(d) == 11 and d.startswith("1") else d


def _placeholder(v, n: int) -> bool:
    """n copies of one digit (000000000, 1111111111): typed to fill a cell, never a real number."""
    return bool(re.fullmatch(r"(\d)\1{%d}" % (n - 1), v))


def _npi(name, v):
    if _placeholder(v, 10):
        return f"{name} {v} is a placeholder, not a real NPI"
    if V.npi_is_valid(v):
        return None
    return f"{name} {v} fails the NPI check digit" if re.fullmatch(r"\d{10}", v) else f"{name} {v} is not 10 digits"


def _tax_id(name, v):
    tax = v.replace("-", "")
    if _placeholder(tax, 9):
        return f"{name} {tax} is a placeholder, not a real tax ID"
    return None if re.fullmatch(r"\d{9}", tax) else f"{name} {tax} is not 9 digits"


def _state(name, v):
    return None if v.upper() in STATES else f"{name} {v.upper()} is not a two-letter US state code"


def _zip9(name, v):
    if digits(v)[:5] == "00000":
        return f"{name} {v} is a placeholder, not a real ZIP code"
    return None if len(digits(v)) == 9 else f"{name} {v} must be the 9-digit ZIP+4 for the billing provider"


def _phone(name, v):
    return None if len(phone(v)) == 10 else f"{name} {v} is not a 10-digit phone number"


def _street(name, v):
    return f"{name} is a PO box; the billing provider needs a street address" if _PO_BOX.search(v) else None


def _taxonomy(name, v):
    """A NUCC provider taxonomy code: 10 characters, 3 digits, 6 letters or digits, then X."""
    return None if re.fullmatch(r"\d{3}[0-9A-Z]{6}X", v.strip().upper()) else \
        f"{name} {v} is not a provider taxonomy code (10 characters, like 251S00000X)"


def _month(name, v):
    return f"{name} {V.to_month(v)[1]}" if V.to_month(v)[1] else None


def _whole(name, v):
    n, err = V.to_int(v)
    return f"{name} {v} is not a positive whole number" if err or n <= 0 else None


def _yes_no(name, v):
    err = V.to_bool(v)[1]
    return f"{name} {err}" if err else None


# Settings the close reads as a month, a number or yes/no (loader.read_setup says on
# Exceptions what it made of a bad one); the rest it keeps as typed text.
PARSED = ("BillingMonth", "UnitMinutes", "FilingLimitDays", "ApprovalRequired")

CHECKS = {"BillingNPI": _npi, "TaxID": _tax_id, "ProviderState": _state, "ProviderZip": _zip9,
          "ContactPhone": _phone, "ProviderAddress": _street, "BillingMonth": _month, "Taxonomy": _taxonomy,
          "UnitMinutes": _whole, "FilingLimitDays": _whole, "ApprovalRequired": _yes_no}


def setting_problem(name: str, value) -> str | None:
    """Why `value` can't be Setup's `name` (one phrase naming both), or None when it can
    or is blank. A date for BillingMonth, a number for an NPI are taken as typed cells."""
    check = CHECKS.get(name)
    if check is None or V.is_blank(value):
        return None
    raw = value if name == "BillingMonth" else V.text(value)
    return check(name, raw) if raw != "" else None
