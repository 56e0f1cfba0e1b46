"""The rules as checks: plain functions `(entries, context) -> problems`.

Each check looks at the time entries the loader read and names what can't
bill (an Error) or should be looked at (a Warning), citing its rule (R1..R15),
the sheet row and column, in a clerk's words.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from typing import NamedTuple

from . import values as V
from .data import (ERROR, WARNING, Code, Entry, Setup)
from .profile import Profile, fold

from .loader import _num, _row_problem


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
    staff_zeros, member_zeros = _by_digits(ctx.staff), _by_digits(ctx.members)
    for e in entries:
        if e.staff_id not in ctx.staff:
            out.append(_row_problem(e, "R10", ERROR, "Staff ID", f"Staff ID {e.staff_id} is not on the Staff sheet"
                                    + _did_you_mean(e.staff_id, staff_zeros)))
        if e.member_id not in ctx.members:
            out.append(_row_problem(e, "R10", ERROR, "Member ID", f"Member ID {e.member_id} is not on the Members sheet"
                                    + _did_you_mean(e.member_id, member_zeros)))
    return out


def _by_digits(ids) -> dict:
    """{ID without its leading zeros: [IDs]} for the IDs that start with a zero."""
    out = defaultdict(list)
    for i in ids:
        if i[:1] == "0" and i.lstrip("0"):
            out[i.lstrip("0")].append(i)
    return out


def _did_you_mean(typed: str, zeros: dict) -> str:
    """'; did you mean 000456789? ...' when the ID matches one once its leading zeros are back."""
    found = zeros.get(typed.lstrip("0"), ()) if typed.lstrip("0") else ()
    if not found:
        return "."
    return (f"; did you mean {' or '.join(found)}? A spreadsheet drops leading zeros from an ID it takes "
            "for a number: type the ID as text (start it with an apostrophe) and close again.")


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
        col = next((c for c, got, exp in zip(("HCPCS", "Modifier 1", "Modifier 2"), typed, code.key)
                    if got and got != exp), None)
        if col is not None:
            said = " ".join(t for t in typed if t)
            stale = filled_for(typed, e, ctx.profile)
            if stale is not None:   # most likely filled for the staff member's earlier Staff Type
                out.append(_row_problem(e, "R6", ERROR, col,
                                        f"The row says {said}, the code for {stale} staff, but Staff {e.staff_id} is "
                                        f"{s.staff_type} on the Staff sheet ({code.label}). If the Staff Type was "
                                        f"corrected after the codes were filled, refresh them: {REFRESH_HOW}. "
                                        f"If {said} is right, correct the Staff Type."))
                continue
            known = ctx.profile.code_by_key(*[t or w for t, w in zip(typed, code.key)])
            what = "is a plan code, but not" if known else "is not a code combination in the plan's code table, and not"
            out.append(_row_problem(e, "R6", ERROR, col,
                                    f"The row says {said}, which {what} the one for {s.staff_type} staff, "
                                    f"{e.service}, {e.contact}: that is {code.label}. "
                                    "Clear the code cells or correct them."))
    return out


# How a clerk brings code cells filled for an earlier Staff Type up to date (R6 names it).
REFRESH_HOW = "use Refresh codes in Excel, or run ecm-xl fill WORKBOOK --refresh-codes"


def filled_for(typed: tuple, e: Entry, profile: Profile) -> str | None:
    """The other staff type whose R5 code the row's code cells hold in full (as
    fill derives them for the row's service and contact), or None."""
    for other in profile.staff_types:
        code = profile.code_for(other, e.service, e.contact)
        if code is not None and code.key == typed:
            return other
    return None


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
        if e.service == ctx.profile.care_service and enrolled is not None and e.date < enrolled:
            out.append(_row_problem(e, "R3", ERROR, "Service",
                                    f"{ctx.profile.care_service} is billable only from enrollment; member {e.member_id} "
                                    f"enrolled in ECM on {V.us_date(enrolled)}, after this row's date. Not billed, and "
                                    "its minutes are not added to the month's care time. Record the time as "
                                    f"{ctx.profile.outreach_service} if it was one, or correct the date or the "
                                    "ECM Enrollment Date."))
        elif e.service == ctx.profile.care_service and enrolled is None:
            out.append(_row_problem(e, "R3", WARNING, "Service",
                                    f"Member {e.member_id} has no ECM Enrollment Date on the Members sheet: "
                                    f"{ctx.profile.care_service} billed, but add the enrollment date."))
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

