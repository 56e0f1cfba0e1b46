"""The billing engine: timesheet rows in; summary, claim lines and problems out.

Pure Python with no I/O, so it runs headless, in desktop Excel and in xlwings
Lite alike. Like beancount's loader, every step returns what it understood
plus the problems it found; nothing is raised for bad data.

    result = close_month(timesheet, staff, members, setup, profile)

Each table is a list of dicts keyed by SPEC §3 headers, a pandas DataFrame,
or a ``Table(rows, first_row)`` when the adapter knows the Excel row of the
first data row (default 2: headers in row 1).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import math
from collections import defaultdict

from . import contract as C
from . import values as V
from .checks import CHECKS, Context, _codes_by_row, check_duplicates, check_staff_day
from .data import ERROR, WARNING, ClaimLine, CloseResult, Problem, SummaryRow, Totals
from .loader import (  # noqa: F401
    _rows,
    as_table,
    read_activities,
    read_members,
    read_rates,
    read_setup,
    read_staff,
    read_timesheet,
)
from .profile import Profile, canonical, load_profile

SHEET_ORDER = {C.SETUP: 0, C.LISTS: 1, C.STAFF: 2, C.MEMBERS: 3, C.TIMESHEET: 4}

# ---------------------------------------------------------------------------
# Grouping and pricing
# ---------------------------------------------------------------------------
def units_for(minutes: float, unit_minutes: int) -> int:
    """R1/R2: whole units for a month's care minutes, rounded up once."""
    return math.ceil(round(minutes / unit_minutes, 6))


def claim_id(billing_npi: str, month: dt.date, member_id: str) -> str:
    """A stable claim ID: the same NPI, month and member always give the same ID."""
    digest = hashlib.sha1(f"{billing_npi}|{month:%Y-%m}|{member_id}".encode()).digest()
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32
    n = int.from_bytes(digest[:8], "big")
    tail = "".join(alphabet[(n >> (5 * i)) & 31] for i in range(12))
    return f"E{month:%y%m}{tail}"  # 17 characters: fits the 837P's 20


def source_rows_text(rows) -> str:
    """Timesheet rows as '5-7, 12': every billed unit traced to its time.

    In a month billed from several workbooks (clinic_month), another
    workbook's rows come as (file name, row) and are named: '5-7; B.xlsx: 3'."""
    own = [r for r in rows if isinstance(r, int)]
    other = {}
    for r in rows:
        if not isinstance(r, int):
            other.setdefault(r[0], []).append(r[1])
    if not other:
        return _ranges(own)
    return "; ".join(([_ranges(own)] if own else []) + [f"{k}: {_ranges(v)}" for k, v in sorted(other.items())])


def _ranges(rows) -> str:
    rows = sorted(rows)
    parts, i = [], 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        parts.append(str(rows[i]) if i == j else f"{rows[i]}-{rows[j]}")
        i = j + 1
    return ", ".join(parts)


def _group(billed, codes, ctx, rates):
    """R2/R3: one group per member, month and code; care minutes round up once."""
    groups = defaultdict(list)
    month_of = {}
    for e in billed:
        month = month_of.get(e.date)
        if month is None:
            month = month_of[e.date] = e.date.replace(day=1)
        groups[(month, e.member_id, codes[e.row])].append(e)
    summary, lines, problems = [], [], []
    by_claim = defaultdict(list)
    names = {}
    outreach_service, unit_minutes = ctx.profile.outreach_service, ctx.unit_minutes
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2].key)):
        month, member_id, code = key
        rows = groups[key]
        name = names.get(member_id)
        if name is None:
            name = names[member_id] = ctx.members[member_id].name
        minutes = round(math.fsum([e.minutes for e in rows]), 4)
        units = len(rows) if code.service == outreach_service else units_for(minutes, unit_minutes)
        rate = rates.get(code.key)
        charge = round(units * rate, 2) if rate is not None else None
        summary.append(SummaryRow(month, member_id, name, code.hcpcs, code.modifier_1, code.modifier_2,
                                  minutes, round(minutes / 60, 2), units, charge))
        by_claim[(month, member_id)].append((code, rows, minutes, units, rate, charge))
    default_place = {c.name: (ctx.setup.default_place_of_service if c.mode == "in_person" else "")
                     or c.place_of_service for c in ctx.profile.contacts}
    npi, tax_id, default_dx = ctx.setup.billing_npi, ctx.setup.tax_id, ctx.setup.default_diagnosis
    for (month, member_id), groups_ in by_claim.items():  # already in month, member order
        member = ctx.members[member_id]
        cid = claim_id(npi, month, member_id)
        dx = member.diagnosis or default_dx
        for n, (code, rows, minutes, units, rate, charge) in enumerate(groups_, start=1):
            dates = [e.date for e in rows]
            lines.append(ClaimLine(
                cid, n, member_id, names[member_id], member.birth_date, min(dates), max(dates),
                _place_of_service(rows, default_place), code.hcpcs, code.modifier_1, code.modifier_2,
                units, rate, charge, dx, npi, tax_id, minutes, tuple(sorted([e.row for e in rows]))))
            first = rows[0]
            if rate is None:
                problems.append(Problem("R5", WARNING, C.TIMESHEET, first.row, "HCPCS",
                                        f"No rate for {code.label} on the Lists sheet's Codes table: claim {cid} line {n} "
                                        "is listed without a charge. Enter your contract rate.",
                                        first.date, first.staff_id, member_id, minutes))
            if not dx:
                problems.append(Problem("R10", WARNING, C.MEMBERS, member.row, "Diagnosis Code",
                                        f"Member {member_id} has no Diagnosis Code and Setup has no default: "
                                        f"claim {cid} has no diagnosis and the plan will reject it.",
                                        member_id=member_id))
    return summary, lines, _dedupe(problems)


def _place_of_service(rows, default_place: dict) -> str:
    """The rows' own place, else the default for the contact (Setup's for in
    person, the profile's otherwise); the place with the most minutes wins."""
    weight = defaultdict(float)
    for e in rows:
        weight[e.place_of_service or default_place[e.contact]] += e.minutes
    if len(weight) == 1:
        return next(iter(weight))
    return max(sorted(weight), key=lambda p: weight[p])


def _dedupe(problems):
    seen, out = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


# ---------------------------------------------------------------------------
# The close
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a close builds its records.

    A close allocates a few records per row and frees none until it ends, so
    the collector's passes find nothing and cost a quarter of a large close."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def close_month(timesheet, staff, members, setup: dict | None = None, profile: Profile | None = None, *,
                codes=None, activities=None, close_date: dt.date | None = None,
                billing_month=None) -> CloseResult:
    """Bill one workbook's month: rows in; summary, claim lines and problems out.

    `setup` maps setting names (defined names like ``BillingMonth`` or their
    labels) to cell values; `codes` and `activities` are the workbook's Lists
    tables (the clinic's rates and activities), defaulting to the profile's.
    `billing_month` overrides Setup's. `close_date` (default today) dates R13.
    """
    with gc_paused():
        return _close(timesheet, staff, members, setup, profile, codes, activities, close_date, billing_month)


def _close(timesheet, staff, members, setup, profile, codes, activities, close_date, billing_month):
    profile = profile or load_profile()
    setup_rec, problems = read_setup(setup, profile, billing_month)
    staff_map, p = read_staff(as_table(staff, C.STAFF_HEADERS), profile)
    problems += p
    member_map, p = read_members(as_table(members, C.MEMBER_HEADERS))
    problems += p
    rates, p = read_rates(as_table(codes, C.CODE_HEADERS) if codes is not None else None, profile)
    problems += p
    acts, p = read_activities(as_table(activities, C.ACTIVITY_HEADERS) if activities is not None else None, profile)
    problems += p
    entries, p, minutes_in = read_timesheet(as_table(timesheet, C.TIMESHEET_HEADERS), profile, acts)
    problems += p

    ctx = Context(profile, setup_rec, staff_map, member_map, acts,
                  setup_rec.unit_minutes or profile.unit_minutes,
                  setup_rec.filing_limit_days or profile.filing_limit_days,
                  close_date or dt.date.today(),
                  _codes_by_row(entries, staff_map, profile))
    for check in CHECKS:
        problems += check(entries, ctx)
    dupes = check_duplicates(entries, ctx)
    problems += dupes
    problems += check_staff_day(entries, ctx, skip={d.row for d in dupes})

    refused = {p.row for p in problems if p.sheet == C.TIMESHEET and p.severity == ERROR}
    billed = [e for e in entries if e.row not in refused]
    summary, lines, p = _group(billed, ctx.codes, ctx, rates)
    problems += p
    problems.sort(key=lambda q: (SHEET_ORDER.get(q.sheet, 9), q.row or 0, int(q.rule[1:]), q.column or ""))

    billed_rows = {e.row for e in billed}
    errors = sum(1 for q in problems if q.severity == ERROR)
    totals = Totals(
        rows_in=len(minutes_in), rows_billed=len(billed_rows), rows_not_billed=len(minutes_in) - len(billed_rows),
        minutes_in=round(sum(minutes_in.values()), 4),
        minutes_billed=round(sum(minutes_in[r] for r in billed_rows), 4),
        minutes_not_billed=round(sum(m for r, m in minutes_in.items() if r not in billed_rows), 4),
        members=len({l.member_id for l in lines}), claim_lines=len(lines),
        units=sum(l.units for l in lines), charge=round(sum(l.charge or 0 for l in lines), 2),
        errors=errors, warnings=len(problems) - errors)
    return CloseResult(summary, lines, problems, totals, setup_rec, member_map)


def fill_codes(timesheet, staff, profile: Profile | None = None) -> dict:
    """R5 for the person typing: {row: (HCPCS, Modifier 1, Modifier 2)} for rows
    whose code cells are all blank and whose staff, service and contact give a code."""
    profile = profile or load_profile()
    staff_map, _ = read_staff(as_table(staff, C.STAFF_HEADERS), profile)
    table = as_table(timesheet, C.TIMESHEET_HEADERS)
    out = {}
    for row, r in _rows(table):
        if any(V.code(r.get(k)) for k in ("HCPCS", "Modifier 1", "Modifier 2")):
            continue
        s = staff_map.get(V.text(r.get("Staff ID")))
        service = canonical(profile.services, V.text(r.get("Service")))
        if s is None or s.staff_type is None or service is None:
            continue
        code = profile.code_for(s.staff_type, service, V.text(r.get("Contact")))
        if code is not None:
            out[row] = code.key
    return out
