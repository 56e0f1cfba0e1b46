"""A close's result as the three output tables of SPEC §3, as plain values.

Every writer (the headless xlsx writer, the xlwings layer, CSV) takes its
rows from here, so the Summary, Claim and Exceptions tables are laid out in
one place only. Values are Python dates, numbers and text; writers choose how
to store them.
"""
from __future__ import annotations

from . import contract as C
from .data import CloseResult
from .engine import source_rows_text

FORMULA_STARTS = ("=", "+", "-", "@")


def summary_rows(result: CloseResult) -> list[list]:
    return [[s.month, s.member_id, s.member_name, s.hcpcs, s.modifier_1, s.modifier_2,
             s.minutes, s.hours, s.units, s.charge] for s in result.summary]


def claim_rows(result: CloseResult) -> list[list]:
    return [[l.claim_id, l.line, l.member_id, l.member_name, l.birth_date, l.from_date, l.to_date,
             l.place_of_service, l.hcpcs, l.modifier_1, l.modifier_2, l.units, l.rate, l.charge,
             l.diagnosis, l.billing_npi, l.tax_id, l.minutes, source_rows_text(l.source_rows)]
            for l in result.claim_lines]


def exception_rows(result: CloseResult) -> list[list]:
    return [[p.row, p.date, p.staff_id, p.member_id, p.minutes, p.severity, p.rule, p.reason,
             p.sheet, p.column] for p in result.problems]


def output_tables(result: CloseResult) -> dict:
    """{table name: (headers, rows)} for Summary, Claim and Exceptions."""
    return {
        C.SUMMARY: (C.SUMMARY_HEADERS, summary_rows(result)),
        C.CLAIM: (C.CLAIM_HEADERS, claim_rows(result)),
        C.EXCEPTIONS: (C.EXCEPTION_HEADERS, exception_rows(result)),
    }


def defuse(value):
    """Text that a spreadsheet would run as a formula, made inert with a leading quote.

    For writers that go through a spreadsheet's own parser (CSV opened in
    Excel, values set through xlwings). The xlsx writer stores text as text
    and needs no such prefix.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
