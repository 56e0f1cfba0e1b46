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
import functools
import gc
import hashlib
import math
from collections import defaultdict
from operator import itemgetter
from typing import Iterable, NamedTuple

from . import contract as C
from . import values as V
from .data import (ERROR, WARNING, ClaimLine, CloseResult, Code, Columns, EligibilitySpan,
                   Entry, Member, Problem, Setup, Staff, SummaryRow, Table, Totals)
from .profile import Profile, canonical, fold, load_profile

SHEET_ORDER = {C.SETUP: 0, C.LISTS: 1, C.STAFF: 2, C.MEMBERS: 3, C.TIMESHEET: 4}


# ---------------------------------------------------------------------------
# Tables in
# ---------------------------------------------------------------------------
def as_table(obj, headers: Iterable[str] = ()) -> Table:
    """Any accepted table form as a Table whose rows use canonical headers."""
    if obj is None:
        return Table([], 2)
    if isinstance(obj, Table):
        rows, first = obj.rows, obj.first_row
    elif hasattr(obj, "to_dict") and hasattr(obj, "columns"):  # a DataFrame
        rows, first = obj.astype(object).where(obj.notna(), None).to_dict("records"), 2
    else:
        rows, first = list(obj), 2
    known = {fold(h): h for h in headers}
    if isinstance(rows, Columns):
        return Table(rows.renamed({h: known.get(fold(h), h) for h in rows.headers}), first)
    if not known:
        return Table(list(rows), first)
    out, renames = [], {}   # one renaming per distinct set of keys; {} when none is needed
    for r in rows:
        keys = tuple(r)
        if keys not in renames:
            rename = {k: known.get(fold(k), k) for k in keys}
            renames[keys] = {} if all(k == v for k, v in rename.items()) else rename
        rename = renames[keys]
        out.append({rename[k]: v for k, v in r.items()} if rename else r)
    return Table(out, first)


def _rows(table: Table):
    for i, row in enumerate(table.rows):
        yield table.first_row + i, row


# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------
_SETTING_RULES = {"UnitMinutes": "R1", "BillingMonth": "R9", "FilingLimitDays": "R13", "ApprovalRequired": "R15"}


def read_setup(raw: dict | None, profile: Profile, billing_month=None):
    """Setup settings keyed by defined name (or label) -> (Setup, problems)."""
    raw = raw or {}
    by_key = {fold(k): v for k, v in raw.items()}
    problems = []
    got = {}
    for s in C.SETTINGS:
        got[s.name] = by_key.get(fold(s.name), by_key.get(fold(s.label)))

    def bad(setting, reason, severity=WARNING):
        problems.append(Problem(_SETTING_RULES.get(setting, "R10"), severity, C.SETUP, None, setting, reason))

    month = None
    month_value = billing_month if billing_month is not None else got["BillingMonth"]
    if not V.is_blank(month_value):
        month, err = V.to_month(month_value)
        if err:
            bad("BillingMonth", f"Billing month {err}; no row is billed until it is fixed.", ERROR)
            month = dt.date.min  # bills nothing: every row is outside it

    def whole(setting, words, plan_value):
        """A positive whole number setting, or None (the plan's) with a problem."""
        raw = got[setting]
        if V.is_blank(raw):
            return None
        n, err = V.to_int(raw)
        if err or n <= 0:
            bad(setting, f"{words} {V.text(raw)!r} is not a positive whole number; the plan's {plan_value} was used.")
            return None
        return n

    unit = whole("UnitMinutes", "Unit minutes", profile.unit_minutes)
    limit = whole("FilingLimitDays", "Filing limit days", profile.filing_limit_days)

    approval, err = V.to_bool(got["ApprovalRequired"])
    if err:
        bad("ApprovalRequired", f"Approval required {err}; approval was required to be safe.")
        approval = True

    npi = V.text(got["BillingNPI"])
    if npi and not V.npi_is_valid(npi):
        bad("BillingNPI", f"Billing NPI {npi!r} is not a valid NPI (10 digits with a correct check digit).")
    tax = V.text(got["TaxID"]).replace("-", "")
    if tax and not (tax.isdigit() and len(tax) == 9):
        bad("TaxID", f"Tax ID {V.text(got['TaxID'])!r} is not 9 digits.")
    pos = _pos_text(got["DefaultPlaceOfService"])
    if pos and pos not in profile.places_of_service:
        bad("DefaultPlaceOfService", f"Default place of service {pos!r} is not a place of service code; the plan's default was used.")
        pos = ""

    extra = {s.name: V.text(got[s.name]) for s in C.SETTINGS
             if s.name not in Setup._fields and not V.is_blank(got[s.name])}
    setup = Setup(
        provider_name=V.text(got["ProviderName"]),
        billing_npi=npi,
        tax_id=tax,
        health_plan=V.text(got["HealthPlan"]),
        billing_month=month,
        unit_minutes=unit,
        default_diagnosis=V.code(got["DefaultDiagnosis"]),
        default_place_of_service=pos,
        filing_limit_days=limit,
        approval_required=bool(approval),
        extra=extra,
    )
    return setup, problems


def _pos_text(value) -> str:
    s = V.text(value)
    return s.zfill(2) if s.isdigit() and len(s) < 2 else s


# ---------------------------------------------------------------------------
# Staff and members
# ---------------------------------------------------------------------------
def _identified_rows(table: Table, column: str, sheet: str, problems: list, missing: str):
    """(row, id, cells) for rows with an ID; a filled row without one is a problem."""
    for row, r in _rows(table):
        key = V.text(r.get(column))
        if key:
            yield row, key, r
        elif any(not V.is_blank(v) for v in r.values()):
            problems.append(Problem("R10", WARNING, sheet, row, column, missing))


def read_staff(table: Table, profile: Profile):
    staff, problems = {}, []
    for row, sid, r in _identified_rows(table, "Staff ID", C.STAFF, problems,
                                        "This staff row has no Staff ID, so no time can be billed to it."):
        if sid in staff:
            problems.append(Problem("R10", WARNING, C.STAFF, row, "Staff ID",
                                    f"Staff ID {sid} is listed again; the first listing (row {staff[sid].row}) is used.",
                                    staff_id=sid))
            continue
        typed = V.text(r.get("Staff Type"))
        stype = canonical(profile.staff_types, typed)
        if stype is None:
            what = f"Staff Type {typed!r} is not" if typed else "Staff Type is blank; it must be"
            problems.append(Problem("R5", WARNING, C.STAFF, row, "Staff Type",
                                    f"{what} {' or '.join(profile.staff_types)}, so this staff member's time can't be coded.",
                                    staff_id=sid))
        npi = V.text(r.get("NPI"))
        if npi and not V.npi_is_valid(npi):
            problems.append(Problem("R10", WARNING, C.STAFF, row, "NPI",
                                    f"NPI {npi!r} is not a valid NPI (10 digits with a correct check digit).",
                                    staff_id=sid))
        staff[sid] = Staff(sid, V.text(r.get("Staff Name")), stype, npi, row)
    return staff, problems


def read_members(table: Table):
    members, problems = {}, []
    for row, mid, r in _identified_rows(table, "Member ID", C.MEMBERS, problems,
                                        "This member row has no Member ID, so it is ignored."):
        dates = {}
        for col in ("Date of Birth", "ECM Enrollment Date", "Eligible From", "Eligible Through"):
            v = r.get(col)
            if V.is_blank(v):
                dates[col] = None
                continue
            d, err = V.to_date(v)
            if err:
                problems.append(Problem("R8" if col.startswith("Eligible") else "R10", WARNING, C.MEMBERS, row, col,
                                        f"{col} {err}.", member_id=mid))
            dates[col] = d
        start, end = dates["Eligible From"], dates["Eligible Through"]
        span = None
        if start is None:
            if V.is_blank(r.get("Eligible From")):
                problems.append(Problem("R8", WARNING, C.MEMBERS, row, "Eligible From",
                                        f"Eligible From is blank, so this row gives member {mid} no eligibility.",
                                        member_id=mid))
        elif end is not None and end < start:
            problems.append(Problem("R8", WARNING, C.MEMBERS, row, "Eligible Through",
                                    f"Eligible Through {V.us_date(end)} is before Eligible From {V.us_date(start)}, "
                                    f"so this row gives member {mid} no eligibility.", member_id=mid))
        else:
            span = EligibilitySpan(start, end, row)
        old = members.get(mid)
        if old is None:
            members[mid] = Member(
                member_id=mid, last_name=V.text(r.get("Last Name")), first_name=V.text(r.get("First Name")),
                birth_date=dates["Date of Birth"], sex=V.text(r.get("Sex")).upper()[:1],
                enrollment_date=dates["ECM Enrollment Date"], diagnosis=V.code(r.get("Diagnosis Code")),
                spans=(span,) if span else (), row=row,
                address=V.text(r.get("Address")), city=V.text(r.get("City")),
                state=V.text(r.get("State")).upper(), zip=V.text(r.get("ZIP")))
        else:
            members[mid] = old._replace(
                spans=old.spans + ((span,) if span else ()),
                enrollment_date=old.enrollment_date or dates["ECM Enrollment Date"],
                diagnosis=old.diagnosis or V.code(r.get("Diagnosis Code")),
                birth_date=old.birth_date or dates["Date of Birth"])
    return members, problems


# ---------------------------------------------------------------------------
# Lists: the clinic's rates and activities
# ---------------------------------------------------------------------------
def read_rates(table: Table | None, profile: Profile):
    """Rates by code key: the workbook's Codes table where given, else the profile's."""
    rates = {c.key: c.rate for c in profile.codes}
    problems = []
    if table is None or not table.rows:
        return rates, problems
    for row, r in _rows(table):
        key = (V.code(r.get("HCPCS")), V.code(r.get("Modifier 1")), V.code(r.get("Modifier 2")))
        if not key[0] or profile.code_by_key(*key) is None:
            continue  # not a plan code: rates apply only to the plan's codes
        raw = r.get("Rate")
        if V.is_blank(raw):
            rates[key] = None
            continue
        rate, err = V.to_minutes(raw)  # any number
        if err or rate < 0:
            problems.append(Problem("R5", WARNING, C.LISTS, row, "Rate",
                                    f"Rate {V.text(raw)!r} for {' '.join(k for k in key if k)} is not an amount; the line is not priced."))
            rates[key] = None
        else:
            rates[key] = round(float(rate), 2)
    return rates, problems


def read_activities(table: Table | None, profile: Profile):
    """Activity name (folded) -> (name, billable, reason)."""
    acts = {fold(a.name): (a.name, a.billable, a.reason) for a in profile.activities}
    if table is None or not table.rows:
        return acts, []
    problems = []
    for row, r in _rows(table):
        name = V.text(r.get("Activity"))
        if not name:
            continue
        billable, err = V.to_bool(r.get("Billable"))
        if err:
            problems.append(Problem("R7", WARNING, C.LISTS, row, "Billable",
                                    f"Billable for activity {name!r} {err}; it is treated as not billable."))
            billable = False
        reason = V.text(r.get("Reason")) or (acts.get(fold(name), ("", True, ""))[2])
        acts[fold(name)] = (name, billable, reason)
    return acts, problems


# ---------------------------------------------------------------------------
# Timesheet rows
# ---------------------------------------------------------------------------
_KEY_CELLS = ("Date", "Staff ID", "Member ID", "Service", "Contact", "Start", "End", "Minutes")


def by_value(values: list, read) -> list:
    """[read(v) for v in values], reading each distinct value once.

    Column by column, a month's cells repeat the same dates, labels and
    minutes thousands of times; a dict lookup per cell is far cheaper than a
    call. Falls back to one call per cell for unhashable values, and for
    columns holding True/False (True == 1 would share an entry with 1)."""
    try:
        distinct = set(values)
    except TypeError:
        return [read(v) for v in values]
    if any(v.__class__ is bool for v in distinct):
        return [read(v) for v in values]
    seen = {v: read(v) for v in distinct}
    return list(map(seen.__getitem__, values))


def read_timesheet(table: Table, profile: Profile, activities: dict):
    """Timesheet rows -> (entries, problems, minutes by row for every non-blank row)."""
    entries, problems, minutes_in = [], [], {}
    rows = table.rows
    services = " or ".join(profile.services)
    contacts = ", ".join(c.name for c in profile.contacts)

    def column(name, read):
        if isinstance(rows, Columns):  # a reader's rows: the column is already there
            return by_value(rows.column(name), read)
        try:  # rows from one source share one set of keys: fetch the column in C
            cells = list(map(itemgetter(name), rows))
        except KeyError:
            cells = [r.get(name) for r in rows]
        return by_value(cells, read)

    def label(read):
        return lambda v: (V.text(v), read(V.text(v)))

    blank = {k: column(k, V.is_blank) for k in _KEY_CELLS + ("Approved",)}
    dates = column("Date", V.to_date)
    staff_ids = column("Staff ID", V.text)
    member_ids = column("Member ID", V.text)
    service_of = column("Service", label(lambda t: canonical(profile.services, t)))
    contact_of = column("Contact", label(profile.contact))
    activity_of = column("Activity", label(lambda t: activities.get(fold(t)) if t else None))
    starts = column("Start", V.to_time)
    ends = column("End", V.to_time)
    minutes_of = column("Minutes", V.to_minutes)
    places = column("Place of Service", _pos_text)
    approvals = column("Approved", lambda v: V.to_bool(v, profile.approval_yes, profile.approval_no))
    hcpcs = column("HCPCS", V.code)
    mod1 = column("Modifier 1", V.code)
    mod2 = column("Modifier 2", V.code)
    notes = column("Notes", V.text)
    key_blanks = [blank[k] for k in _KEY_CELLS]
    date_blank = blank["Date"]

    for i, row in enumerate(range(table.first_row, table.first_row + len(rows))):
        if date_blank[i] and all(b[i] for b in key_blanks):
            continue  # a blank row, or one with only notes or helper formulas
        errs = []  # (rule, column, reason)

        date, e = dates[i] if not date_blank[i] else (None, None)
        if date is None:
            errs.append(("R11", "Date", f"Date {e}." if e else "Date is blank."))
        staff_id, member_id = staff_ids[i], member_ids[i]
        if not staff_id:
            errs.append(("R10", "Staff ID", "Staff ID is blank."))
        if not member_id:
            errs.append(("R10", "Member ID", "Member ID is blank."))

        typed, service = service_of[i]
        if service is None:
            errs.append(("R5", "Service", (f"Service {typed!r} is not" if typed else "Service is blank; it must be")
                         + f" {services}."))
        typed, contact_rec = contact_of[i]
        contact = contact_rec.name if contact_rec else None
        if contact is None:
            errs.append(("R5", "Contact", (f"Contact {typed!r} is not one of" if typed else
                                          "Contact is blank; pick one of") + f" {contacts}."))

        typed, found = activity_of[i]
        activity = found[0] if found else ""
        if typed and found is None:
            errs.append(("R7", "Activity", f"Activity {typed!r} is not on the Activities list, so it can't be "
                                           "told whether it is reimbursable. Pick one from the drop-down."))

        start = end = None
        if not blank["Start"][i]:
            start, e = starts[i]
            if e:
                errs.append(("R11", "Start", f"Start {e}."))
        if not blank["End"][i]:
            end, e = ends[i]
            if e:
                errs.append(("R11", "End", f"End {e}."))

        minutes = None
        typed_minutes = not blank["Minutes"][i]
        if typed_minutes:
            minutes, e = minutes_of[i]
            if e:
                errs.append(("R11", "Minutes", f"Minutes {e}."))
        elif start and end:
            minutes = V.minutes_between(start, end)
            if minutes <= 0:
                hint = " (type PM for an afternoon time, or use 24-hour time like 13:00)" if end.hour < 12 else ""
                errs.append(("R11", "End", f"End {V.clock(end)} is not after Start {V.clock(start)}{hint}."))
                minutes = None
        elif not any(c[1] in ("Start", "End") for c in errs):
            errs.append(("R11", "Minutes", "Minutes is blank (type the minutes, or both Start and End)."))
        if minutes is not None and not 0 < minutes <= 1440:
            errs.append(("R11", "Minutes", "Minutes must be more than 0 and at most 1,440 (24 hours); "
                                           f"this row has {_num(minutes)}."))
            minutes = None
        minutes_in[row] = minutes or 0.0

        pos = places[i]
        if pos and pos not in profile.places_of_service:
            errs.append(("R6", "Place of Service", f"Place of service {pos!r} is not a place of service code."))
        approved = None
        if not blank["Approved"][i]:
            approved, e = approvals[i]
            if e:
                errs.append(("R15", "Approved", f"Approved {e}."))

        if errs:
            for rule, col, reason in errs:
                problems.append(Problem(rule, ERROR, C.TIMESHEET, row, col, reason,
                                        date, staff_id or None, member_id or None, minutes))
            continue
        entry = Entry(row, date, staff_id, member_id, service, contact, activity, start, end, minutes, pos,
                      hcpcs[i], mod1[i], mod2[i], approved, notes[i])
        entries.append(entry)
        if start and end and typed_minutes:
            span = V.minutes_between(start, end)
            if span > 0 and abs(span - minutes) >= 1:
                problems.append(_row_problem(entry, "R11", WARNING, "Minutes",
                                             f"Minutes ({_num(minutes)}) differ from End - Start ({_num(span)}); "
                                             f"the Minutes were billed."))
    return entries, problems, minutes_in


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _row_problem(e: Entry, rule, severity, column, reason) -> Problem:
    return Problem(rule, severity, C.TIMESHEET, e.row, column, reason, e.date, e.staff_id, e.member_id, e.minutes)


# ---------------------------------------------------------------------------
# Checks: plain functions (entries, context) -> problems
# ---------------------------------------------------------------------------
class Context(NamedTuple):
    profile: Profile
    setup: Setup
    staff: dict
    members: dict
    activities: dict
    unit_minutes: int
    filing_limit_days: int
    close_date: dt.date
    codes: dict = {}          # row -> the Code R5 gives it, or None


def derive_code(e: Entry, staff: dict, profile: Profile) -> Code | None:
    """The code R5 gives a row, or None when staff type or contact rule it out."""
    s = staff.get(e.staff_id)
    if s is None or s.staff_type is None:
        return None
    return profile.code_for(s.staff_type, e.service, e.contact)


def _codes_by_row(entries, staff, profile) -> dict:
    """derive_code for every entry, once per distinct staff, service and contact."""
    seen, out = {}, {}
    for e in entries:
        key = (e.staff_id, e.service, e.contact)
        code = seen.get(key, seen)
        if code is seen:
            code = seen[key] = derive_code(e, staff, profile)
        out[e.row] = code
    return out


def check_references(entries, ctx):
    """R10: Staff ID and Member ID must be on the Staff and Members sheets."""
    out = []
    for e in entries:
        if e.staff_id not in ctx.staff:
            out.append(_row_problem(e, "R10", ERROR, "Staff ID", f"Staff ID {e.staff_id} is not on the Staff sheet."))
        if e.member_id not in ctx.members:
            out.append(_row_problem(e, "R10", ERROR, "Member ID", f"Member ID {e.member_id} is not on the Members sheet."))
    return out


def check_codes(entries, ctx):
    """R4, R5, R6: mass communication never bills; codes follow the code table."""
    out = []
    modes = {c.name: c.mode for c in ctx.profile.contacts}  # entries hold the profile's contact names
    for e in entries:
        if not modes[e.contact]:
            out.append(_row_problem(e, "R4", ERROR, "Contact",
                                    f"{e.contact} is never billable: mass mailings, distribution emails and bulk texts "
                                    "are not outreach or care. Use Text/Email only for a message written to this member."))
            continue
        s = ctx.staff.get(e.staff_id)
        if s is None:
            continue  # R10 says why
        if s.staff_type is None:
            out.append(_row_problem(e, "R5", ERROR, "Staff ID",
                                    f"Staff {e.staff_id} has no valid Staff Type on the Staff sheet (row {s.row}), "
                                    "so the code can't be chosen."))
            continue
        code = ctx.codes[e.row]
        if code is None:
            out.append(_row_problem(e, "R5", ERROR, "Service",
                                    f"The plan's code table has no code for {s.staff_type} staff, {e.service}, {e.contact}."))
            continue
        typed = (e.hcpcs, e.modifier_1, e.modifier_2)
        if any(typed):
            want = code.key
            for col, got, exp in zip(("HCPCS", "Modifier 1", "Modifier 2"), typed, want):
                if got and got != exp:
                    known = ctx.profile.code_by_key(*[t or w for t, w in zip(typed, want)])
                    said = " ".join(t for t in typed if t)
                    what = "is a plan code, but not" if known else "is not a code combination in the plan's code table, and not"
                    out.append(_row_problem(e, "R6", ERROR, col,
                                            f"The row says {said}, which {what} the one for {s.staff_type} staff, "
                                            f"{e.service}, {e.contact}: that is {code.label}. "
                                            "Clear the code cells or correct them."))
                    break
    return out


def check_activity(entries, ctx):
    """R7: administrative, billing and other-contract time is never billed."""
    out = []
    for e in entries:
        if e.activity:
            name, billable, reason = ctx.activities[fold(e.activity)]
            if not billable:
                out.append(_row_problem(e, "R7", ERROR, "Activity",
                                        f"{name} is not reimbursable" + (f" ({reason})." if reason else ".")
                                        + " The time stays on the timesheet but is not billed."))
    return out


def check_eligibility(entries, ctx):
    """R8: the member must be eligible on the service date. R3: outreach only before enrollment."""
    out = []
    for e in entries:
        m = ctx.members.get(e.member_id)
        if m is None:
            continue
        if not any((s.start is None or s.start <= e.date) and (s.end is None or e.date <= s.end) for s in m.spans):
            spans = "; ".join(f"{V.us_date(s.start) or 'any date'} to {V.us_date(s.end) or 'open'}" for s in m.spans)
            out.append(_row_problem(e, "R8", ERROR, "Date",
                                    f"Member {e.member_id} is not eligible on {V.us_date(e.date)}"
                                    + (f" (eligible {spans})." if spans else " (no eligibility on the Members sheet).")))
        enrolled = m.enrollment_date
        if e.service == ctx.profile.outreach_service and enrolled is not None and e.date >= enrolled:
            out.append(_row_problem(e, "R3", ERROR, "Service",
                                    f"Outreach is billable only before enrollment; member {e.member_id} enrolled in ECM "
                                    f"on {V.us_date(enrolled)}. Record this time as {ctx.profile.care_service}."))
        if e.service == ctx.profile.care_service and (enrolled is None or e.date < enrolled):
            out.append(_row_problem(e, "R3", WARNING, "Service",
                                    f"{ctx.profile.care_service} dated before member {e.member_id} enrolled in ECM"
                                    + (f" ({V.us_date(enrolled)})" if enrolled else " (no ECM Enrollment Date on Members)")
                                    + ": billed, but check the enrollment date."))
    return out


def check_period(entries, ctx):
    """R9: when Setup names a billing month, other months wait for their own close. R13: filing limit."""
    out = []
    month = ctx.setup.billing_month
    month_end = functools.cache(V.month_end)  # a month's rows share a few dozen dates
    for e in entries:
        if month is not None and (e.date.year, e.date.month) != (month.year, month.month):
            where = "the billing month on Setup can't be read" if month == dt.date.min else \
                f"the billing month on Setup is {month:%B %Y}"
            out.append(_row_problem(e, "R9", ERROR, "Date",
                                    f"Dated {V.us_date(e.date)}, but {where}: this row belongs to another month's close."))
            continue
        late = (ctx.close_date - month_end(e.date)).days
        if late > ctx.filing_limit_days:
            out.append(_row_problem(e, "R13", WARNING, "Date",
                                    f"Service on {V.us_date(e.date)} is {late} days past the end of its month, beyond the "
                                    f"plan's {ctx.filing_limit_days}-day filing limit: billed, but the plan may deny it."))
    return out


def check_approval(entries, ctx):
    """R15: with approval required, only approved rows bill."""
    if not ctx.setup.approval_required:
        return []
    return [_row_problem(e, "R15", ERROR, "Approved",
                         "Approval is required (Setup) and this row is not marked Approved by a supervisor.")
            for e in entries if e.approved is not True]


def check_duplicates(entries, ctx):
    """R12: a row identical to an earlier one is billed once."""
    out, first = [], {}
    for e in entries:
        key = (e.date, e.staff_id, e.member_id, e.service, e.contact, e.start, round(e.minutes, 4))
        if key in first:
            out.append(_row_problem(e, "R12", ERROR, "Date",
                                    f"Same date, staff, member, service, contact, start and minutes as row {first[key]}: "
                                    "billed once, on that row."))
        else:
            first[key] = e.row
    return out


def check_staff_day(entries, ctx, skip=frozenset()):
    """R11: one staff member's rows must not overlap, nor pass 24 hours in a day."""
    out = []
    days = defaultdict(list)
    for e in entries:
        if e.row not in skip:
            days[(e.staff_id, e.date)].append(e)
    for (staff_id, date), rows in days.items():
        total = sum(e.minutes for e in rows)
        if total > 1440:
            for e in rows:
                out.append(_row_problem(e, "R11", ERROR, "Minutes",
                                        f"Staff {staff_id}'s rows on {V.us_date(date)} add up to {_num(round(total / 60, 2))} "
                                        "hours, more than a day holds."))
            continue
        timed = sorted((V.seconds(e.start), V.add_minutes(e.start, e.minutes), e) for e in rows if e.start)
        flagged = {}
        latest = None  # (end, entry) reaching furthest so far
        for begin, finish, e in timed:
            if latest and begin < latest[0]:
                flagged.setdefault(e.row, (e, latest[1].row))
                flagged.setdefault(latest[1].row, (latest[1], e.row))
            if latest is None or finish > latest[0]:
                latest = (finish, e)
        for e, other in flagged.values():
            out.append(_row_problem(e, "R11", ERROR, "Start",
                                    f"Staff {staff_id}'s time on {V.us_date(date)} overlaps row {other}; "
                                    "one person can't be in two places at once."))
    return out


CHECKS = (check_references, check_codes, check_activity, check_eligibility, check_period, check_approval)


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
    """Timesheet rows as '5-7, 12': every billed unit traced to its time."""
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
