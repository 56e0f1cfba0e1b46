"""What each command reports: small records with a `text()` for a person (counts and money, no names)."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import NamedTuple

from .data import ERROR, CloseResult


class NewReport(NamedTuple):
    path: str
    staff: int            # staff rows written
    members: int          # member rows written (one per eligibility span)
    settings: tuple       # defined names set
    ignored_columns: dict = {}   # roster ("Staff"/"Members") -> its columns matched to no header

    def ignored_text(self) -> str:
        """What a roster held that the workbook has no place for, or ''."""
        return "\n".join(f"Ignored columns of the {table} file (no {table} header or synonym matches them): "
                         + ", ".join(cols) for table, cols in self.ignored_columns.items() if cols)


class FillReport(NamedTuple):
    path: str             # the workbook read
    out: str              # the workbook written (the same file unless -o)
    rows: list            # Excel row numbers the entries went to on the Timesheet
    codes_filled: int     # rows whose blank HCPCS/modifier cells were derived (R5)
    ignored_columns: tuple  # entry columns the Timesheet has no place for
    refreshed: tuple = ()   # rows whose codes, filled for an earlier Staff Type, were brought up to date

    def text(self) -> str:
        if not self.rows and not self.ignored_columns and self.out and not self.codes_filled:
            n = len(self.refreshed)
            return (f"Refreshed the codes of {n:,} timesheet row{'s' if n != 1 else ''} filled for an earlier "
                    f"Staff Type" + (f" (rows {', '.join(map(str, self.refreshed))})" if n else "") + f" -> {self.out}")
        where = f"rows {self.rows[0]}-{self.rows[-1]}" if self.rows else "no rows"
        line = (f"Added {len(self.rows):,} time entries to the Timesheet ({where}); "
                f"codes filled on {self.codes_filled:,} -> {self.out}")
        if self.ignored_columns:
            line += "\nIgnored columns the Timesheet has no place for: " + ", ".join(self.ignored_columns)
        return line


class CloseReport(NamedTuple):
    path: str             # the workbook read (never modified unless in place)
    out: str              # the closed copy written
    result: CloseResult
    seconds: float

    @property
    def totals(self):
        return self.result.totals

    def month_text(self) -> str:
        return month_words(self.result)

    def text(self) -> str:
        """A short result for a person: counts and money only, never a member's name."""
        t = self.result.totals
        lines = [f"Closed {month_words(self.result)}: {t.members:,} members, {t.claim_lines:,} claim lines, "
                 f"{t.units:,} units, ${t.charge:,.2f}; {_count(t.errors, 'error')}, {_count(t.warnings, 'warning')} -> {self.out}",
                 f"Rows: {t.rows_in:,} in = {t.rows_billed:,} billed + {t.rows_not_billed:,} not billed; "
                 f"minutes: {_n(t.minutes_in)} = {_n(t.minutes_billed)} billed + {_n(t.minutes_not_billed)} "
                 "not billed (R14)"]
        errs, warns = rule_counts(self.result)
        if errs:
            lines.append("Not billed, by rule: " + ", ".join(f"{r} {n}" for r, n in errs))
        if warns:
            lines.append("Warnings, by rule: " + ", ".join(f"{r} {n}" for r, n in warns))
        return "\n".join(lines)



class DemoReport(NamedTuple):
    dir: str
    workbook: str         # the filled, unclosed workbook
    entries: str          # the CSV the entries came from
    close: CloseReport
    fill: FillReport
    exports: dict         # format -> path written
    export_messages: dict  # format -> why not written

    def text(self) -> str:
        lines = [self.close.text(), "", "Files:",
                 f"  entries CSV        {self.entries}",
                 f"  workbook (filled)  {self.workbook}",
                 f"  closed workbook    {self.close.out}"]
        for fmt, path in self.exports.items():
            lines.append(f"  {'claim lines CSV' if fmt == 'csv' else '837P claim file':18} {path}")
        for fmt, why in self.export_messages.items():
            lines.append(f"  {fmt} export not written: {why}")
        return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def month_words(result: CloseResult) -> str:
    m = result.setup.billing_month if result.setup else None
    if m is not None and m != dt.date.min:
        return f"{m:%B %Y}"
    months = sorted({s.month for s in result.summary})
    if not months:
        return "the timesheet (no billing month on Setup)"
    if len(months) == 1:
        return f"{months[0]:%B %Y} (no billing month on Setup)"
    return f"{months[0]:%b %Y} to {months[-1]:%b %Y} (no billing month on Setup)"


def rule_counts(result: CloseResult):
    """([(rule, errors)], [(rule, warnings)]) in rule order."""
    errs, warns = Counter(), Counter()
    for p in result.problems:
        (errs if p.severity == ERROR else warns)[p.rule] += 1
    order = lambda kv: int(kv[0][1:]) if kv[0][1:].isdigit() else 99  # noqa: E731
    return sorted(errs.items(), key=order), sorted(warns.items(), key=order)

