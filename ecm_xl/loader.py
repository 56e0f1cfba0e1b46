"""Tables in: the workbook's tables read into small records, with the problems found.

Like beancount's loader, each reader returns what it understood plus the
problems it found (`(records, problems)`); nothing is raised for bad data.
Pure Python with no I/O: a table is a list of dicts keyed by SPEC §3 headers,
a pandas DataFrame, or a ``Table(rows, first_row)``.
"""
from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import Iterable

from . import contract as C
from . import values as V
from .data import (ERROR, WARNING, Columns, EligibilitySpan,
                   Entry, Member, Problem, Setup, Staff, Table)
from .profile import Profile, fold
from .setting_checks import setting_problem

# ---------------------------------------------------------------------------
# Tables in
# ---------------------------------------------------------------------------
def as_table(obj, headers: Iterable[str] = (), synonyms: dict | None = None) -> Table:
    """Any accepted table form as a Table whose rows use canonical headers.

    Headers match ignoring case and spacing; `synonyms` ({folded word: header},
    `Vocabulary.header_synonyms`) adds the headers other systems use, applied
    only where the table lacks the header itself."""
    if obj is None:
        return Table([], 2)
    if isinstance(obj, Table):
        rows, first = obj.rows, obj.first_row
    elif hasattr(obj, "to_dict") and hasattr(obj, "columns"):  # a DataFrame
        rows, first = obj.astype(object).where(obj.notna(), None).to_dict("records"), 2
    else:
        rows, first = list(obj), 2
    known = dict(synonyms or {})
    known.update({fold(h): h for h in headers})
    if isinstance(rows, Columns):
        return Table(rows.renamed(_renaming(rows.headers, known)), first)
    if not known:
        return Table(list(rows), first)
    out, renames = [], {}   # one renaming per distinct set of keys; {} when none is needed
    for r in rows:
        keys = tuple(r)
        if keys not in renames:
            rename = _renaming(keys, known)
            renames[keys] = {} if all(k == v for k, v in rename.items()) else rename
        rename = renames[keys]
        out.append({rename[k]: v for k, v in r.items()} if rename else r)
    return Table(out, first)


def _renaming(keys, known: dict) -> dict:
    """{key: header} for a table's keys: a header's own spelling wins over another
    system's word for it, and no two keys are given one header."""
    own = {known[fold(k)] for k in keys if fold(k) in known and fold(k) == fold(known[fold(k)])}
    rename, taken = {}, set(own)
    for k in keys:
        h = known.get(fold(k), k)
        if h != k and fold(k) != fold(h):      # another system's word for h
            if h in taken:
                h = k
            taken.add(h)
        rename[k] = h
    return rename


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
    tax = V.text(got["TaxID"]).replace("-", "")
    for name in ("BillingNPI", "TaxID"):   # in the words `new --set` and the 837P export use
        problem = setting_problem(name, got[name])
        if problem:
            bad(name, f"{problem}.")
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
        stype = profile.staff_type(typed)
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


def read_members(table: Table, profile: Profile | None = None):
    members, problems = {}, []
    vocab = profile.vocabulary if profile is not None else None
    for row, mid, r in _identified_rows(table, "Member ID", C.MEMBERS, problems,
                                        "This member row has no Member ID, so it is ignored."):
        dates = {}
        for col in ("Date of Birth", "ECM Enrollment Date", "Eligible From", "Eligible Through"):
            v = r.get(col)
            if V.is_blank(v):
                dates[col] = None
                continue
            d, err = V.to_date(v, vocab)
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
MAX_RATE = 100_000    # dollars a unit; more is a typing slip, and charges must fit the 837's amounts


def read_rates(table: Table | None, profile: Profile):
    """Rates by code key: the workbook's Codes table where given, else the profile's.

    A workbook's Codes table is the clinic's contract: a plan code it has no rate
    for has none (the line is listed without a charge, with a warning), never
    the profile's example rate. A rate must be a finite amount under MAX_RATE."""
    problems = []
    if table is None:
        return {c.key: c.rate for c in profile.codes}, problems
    rates = {c.key: None for c in profile.codes}
    for row, r in _rows(table):
        key = (V.code(r.get("HCPCS")), V.code(r.get("Modifier 1")), V.code(r.get("Modifier 2")))
        if not key[0] or profile.code_by_key(*key) is None:
            continue  # not a plan code: rates apply only to the plan's codes
        raw = r.get("Rate")
        if V.is_blank(raw):
            rates[key] = None
            continue
        rate, err = V.to_number(raw)
        if err or not 0 <= rate < MAX_RATE:
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


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _row_problem(e: Entry, rule, severity, column, reason) -> Problem:
    return Problem(rule, severity, C.TIMESHEET, e.row, column, reason, e.date, e.staff_id, e.member_id, e.minutes)


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
    vocab = profile.vocabulary
    dates = column("Date", lambda v: V.to_date(v, vocab))
    staff_ids = column("Staff ID", V.text)
    member_ids = column("Member ID", V.text)
    service_of = column("Service", label(profile.service))
    contact_of = column("Contact", label(profile.contact))
    activity_of = column("Activity", label(lambda t: activities.get(fold(t)) if t else None))
    starts = column("Start", V.to_time)
    ends = column("End", V.to_time)
    minutes_of = column("Minutes", lambda v: V.to_minutes(v, vocab))
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
        elif minutes is not None and minutes < 1 and typed_minutes:
            # a fraction of a minute is no visit: most likely a duration (0:45) the
            # reader got as a fraction of a day
            as_day = round(minutes * 1440)
            errs.append(("R11", "Minutes", f"Minutes {_num(round(minutes, 4))} is less than one minute. If the cell "
                                           f"shows {as_day // 60}:{as_day % 60:02d}, that is a duration: type the "
                                           f"minutes ({as_day}) or format the cell as [h]:mm."))
            minutes = None
        elif minutes is not None and typed_minutes and start and end:
            span = V.minutes_between(start, end)
            if span > 0 and abs(span - minutes) > 1:
                errs.append(("R11", "Minutes",
                             f"Minutes ({_num(minutes)}) differ from End - Start ({_num(span)}: {V.clock(start)} to "
                             f"{V.clock(end)}): the documented time must support the units, so this row is not "
                             "billed until Minutes, Start or End is corrected."))
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
    return entries, problems, minutes_in


