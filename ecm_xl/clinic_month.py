"""One clinic-month, however many workbooks hold it (SPEC R2).

A clinic whose care teams, sites or staff each keep their own workbook for the
same month bills that month once: the rows of every workbook with the same
billing NPI, billing month and payer (Setup's health plan) are summed before
rounding, and each member has one claim. This module closes such a month from
the workbooks' tables, each tagged with the name of the file it came from:

    month = close_clinic_month([Part("Team A.xlsx", ts_a, staff_a, members_a, setup_a),
                                Part("Team B.xlsx", ts_b, staff_b, members_b, setup_b)])
    month.result            # the month as billed: every claim line once (for claims.csv, the 837P)
    month.parts[0].result   # what Team A.xlsx's closed copy shows

Each part's result holds the whole month's Summary and Claim (Source Rows name
the other workbooks' rows by file), its own rows' Exceptions with its own row
numbers, its own row and minute counts (R14), and an R2 note naming the
workbooks it was billed with.

Rosters must agree: the same member listed with different eligibility,
enrollment, birth date, diagnosis or name, the same staff with a different
type or NPI, a code with different rates, an activity billable in one workbook
and not in another, or a money setting on Setup (unit minutes, approval,
filing limit, tax ID, default diagnosis or place of service) that differs,
is a Problem naming both files, never a silent pick: the rows it touches are
not billed (or, for a rate, listed without a charge) until the workbooks agree.

Pure Python, no I/O: it runs wherever the engine runs.
"""
from __future__ import annotations

import bisect
import datetime as dt
import re
from typing import NamedTuple

from . import contract as C
from . import values as V
from .data import ERROR, WARNING, Columns, CloseResult, Problem, Table, Totals
from .engine import SHEET_ORDER, close_month
from .loader import (as_table, read_activities, read_members, read_rates, read_setup, read_staff,
                     read_timesheet)
from .profile import Profile, fold, load_profile

# Rows of the combined tables are numbered from these, so a number in the
# engine's output tells which sheet it is and maps back to a file and row.
BASE = {C.TIMESHEET: 10_000_000, C.STAFF: 20_000_000, C.MEMBERS: 30_000_000}
_VIRTUAL = re.compile(r"\b[123]\d{7}\b")
BILLED_WITH = "Billed as one month with "   # how a closed copy's R2 note begins


class Part(NamedTuple):
    """One workbook's tables, tagged with the file they came from."""

    name: str                 # the workbook's file name, as the clinic knows it
    timesheet: object
    staff: object
    members: object
    setup: dict | None = None
    codes: object = None
    activities: object = None


class PartClose(NamedTuple):
    name: str
    result: CloseResult       # what this workbook's closed copy shows


class ClinicMonth(NamedTuple):
    result: CloseResult       # the month as billed; problems name their file in the reason
    parts: list               # of PartClose, in the order given
    conflicts: list           # of (what, files) the rosters or Setups disagreed on


def month_key(setup, profile: Profile | None = None, billing_month=None):
    """(billing NPI, billing month, payer) of a workbook's Setup: the workbooks
    with the same key are one clinic-month. None when the NPI or the month is
    missing or unreadable: such a workbook is closed on its own."""
    if not hasattr(setup, "billing_npi"):
        setup = read_setup(setup, profile or load_profile(), billing_month)[0]
    if not setup.billing_npi or setup.billing_month in (None, dt.date.min):
        return None
    return setup.billing_npi, setup.billing_month, fold(setup.health_plan)


def month_label(setup, profile: Profile | None = None, billing_month=None) -> str:
    """A workbook's clinic-month as a clerk reads it: 'October 2026, billing NPI 1234567893, Health Net'."""
    if not hasattr(setup, "billing_npi"):
        setup = read_setup(setup, profile or load_profile(), billing_month)[0]
    return (f"{setup.billing_month:%B %Y}, billing NPI {setup.billing_npi}"
            + (f", {setup.health_plan}" if setup.health_plan else ""))


# ---------------------------------------------------------------------------
# Roster agreement
# ---------------------------------------------------------------------------
def _member_facts(m) -> dict:
    return {"Date of Birth": m.birth_date, "ECM Enrollment Date": m.enrollment_date,
            "eligibility": tuple(sorted(((s.start or dt.date.min), (s.end or dt.date.max)) for s in m.spans)),
            "Diagnosis Code": m.diagnosis, "name": (fold(m.last_name), fold(m.first_name))}


def _staff_facts(s) -> dict:
    return {"Staff Type": s.staff_type, "NPI": s.npi}


def _say(field, value) -> str:
    if field == "eligibility":
        return "; ".join(f"{V.us_date(a) if a != dt.date.min else 'any date'} to "
                         f"{V.us_date(b) if b != dt.date.max else 'open'}" for a, b in value) or "none"
    if isinstance(value, dt.date):
        return V.us_date(value)
    if field == "name":
        return "differently spelled"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value) if value not in (None, "") else "blank"


def _differences(listings, facts):
    """[(field, [(part index, row, value)])] where the parts' listings disagree."""
    out = []
    fields = facts(listings[0][2])
    for field in fields:
        values = [(i, rec.row, facts(rec)[field]) for i, _, rec in listings]
        if len({v for _, _, v in values}) > 1:
            out.append((field, values))
    return out


def _conflict_text(kind, key, diffs, names) -> str:
    parts = []
    for field, values in diffs:
        sheet = C.STAFF if kind == "Staff" else C.MEMBERS
        shown = " and ".join(f"{names[i]} ({sheet} row {row}: {_say(field, v)})" for i, row, v in values)
        parts.append(f"{'the name' if field == 'name' else field} differs: {shown}")
    return f"{kind} {key} is listed differently in " + " and ".join(
        dict.fromkeys(names[i] for _, values in diffs for i, _, _ in values)) + ": " + "; ".join(parts)


# ---------------------------------------------------------------------------
# Where the workbooks disagree (close_clinic_month holds what they touch; merge refuses)
# ---------------------------------------------------------------------------
_MONEY_SETTINGS = {"UnitMinutes": lambda s, p: s.unit_minutes or p.unit_minutes,
                   "ApprovalRequired": lambda s, p: s.approval_required,
                   "FilingLimitDays": lambda s, p: s.filing_limit_days or p.filing_limit_days,
                   "TaxID": lambda s, p: s.tax_id,
                   "DefaultDiagnosis": lambda s, p: s.default_diagnosis,
                   "DefaultPlaceOfService": lambda s, p: s.default_place_of_service}
_KEY_SETTINGS = ("BillingMonth", "BillingNPI", "HealthPlan")
_LABELS = {s.name: s.label for s in C.SETTINGS}


def _setup_conflicts(setups, profile, names) -> list[str]:
    """'Unit minutes is 60 in A.xlsx and 15 in B.xlsx' for each money setting that differs."""
    out = []
    for name, get in _MONEY_SETTINGS.items():
        values = [get(s, profile) for s in setups]
        if len(set(values)) > 1:
            out.append(f"{_LABELS[name]} is " + " and ".join(
                f"{_say(name, v)} in {names[i]}" for i, v in enumerate(values)))
    return out


def _other_setting_conflicts(parts):
    """(name, label, the first value) of each other setting two workbooks fill differently."""
    for s in C.SETTINGS:
        if s.name in _MONEY_SETTINGS or s.name in _KEY_SETTINGS:
            continue
        values = [(p.setup or {}).get(s.name) for p in parts]
        filled = [v for v in values if not V.is_blank(v)]
        if len({fold(V.text(v)) for v in filled}) > 1:
            yield s.name, s.label, V.text(filled[0])


def _roster_conflicts(kind, reads, facts, names) -> dict:
    """{ID: (what differs, naming the files and rows; the listings)} for IDs listed differently."""
    listings = {}
    for i, (recs, _) in enumerate(reads):
        for key, rec in recs.items():
            listings.setdefault(key, []).append((i, key, rec))
    out = {}
    for key, found in listings.items():
        diffs = _differences(found, facts) if len(found) > 1 else []
        if diffs:
            out[key] = (_conflict_text(kind, key, diffs, names), found)
    return out


def _rate_conflicts(rates, profile, names) -> dict:
    """{code label: what differs} for plan codes the workbooks price differently."""
    out = {}
    for code in profile.codes:
        values = [r.get(code.key) for r in rates]
        if len(set(values)) > 1:
            money = " and ".join(f"{names[i]} ({'no rate' if v is None else f'${v:,.2f}'})"
                                 for i, v in enumerate(values))
            out[code.label] = (f"The rate for {code.label} differs between the workbooks' Codes tables: "
                               f"{money}. The line is listed without a charge until they agree.")
    return out


def _activity_conflicts(acts, names) -> dict:
    """{activity: what differs} for activities billable in one workbook and not in another."""
    out = {}
    for key in dict.fromkeys(k for a in acts for k in a):
        found = [(i, a[key]) for i, a in enumerate(acts) if key in a]
        if len({b for _, (_, b, _) in found}) > 1:
            said = " and ".join(f"{'billable' if b else 'not billable'} in {names[i]}" for i, (_, b, _) in found)
            out[found[0][1][0]] = (f"Activity {found[0][1][0]} is {said}: this time is not billed until the "
                                   "workbooks' Activities tables agree.")
    return out


class Reading(NamedTuple):
    """Each workbook's own reading: its tables and what the loader made of them."""

    names: list
    timesheets: list          # Table per part
    staff_tables: list
    member_tables: list
    setups: list              # Setup per part
    setup_problems: list      # per part
    staffs: list              # (staff by ID, problems) per part
    members: list             # (members by ID, problems) per part
    rates: list
    rate_problems: list
    activities: list
    activity_problems: list
    minutes: list             # {row: minutes} per part (every non-blank Timesheet row)


def read_parts(parts, profile: Profile, billing_month=None) -> Reading:
    """Read every part on its own, as its own close would."""
    parts = [p if isinstance(p, Part) else Part(*p) for p in parts]
    r = Reading([p.name for p in parts], [], [], [], [], [], [], [], [], [], [], [], [])
    for p in parts:
        ts = as_table(p.timesheet, C.TIMESHEET_HEADERS)
        st = as_table(p.staff, C.STAFF_HEADERS)
        mt = as_table(p.members, C.MEMBER_HEADERS)
        r.timesheets.append(ts)
        r.staff_tables.append(st)
        r.member_tables.append(mt)
        s, q = read_setup(p.setup, profile, billing_month)
        r.setups.append(s)
        r.setup_problems.append(q)
        r.staffs.append(read_staff(st, profile))
        r.members.append(read_members(mt))
        rates, q = read_rates(as_table(p.codes, C.CODE_HEADERS) if p.codes is not None else None, profile)
        r.rates.append(rates)
        r.rate_problems.append(q)
        acts, q = read_activities(as_table(p.activities, C.ACTIVITY_HEADERS) if p.activities is not None else None,
                                  profile)
        r.activities.append(acts)
        r.activity_problems.append(q)
        r.minutes.append(read_timesheet(ts, profile, acts)[2])
    return r


def disagreements(parts, profile: Profile | None = None) -> list[str]:
    """Everything the workbooks disagree on, one line each naming the files (for `merge`, which
    refuses them all): the clinic-month itself, any Setup setting, rosters, rates and activities."""
    profile = profile or load_profile()
    parts = [p if isinstance(p, Part) else Part(*p) for p in parts]
    r = read_parts(parts, profile)
    names = r.names
    out = []
    for name in _KEY_SETTINGS:
        values = [(names[i], (p.setup or {}).get(name)) for i, p in enumerate(parts)]
        if name == "BillingMonth":
            shown = [(f, f"{s.billing_month:%B %Y}" if s.billing_month not in (None, dt.date.min) else "blank")
                     for f, s in zip(names, r.setups)]
        else:
            shown = [(f, V.text(v) or "blank") for f, v in values]
        if len({fold(v) for _, v in shown}) > 1 or any(v == "blank" for _, v in shown if name != "HealthPlan"):
            out.append(f"{_LABELS[name]} is " + " and ".join(f"{v} in {f}" for f, v in shown))
    out += _setup_conflicts(r.setups, profile, names)
    out += [f"{label} differs between {' and '.join(names)}" for _, label, _ in _other_setting_conflicts(parts)]
    out += [text for text, _ in _roster_conflicts("Staff", r.staffs, _staff_facts, names).values()]
    out += [text for text, _ in _roster_conflicts("Member", r.members, _member_facts, names).values()]
    out += list(_rate_conflicts(r.rates, profile, names).values())
    out += list(_activity_conflicts(r.activities, names).values())
    return out


# ---------------------------------------------------------------------------
# The close
# ---------------------------------------------------------------------------
def close_clinic_month(parts, profile: Profile | None = None, *, close_date: dt.date | None = None,
                       billing_month=None) -> ClinicMonth:
    """Close the rows of several workbooks as one month (R2). See the module's doc."""
    profile = profile or load_profile()
    parts = [p if isinstance(p, Part) else Part(*p) for p in parts]
    names = [p.name for p in parts]
    n = len(parts)
    if n > 1:
        keys = {month_key(p.setup, profile, billing_month) for p in parts}
        if None in keys or len(keys) > 1:
            raise ValueError(" and ".join(names) + " are not one clinic-month: each needs the same billing NPI, "
                             "billing month and health plan on Setup")
    reading = read_parts(parts, profile, billing_month)
    ts, staff_t, member_t = reading.timesheets, reading.staff_tables, reading.member_tables
    setups, staffs, members, rates, acts, minutes_in = (reading.setups, reading.staffs, reading.members,
                                                        reading.rates, reading.activities, reading.minutes)
    own = [list(reading.setup_problems[i]) + reading.rate_problems[i] + reading.activity_problems[i]
           for i in range(n)]           # problems each part shows as they are

    conflicts = []
    notes = {}     # ('R9',) -> the reason every row is held (Setup disagrees)

    # -- Setup: the settings that shape the money must agree ------------------------------
    setup_diffs = _setup_conflicts(setups, profile, names)
    if setup_diffs:
        reason = ("Setup differs between the workbooks of this month (" + "; ".join(setup_diffs)
                  + "): no row is billed until every workbook's Setup agrees.")
        conflicts.append(("Setup", tuple(names)))
        for i in range(n):
            own[i].append(Problem("R2", ERROR, C.SETUP, None, None, reason))
        notes[("R9",)] = reason
    for name, label, used in _other_setting_conflicts(parts):   # only the 837P carries these
        reason = (f"{label} differs between " + " and ".join(names) + f": the claims use {used!r} "
                  "(from the first workbook that names it). Make Setup agree before sending.")
        for i in range(n):
            own[i].append(Problem("R2", WARNING, C.SETUP, None, name, reason))

    # -- Staff and members: one listing per ID, or the rows are held ---------------------
    def combine(kind, sheet, tables, read, facts, key_column):
        """The combined roster table's rows and where each came from, the held IDs."""
        held = {}
        for key, (text, found) in _roster_conflicts(kind, read, facts, names).items():
            held[key] = text
            conflicts.append((f"{kind} {key}", tuple(dict.fromkeys(names[i] for i, _, _ in found))))
            for i, _, rec in found:
                own[i].append(Problem("R10", ERROR, sheet, rec.row, key_column,
                                      text + ". Its time is not billed until the workbooks agree.",
                                      **({"member_id": key} if kind == "Member" else {"staff_id": key})))
        taken, rows, where = {}, [], []
        for i, t in enumerate(tables):
            for j, r in enumerate(t.rows):
                row = t.first_row + j
                key = V.text(r.get(key_column))
                if key in held:
                    continue
                if key and taken.setdefault(key, i) != i:
                    # the same listing as an earlier workbook's: its own read problems still show
                    own[i].extend(q for q in read[i][1] if q.row == row)
                    continue
                rows.append(r)
                where.append((i, row))
        return Table(rows, BASE[sheet]), where, held

    staff_table, staff_where, held_staff = combine("Staff", C.STAFF, staff_t, staffs, _staff_facts, "Staff ID")
    member_table, member_where, held_members = combine("Member", C.MEMBERS, member_t, members, _member_facts,
                                                       "Member ID")

    # -- Lists: one rate per code, one verdict per activity ------------------------------
    rate_notes = _rate_conflicts(rates, profile, names)
    for label, text in rate_notes.items():
        conflicts.append((f"Rate {label}", tuple(names)))
        for i in range(n):
            own[i].append(Problem("R5", WARNING, C.LISTS, None, "Rate", text))
    code_rows = [{"HCPCS": code.hcpcs, "Modifier 1": code.modifier_1, "Modifier 2": code.modifier_2,
                  "Rate": None if code.label in rate_notes else rates[0].get(code.key)} for code in profile.codes]
    act_notes = _activity_conflicts(acts, names)
    act_rows = []
    for key in dict.fromkeys(k for a in acts for k in a):
        name, billable, why = next(a[key] for a in acts if key in a)
        if name in act_notes:
            billable = False
            conflicts.append((f"Activity {name}", tuple(names)))
            for i in range(n):
                own[i].append(Problem("R7", ERROR, C.LISTS, None, "Billable", act_notes[name]))
        act_rows.append({"Activity": name, "Billable": "Yes" if billable else "No", "Reason": why})

    # -- The timesheets, end to end -----------------------------------------------------
    starts, rows_all = [], _concat([t.rows for t in ts])
    at = BASE[C.TIMESHEET]
    for t in ts:
        starts.append(at)
        at += len(t.rows)

    def ts_where(v):
        i = bisect.bisect_right(starts, v) - 1
        return i, ts[i].first_row + (v - starts[i])

    result = close_month(Table(rows_all, BASE[C.TIMESHEET]), staff_table, member_table, parts[0].setup, profile,
                         codes=code_rows, activities=act_rows, close_date=close_date,
                         billing_month=dt.date.min if setup_diffs else billing_month)

    def where(sheet, v):
        if sheet == C.TIMESHEET:
            return ts_where(v)
        table = staff_where if sheet == C.STAFF else member_where
        return table[v - BASE[sheet]]

    def sheet_of(v):
        return C.TIMESHEET if v < BASE[C.STAFF] else C.STAFF if v < BASE[C.MEMBERS] else C.MEMBERS

    def rewrite(text, home):
        def one(m):
            v = int(m[0])
            i, row = where(sheet_of(v), v)
            return str(row) if i == home else f"{row} of {names[i]}"
        return _VIRTUAL.sub(one, text)

    for q in result.problems:
        if q.sheet not in BASE or q.row is None or q.row < BASE[q.sheet]:
            continue   # Setup and Lists: each workbook's own reading is shown instead
        i, row = where(q.sheet, q.row)
        reason = _held_reason(q, held_staff, held_members, rate_notes, act_notes, notes) or rewrite(q.reason, i)
        own[i].append(q._replace(row=row, reason=reason))

    # -- What each workbook shows, and the month as billed -------------------------------------
    def labelled(home):
        def label(v):
            i, row = ts_where(v)
            return row if i == home else (names[i], row)
        return [line._replace(source_rows=tuple(sorted(map(label, line.source_rows), key=_row_order)))
                for line in result.claim_lines]

    billed_by_part = [set() for _ in parts]
    for line in result.claim_lines:
        for v in line.source_rows:
            i, row = ts_where(v)
            billed_by_part[i].add(row)
    part_results = []
    for i in range(n):
        if n > 1:
            others = [x for x in names if x != names[i]]
            own[i].append(Problem("R2", WARNING, C.SETUP, None, None,
                                  BILLED_WITH + " and ".join(others) + " (same billing NPI, month and plan): "
                                  "Summary and Claim show the whole month; these Exceptions are this workbook's rows."))
        problems = sorted(own[i], key=_problem_order)
        part_results.append(PartClose(names[i], CloseResult(
            result.summary, labelled(i), problems, _totals(result, minutes_in[i], billed_by_part[i], problems),
            result.setup, result.members)))

    everything = [q._replace(reason=f"{names[i]}: {q.reason}") for i, pr in enumerate(part_results)
                  for q in pr.result.problems]
    combined_lines = labelled(None)
    errors = sum(1 for q in everything if q.severity == ERROR)
    totals = result.totals._replace(errors=errors, warnings=len(everything) - errors)
    return ClinicMonth(CloseResult(result.summary, combined_lines, everything, totals, result.setup, result.members),
                       part_results, conflicts)


def _held_reason(q, held_staff, held_members, rate_notes, act_notes, notes):
    """The reason a row held by a disagreement shows, in place of the engine's."""
    if q.sheet != C.TIMESHEET:
        return None
    if q.rule == "R10" and q.column == "Member ID" and q.member_id in held_members:
        return held_members[q.member_id] + ": not billed until the workbooks' Members sheets agree."
    if q.rule == "R10" and q.column == "Staff ID" and q.staff_id in held_staff:
        return held_staff[q.staff_id] + ": not billed until the workbooks' Staff sheets agree."
    if q.rule == "R5" and q.column == "HCPCS" and q.reason.startswith("No rate for "):
        for label, text in rate_notes.items():
            if q.reason.startswith(f"No rate for {label} on"):
                return text
    if q.rule == "R7" and q.column == "Activity":
        for name, text in act_notes.items():
            if q.reason.startswith(f"{name} is not reimbursable"):
                return text
    if q.rule == "R9" and ("R9",) in notes:
        return notes[("R9",)]
    return None


def _concat(row_lists):
    """One list of rows from several tables' rows (kept as columns when they share headers)."""
    if all(isinstance(r, Columns) for r in row_lists) and len({r.headers for r in row_lists}) == 1:
        return Columns(row_lists[0].headers, [c for r in row_lists for c in r.cells])
    out = []
    for r in row_lists:
        out.extend(r if not isinstance(r, Columns) else list(r))
    return out


def _row_order(r):
    return ("", r) if isinstance(r, int) else (r[0], r[1])


def _problem_order(q):
    return (SHEET_ORDER.get(q.sheet, 9), q.row or 0, int(q.rule[1:]) if q.rule[1:].isdigit() else 99, q.column or "")


def _totals(result: CloseResult, minutes_in: dict, billed: set, problems) -> Totals:
    """One workbook's rows and minutes (R14), the whole month's claims, its own problems."""
    errors = sum(1 for q in problems if q.severity == ERROR)
    t = result.totals
    billed_minutes = round(sum(minutes_in.get(r, 0.0) for r in billed), 4)
    minutes = round(sum(minutes_in.values()), 4)
    return Totals(len(minutes_in), len(billed), len(minutes_in) - len(billed), minutes, billed_minutes,
                  round(minutes - billed_minutes, 4), t.members, t.claim_lines, t.units, t.charge,
                  errors, len(problems) - errors)
