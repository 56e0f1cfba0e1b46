"""The small immutable records that flow through ecm-xl.

Everything the engine reads and writes is one of these records (or a plain
dict of cell values keyed by a SPEC §3 header). They know nothing of files,
openpyxl or xlwings.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from operator import itemgetter
from typing import NamedTuple

ERROR = "Error"      # the row is not billed
WARNING = "Warning"  # the row is billed, but a person should look at it

# Members-sheet and Timesheet columns whose cells are a member's protected health
# information (or free text that may be): never shown by a repr.
PHI_COLUMNS = frozenset({"Last Name", "First Name", "Member Name", "Date of Birth", "Address", "City", "ZIP",
                         "Diagnosis Code", "Notes"})


def private(*hidden: str, counted: tuple = (), when=None):
    """A record class's repr (and str) that never shows member data.

    Fields in `hidden` show as <hidden> when they hold anything; fields in
    `counted` (rows, lines, members) show how many they hold; `when(record)`,
    if given, hides only for the records it is true for. The other fields
    show as usual, and records inside them show their own masked repr, so
    `print(report)` in a notebook or a log names no member.

        @private("last_name", "birth_date")
        @private("last_name", "first_name", "birth_date", "diagnosis", "address", "city", "zip")
class Member(NamedTuple): ...
    """
    def shown(name, value, hide):
        if name in counted and hasattr(value, "__len__"):
            n = len(value)
            word = {"members": "member", "problems": "problem", "claim_lines": "line"}.get(name, "row")
            return f"{name}=<{n:,} {word}{'' if n == 1 else 's'}>"
        if hide and name in hidden and value not in (None, "", (), [], {}):
            return f"{name}=<hidden>"
        return f"{name}={value!r}"

    def decorate(cls):
        def __repr__(self):
            hide = when is None or when(self)
            return f"{cls.__name__}({', '.join(shown(n, v, hide) for n, v in zip(self._fields, self))})"
        cls.__repr__ = __repr__
        cls.__str__ = __repr__
        return cls
    return decorate


@private("reason", when=lambda p: p.column in PHI_COLUMNS)   # it may quote the cell
class Problem(NamedTuple):
    """One thing wrong with one row (or one setting), shown on Exceptions."""

    rule: str                 # "R1".."R15"
    severity: str             # ERROR or WARNING
    sheet: str                # "Timesheet", "Staff", "Members", "Setup", "Lists"
    row: int | None           # the row number as Excel shows it
    column: str | None        # the header of the cell at fault, if one is
    reason: str               # plain English for a billing clerk
    date: dt.date | None = None
    staff_id: str | None = None
    member_id: str | None = None
    minutes: float | None = None


@private(counted=("rows",))
class Table(NamedTuple):
    """Rows of one sheet table, keyed by header, and where they start.

    `first_row` is the Excel row number of the first data row, so that a
    problem can name the row as Excel shows it.
    """

    rows: list
    first_row: int = 2


class Columns(Sequence):
    """A table's rows kept as the reader got them: one list of cells per row.

    It reads like a list of dicts keyed by header (each made when asked
    for, '' read as None), and hands the engine a whole column at once, so a
    100k-row timesheet is never turned into 100k dicts only to be taken
    apart again."""

    __slots__ = ("headers", "cells")

    def __init__(self, headers, cells):
        self.headers = tuple(headers)
        self.cells = cells          # lists of cells, each as long as headers

    def __len__(self):
        return len(self.cells)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._row(r) for r in self.cells[i]]
        return self._row(self.cells[i])

    def _row(self, cells) -> dict:
        return dict(zip(self.headers, map(_BLANK.get, cells, cells)))

    def __eq__(self, other):
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self):
        n = len(self.cells)
        return f"Columns(headers={self.headers!r}, rows=<{n:,} row{'' if n == 1 else 's'}>)"

    def column(self, header) -> list:
        """Every row's cell under `header` ('' as it was read), or None for each when absent."""
        if header not in self.headers:
            return [None] * len(self.cells)
        return list(map(itemgetter(self.headers.index(header)), self.cells))

    def renamed(self, names: dict) -> "Columns":
        return Columns([names.get(h, h) for h in self.headers], self.cells)


_BLANK = {"": None}


class Staff(NamedTuple):
    staff_id: str
    name: str
    staff_type: str | None    # canonical profile value, or None when unusable
    npi: str
    row: int


class EligibilitySpan(NamedTuple):
    start: dt.date | None     # None: open at the start
    end: dt.date | None       # None: open (still eligible)
    row: int


@private("last_name", "first_name", "birth_date", "diagnosis", "address", "city", "zip")
class Member(NamedTuple):
    member_id: str
    last_name: str
    first_name: str
    birth_date: dt.date | None
    sex: str
    enrollment_date: dt.date | None   # None: not yet enrolled in ECM
    diagnosis: str
    spans: tuple                      # of EligibilitySpan
    row: int                          # first row of this member
    address: str = ""                 # street, city, state, ZIP: for the 837P
    city: str = ""
    state: str = ""
    zip: str = ""

    @property
    def name(self) -> str:
        return ", ".join(p for p in (self.last_name, self.first_name) if p)


@private("notes")
class Entry(NamedTuple):
    """One timesheet row, understood."""

    row: int
    date: dt.date
    staff_id: str
    member_id: str
    service: str              # canonical profile value
    contact: str              # canonical profile value
    activity: str             # canonical profile value, or "" when blank
    start: dt.time | None
    end: dt.time | None
    minutes: float
    place_of_service: str     # "" when blank
    hcpcs: str                # as typed (normalised), "" when blank
    modifier_1: str
    modifier_2: str
    approved: bool | None     # None when blank
    notes: str


class Code(NamedTuple):
    """One line of the plan's code table (R5)."""

    hcpcs: str
    modifier_1: str
    modifier_2: str
    staff_type: str
    service: str
    contact_mode: str         # "in_person" or "remote"
    description: str
    rate: float | None

    @property
    def key(self) -> tuple:
        return (self.hcpcs, self.modifier_1, self.modifier_2)

    @property
    def label(self) -> str:
        return " ".join(p for p in self.key if p)


class Setup(NamedTuple):
    provider_name: str = ""
    billing_npi: str = ""
    tax_id: str = ""
    health_plan: str = ""
    billing_month: dt.date | None = None   # first day of the month, or None
    unit_minutes: int | None = None        # None: the profile's
    default_diagnosis: str = ""
    default_place_of_service: str = ""
    filing_limit_days: int | None = None   # None: the profile's
    approval_required: bool = False
    extra: dict = {}                       # any other named setting, as typed


@private("member_name")
class SummaryRow(NamedTuple):
    month: dt.date
    member_id: str
    member_name: str
    hcpcs: str
    modifier_1: str
    modifier_2: str
    minutes: float
    hours: float
    units: int
    charge: float | None


@private("member_name", "birth_date", "diagnosis")
class ClaimLine(NamedTuple):
    claim_id: str
    line: int
    member_id: str
    member_name: str
    birth_date: dt.date | None
    from_date: dt.date
    to_date: dt.date
    place_of_service: str
    hcpcs: str
    modifier_1: str
    modifier_2: str
    units: int
    rate: float | None
    charge: float | None
    diagnosis: str
    billing_npi: str
    tax_id: str
    minutes: float
    source_rows: tuple        # of Excel row numbers on the Timesheet


class Totals(NamedTuple):
    """The reconciliation of R14: every row and minute is accounted for."""

    rows_in: int
    rows_billed: int
    rows_not_billed: int
    minutes_in: float
    minutes_billed: float
    minutes_not_billed: float
    members: int
    claim_lines: int
    units: int
    charge: float
    errors: int
    warnings: int


@private(counted=("summary", "claim_lines", "problems", "members"))
class CloseResult(NamedTuple):
    summary: list             # of SummaryRow
    claim_lines: list         # of ClaimLine
    problems: list            # of Problem, in sheet and row order
    totals: Totals
    setup: Setup
    members: dict             # member_id -> Member (for exports)
