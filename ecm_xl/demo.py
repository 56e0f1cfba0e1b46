"""A realistic sample month for a small ECM clinic, made up from a seed.

Everything here is invented: staff and member names are obviously fake
("Testwood", "Sampleberg"), IDs only look like Medi-Cal CINs. The same seed
always gives the same month, so the demo's printed result is stable.

    month = make_month()                 # October 2026, ~40 members, several hundred rows
    month.entries[0]                     # one timesheet row, typed the way clinics type
    month.planted["R12"]                 # indexes of the rows planted to touch rule R12

The month is plain rows keyed by the SPEC §3 headers; `ecm_xl.api.demo`
turns it into a workbook through the same `new_workbook` and `fill_workbook`
a clinic uses. No file I/O here.

What the month touches, rule by rule (SPEC §2):

- R1/R2 care time adds up across staff per member and rounds up once;
  R3 outreach attempts before enrollment bill one unit each, one attempt
  after enrollment is refused and care dated before enrollment is warned;
- R4 a bulk text campaign; R5 codes left blank (derived) and one contact
  the plan does not know; R6 a hand-typed wrong code and a bad place of service;
- R7 administrative and billing time; R8 a member whose eligibility ends
  mid-month and one with two spans and a gap; R9 a late entry from September;
- R10 a mistyped member ID and an unknown staff ID; R11 an overlap, an End
  before Start and an impossible date; R12 a duplicate row;
- R13 does not fire on the default close date (the month is within the
  filing limit): close with ``close_date`` after 4/29/2027 to see it;
- R14 is the printed reconciliation; R15 approval is required and a few rows
  are still waiting for sign-off.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import NamedTuple

from .data import private



DEMO_MONTH = dt.date(2026, 10, 1)
DEMO_SEED = 2026
# The demo closes as if on this day, so its R13 result never depends on today.
DEMO_CLOSE_DATE = dt.date(2026, 11, 30)

FIRST_NAMES = ("Ana", "Luis", "Maria", "Jose", "Rosa", "Carlos", "Elena", "Miguel", "Sofia", "Jorge",
               "Lucia", "Pedro", "Carmen", "Diego", "Isabel", "Raul", "Teresa", "Manuel", "Alma", "Victor",
               "Gloria", "Ruben", "Irene", "Hector", "Nora", "Oscar", "Paula", "Samuel", "Diana", "Ernesto")
_LAST_HEADS = ("Test", "Sample", "Demo", "Fake", "Mock", "Dummy", "Pretend", "Example")
_LAST_TAILS = ("wood", "berg", "ley", "field", "ton", "worth")
CITIES = (("El Centro", "92243"), ("Calexico", "92231"), ("Brawley", "92227"), ("Imperial", "92251"),
          ("Holtville", "92250"))
DIAGNOSES = ("Z59.00", "Z59.01", "F32.9", "E11.9", "I10", "F20.9", "F41.1", "Z71.89", "")
CARE_ACTIVITIES = ("Care coordination", "Comprehensive assessment", "Care plan", "Case conference",
                   "Health promotion / education", "Member and family support", "Referral to community supports",
                   "Benefits and budget help", "Transportation arranging", "Accompany to appointment",
                   "Phone call (incl. hold time)", "Documentation / case notes", "Follow-up with PCP or provider")
NOTES = ("", "", "", "follow-up", "left voicemail", "see case notes", "scheduled next visit", "")


@private(counted=("staff", "members", "entries"))   # fake people, but shown like real ones
class DemoMonth(NamedTuple):
    month: dt.date
    settings: dict        # Setup defined name -> value
    staff: list           # rows keyed by contract.STAFF_HEADERS
    members: list         # rows keyed by contract.MEMBER_HEADERS (one per eligibility span)
    entries: list         # timesheet rows keyed by contract.TIMESHEET_HEADERS, as typed
    planted: dict         # rule ("R3") -> indexes into entries planted to touch it


def npi_with_check_digit(first9: str) -> str:
    """A 10-digit NPI whose check digit is right (Luhn over the 80840 prefix)."""
    digits = [int(c) for c in "80840" + first9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:          # doubled: these sit in odd places once the check digit follows
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return first9 + str((10 - total % 10) % 10)


def member_id(rng: random.Random) -> str:
    """Nine characters shaped like a Medi-Cal CIN: 9, seven digits, a letter."""
    return "9" + "".join(str(rng.randrange(10)) for _ in range(7)) + rng.choice("ABCDEFGHJKLMNPRSTWXY")


def _typed_date(rng, d: dt.date) -> str:
    style = rng.random()
    if style < 0.7:
        return f"{d.month}/{d.day}/{d.year}"
    if style < 0.9:
        return d.isoformat()
    return f"{d.month}/{d.day}/{d:%y}"


def _typed_time(rng, minute_of_day: int) -> str:
    h, m = divmod(minute_of_day, 60)
    if rng.random() < 0.6:
        return f"{(h - 1) % 12 + 1}:{m:02d} {'AM' if h < 12 else 'PM'}"
    return f"{h:02d}:{m:02d}"


def _typed_minutes(rng, minutes: int) -> str:
    style = rng.random()
    if style < 0.7:
        return str(minutes)
    if style < 0.9:
        return f"{minutes} min"
    return f"{minutes // 60}:{minutes % 60:02d}"


def settings_for(month: dt.date, rng: random.Random | None = None) -> dict:
    rng = rng or random.Random(DEMO_SEED)
    return {
        "ProviderName": "Sample Valley Community Clinic (demo data)",
        "BillingNPI": npi_with_check_digit("19" + "".join(str(rng.randrange(10)) for _ in range(7))),
        "TaxID": "990001234",
        "HealthPlan": "Health Net (CHPIV)",
        "BillingMonth": month,
        "UnitMinutes": 60,
        "DefaultDiagnosis": "Z71.89",
        "DefaultPlaceOfService": "11",
        "FilingLimitDays": 180,
        "ApprovalRequired": "Yes",
        "ProviderAddress": "100 Example Blvd",
        "ProviderCity": "El Centro",
        "ProviderState": "CA",
        "ProviderZip": "922430000",
        "ContactName": "Demo Billing Desk",
        "ContactPhone": "7605550100",
        "SubmitterID": "DEMO0001",
        "ReceiverName": "DEMO CLEARINGHOUSE",
        "ReceiverID": "DEMOCH01",
        "PayerName": "HEALTH NET CHPIV",
        "PayerID": "DEMOPAYER",
    }


def make_staff(count: int, rng: random.Random) -> list:
    """Staff of both types: about half clinical (with an NPI), half non-clinical."""
    out = []
    n_clin = max(1, count // 2)
    for i in range(count):
        clinical = i < n_clin
        sid = f"{'C' if clinical else 'N'}{i + 1:02d}" if count < 100 else f"{'C' if clinical else 'N'}{i + 1:05d}"
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(_LAST_HEADS)}staff"
        out.append({"Staff ID": sid, "Staff Name": name + (", RN" if clinical else ", CHW"),
                    "Staff Type": "Clinical" if clinical else "Non-clinical",
                    "NPI": npi_with_check_digit("1" + "".join(str(rng.randrange(10)) for _ in range(8)))
                    if clinical else ""})
    return out


def last_names(count: int) -> list:
    """Obviously fake last names, unique for the first 48."""
    names = [h + t for t in _LAST_TAILS for h in _LAST_HEADS]
    return [names[i % len(names)] + ("" if i < len(names) else str(i // len(names))) for i in range(count)]


class _Person(NamedTuple):
    member_id: str
    enrolled: dt.date | None
    spans: tuple          # ((from, through|None), ...)


def make_members(count: int, month: dt.date, rng: random.Random):
    """Members: most enrolled before the month, some enrolling in it, some still in outreach.

    The first three are special: index 0's eligibility ends on the 15th; index 1
    has two spans with a gap from the 10th to the 19th; index 2 enrolls on the 12th.
    """
    rows, people, seen = [], [], set()
    names = last_names(count)
    for i in range(count):
        mid = member_id(rng)
        while mid in seen:
            mid = member_id(rng)
        seen.add(mid)
        if i == 2 or (i >= count - count // 5 and i % 2 == 0):
            enrolled = month + dt.timedelta(days=11 if i == 2 else rng.randrange(8, 22))   # enrolls this month
        elif i >= count - count // 5:
            enrolled = None                                                          # outreach only
        else:
            enrolled = month - dt.timedelta(days=rng.randrange(20, 240))
        start = dt.date(month.year - 1, rng.randrange(1, 13), 1)
        if i == 0:
            spans = ((start, month.replace(day=15)),)
        elif i == 1:
            spans = ((start, month.replace(day=9)), (month.replace(day=20), None))
        else:
            spans = ((start, None),)
        city, zipcode = rng.choice(CITIES)
        base = {
            "Member ID": mid, "Last Name": names[i], "First Name": rng.choice(FIRST_NAMES),
            "Date of Birth": dt.date(rng.randrange(1948, 2006), rng.randrange(1, 13), rng.randrange(1, 29)),
            "Sex": rng.choice("FM"), "ECM Enrollment Date": enrolled,
            "Diagnosis Code": rng.choice(DIAGNOSES),
            "Address": f"{rng.randrange(100, 2000)} Example St", "City": city, "State": "CA", "ZIP": zipcode,
        }
        for n, (a, b) in enumerate(spans):
            row = dict(base) if n == 0 else {"Member ID": mid}
            row["Eligible From"], row["Eligible Through"] = a, b
            rows.append(row)
        people.append(_Person(mid, enrolled, spans))
    return rows, people


def _workdays(month: dt.date):
    d = month
    while d.month == month.month:
        if d.weekday() < 5:
            yield d
        d += dt.timedelta(days=1)


def _eligible(p: _Person, d: dt.date) -> bool:
    return any(a <= d and (b is None or d <= b) for a, b in p.spans)


def regular_entries(month, staff, people, rng, per_day=(2, 4), minutes=(15, 90)):
    """Ordinary rows: each staff member's day, visit after visit, never overlapping."""
    entries = []
    care = [p for p in people if p.enrolled and p.enrolled <= month]
    late = [p for p in people if p.enrolled is None or p.enrolled > month]
    caseload = {s["Staff ID"]: [] for s in staff}
    ids = list(caseload)
    for n, p in enumerate(care):
        caseload[ids[n % len(ids)]].append(p)
        if rng.random() < 0.35:   # team care: a second staff member sees them too
            caseload[ids[(n + 1 + rng.randrange(len(ids) - 1)) % len(ids)]].append(p)
    outreach_left = {p.member_id: rng.randrange(2, 5) for p in late}
    for day in _workdays(month):
        in_outreach = [p for p in late if p.enrolled is None or day < p.enrolled]
        enrolled_now = [p for p in late if p.enrolled and p.enrolled <= day]
        for s in staff:
            sid = s["Staff ID"]
            clock = 8 * 60 + rng.choice((0, 15, 30))
            for _ in range(rng.randint(*per_day)):
                p = rng.choice(in_outreach) if in_outreach and rng.random() < 0.2 else None
                if p is not None and outreach_left[p.member_id]:
                    outreach_left[p.member_id] -= 1
                    service, length = "Outreach attempt", rng.randrange(5, 35, 5)
                    contact = rng.choice(("Phone/Telehealth", "Phone/Telehealth", "Text/Email", "In person"))
                    activity = "Outreach and engagement"
                else:
                    p = None
                    for _try in range(4):   # someone on the caseload who is eligible today
                        pool = enrolled_now if enrolled_now and (not caseload[sid] or rng.random() < 0.15) \
                            else caseload[sid]
                        if pool:
                            cand = rng.choice(pool)
                            if _eligible(cand, day):
                                p = cand
                                break
                    if p is None:
                        continue
                    service, length = "ECM service", rng.randrange(minutes[0], minutes[1] + 1, 5)
                    contact = rng.choice(("In person", "In person", "Phone/Telehealth", "Phone/Telehealth", "Text/Email"))
                    activity = rng.choice(CARE_ACTIVITIES)
                if clock + length > 18 * 60:
                    break
                entries.append(entry(rng, day, sid, p.member_id, service, contact, activity, clock, length))
                clock += length + rng.choice((0, 5, 10, 15, 30))
    return entries


def entry(rng, day, staff_id, member, service, contact, activity, start, length, **cells) -> dict:
    """One row as a clinic types it: text dates, 12- or 24-hour times, minutes or Start/End."""
    with_times = rng.random() < 0.75
    row = {"Date": _typed_date(rng, day), "Staff ID": staff_id, "Member ID": member, "Service": service,
           "Contact": contact, "Activity": activity,
           "Start": _typed_time(rng, start) if with_times else "",
           "End": _typed_time(rng, start + length) if with_times and rng.random() < 0.7 else "",
           "Minutes": _typed_minutes(rng, length),
           "Place of Service": "12" if contact == "In person" and rng.random() < 0.25 else "",
           "HCPCS": "", "Modifier 1": "", "Modifier 2": "",
           "Approved": rng.choice(("Yes", "Yes", "Yes", "Y", "x")), "Notes": rng.choice(NOTES)}
    if row["End"] and rng.random() < 0.5:
        row["Minutes"] = ""   # minutes come from End - Start
    row.update(cells)
    return row


def make_month(seed: int = DEMO_SEED, month: dt.date = DEMO_MONTH, *, members: int = 40, staff: int = 6,
               per_day=(2, 4), planted: bool = True) -> DemoMonth:
    """A month of made-up clinic data; the same arguments always give the same month.

    >>> m = make_month()
    >>> len(m.members) >= 40 and 300 <= len(m.entries) <= 700
    True
    """
    rng = random.Random(seed)
    settings = settings_for(month, rng)
    staff_rows = make_staff(staff, rng)
    member_rows, people = make_members(members, month, rng)
    entries = regular_entries(month, staff_rows, people, rng, per_day)
    marks: dict = {}
    if planted:
        _plant(entries, marks, month, staff_rows, people, rng)
        entries, marks = _in_date_order(entries, marks)
    return DemoMonth(month, settings, staff_rows, member_rows, entries, marks)


def _in_date_order(entries, marks):
    """Rows as a clinic's sheet holds them: by date, then staff (the planted ones mixed in)."""
    from .values import to_date
    key = {id(e): ((to_date(e["Date"])[0] or dt.date.max), e["Staff ID"]) for e in entries}
    ordered = sorted(entries, key=lambda e: key[id(e)])
    where = {id(e): n for n, e in enumerate(ordered)}
    return ordered, {rule: sorted(where[id(entries[i])] for i in idx) for rule, idx in marks.items()}


def _plant(entries, marks, month, staff_rows, people, rng):
    """The rows a real month always has a few of, each marked with the rule it touches."""
    clin = next(s["Staff ID"] for s in staff_rows if s["Staff Type"] == "Clinical")
    clin2 = [s["Staff ID"] for s in staff_rows if s["Staff Type"] == "Clinical"][-1]
    nonc = next(s["Staff ID"] for s in staff_rows if s["Staff Type"] == "Non-clinical")
    ending, gap, enrolling = people[0], people[1], people[2]
    outreach_only = [p for p in people if p.enrolled is None]
    day = lambda n: month.replace(day=n)  # noqa: E731
    evening = 18 * 60 + 30   # after the regular day, so planted rows overlap nothing by accident

    def add(rule, row):
        marks.setdefault(rule, []).append(len(entries))
        entries.append(row)

    # R3: outreach before enrollment bills (one unit each), after enrollment it does not.
    add("R3", entry(rng, day(6), nonc, enrolling.member_id, "Outreach attempt", "Phone/Telehealth",
                    "Outreach and engagement", evening, 10, Minutes="10", End=""))
    add("R3", entry(rng, day(9), nonc, enrolling.member_id, "Outreach attempt", "In person",
                    "Outreach and engagement", evening, 40, Minutes="40", End=""))
    add("R3", entry(rng, day(16), nonc, enrolling.member_id, "Outreach attempt", "Phone/Telehealth",
                    "Outreach and engagement", evening, 15, Minutes="15", End=""))
    # ... and care dated before enrollment is billed with a warning.
    add("R3", entry(rng, day(8), clin, enrolling.member_id, "ECM service", "In person",
                    "Comprehensive assessment", evening, 50, Minutes="50", End=""))
    # R2 after enrollment: two staff, 50 + 20 minutes on the same member and code group.
    add("R2", entry(rng, day(20), clin, enrolling.member_id, "ECM service", "In person",
                    "Care plan", evening, 50, Minutes="50", End=""))
    add("R2", entry(rng, day(27), clin2, enrolling.member_id, "ECM service", "In person",
                    "Care coordination", evening, 20, Minutes="20", End=""))
    # R4: a bulk text campaign to members still in outreach.
    for p in outreach_only[:3]:
        add("R4", entry(rng, day(14), nonc, p.member_id, "Outreach attempt", "Mass communication",
                        "Outreach and engagement", evening + 60, 5, Minutes="5", Start="", End="",
                        Notes="flu clinic reminder text blast"))
    # R5: a contact the plan's list does not have.
    add("R5", entry(rng, day(21), clin, people[5].member_id, "ECM service", "Video", "Care coordination",
                    evening, 30, Minutes="30", End=""))
    # R6: a code typed by hand for the wrong staff type, and a place of service that is no code.
    add("R6", entry(rng, day(22), nonc, people[6].member_id, "ECM service", "In person", "Care coordination",
                    evening, 45, Minutes="45", End="", HCPCS="G9008", **{"Modifier 1": "U1"}))
    add("R6", entry(rng, day(23), clin, people[7].member_id, "ECM service", "In person", "Care plan",
                    evening, 30, Minutes="30", End="", **{"Place of Service": "7"}))
    # A code typed by hand that agrees is simply billed.
    add("R5", entry(rng, day(23), nonc, people[8].member_id, "ECM service", "Phone/Telehealth",
                    "Care coordination", evening, 25, Minutes="25", End="", HCPCS="g9012",
                    **{"Modifier 1": "u2", "Modifier 2": "GQ"}))
    # R7: administrative and billing time, recorded but never billed.
    add("R7", entry(rng, day(2), clin, people[9].member_id, "ECM service", "In person", "Administrative overhead",
                    evening, 60, Minutes="60", End=""))
    add("R7", entry(rng, day(30), nonc, people[10].member_id, "ECM service", "Phone/Telehealth",
                    "Billing / claims submission", evening, 30, Minutes="30", End=""))
    # R8: care after eligibility ended, and in the gap between two spans.
    for n in (19, 26):
        add("R8", entry(rng, day(n), clin, ending.member_id, "ECM service", "In person", "Care coordination",
                        evening, 45, Minutes="45", End=""))
    add("R8", entry(rng, day(14), nonc, gap.member_id, "ECM service", "Phone/Telehealth", "Care coordination",
                    evening, 30, Minutes="30", End=""))
    # R9: a September visit typed in late: it belongs to September's close.
    add("R9", entry(rng, month - dt.timedelta(days=1), clin, people[11].member_id, "ECM service", "In person",
                    "Care coordination", evening, 60, Minutes="60", End=""))
    # R10: a member ID with a digit missing, and a staff ID no one has.
    typo = people[12].member_id[:4] + people[12].member_id[5:]
    add("R10", entry(rng, day(7), nonc, typo, "ECM service", "In person", "Care coordination",
                     evening, 30, Minutes="30", End=""))
    add("R10", entry(rng, day(8), "S99", people[13].member_id, "ECM service", "In person", "Care coordination",
                     evening, 30, Minutes="30", End=""))
    # R11: two visits by one person at the same time, an End before Start, an impossible date.
    add("R11", entry(rng, day(13), clin, people[14].member_id, "ECM service", "In person", "Care coordination",
                     evening + 120, 60, Start="8:30 PM", End="9:30 PM", Minutes=""))
    add("R11", entry(rng, day(13), clin, people[15].member_id, "ECM service", "In person", "Care plan",
                     evening + 150, 45, Start="9:00 PM", End="", Minutes="45"))
    add("R11", entry(rng, day(15), nonc, people[16].member_id, "ECM service", "In person", "Care coordination",
                     evening, 30, Start="12:30 PM", End="1:00", Minutes=""))
    add("R11", entry(rng, day(1), nonc, people[17].member_id, "ECM service", "Phone/Telehealth",
                     "Care coordination", evening, 20, Date=f"{month.month}/32/{month.year}", Minutes="20", End=""))
    # R12: the same visit entered twice.
    first = entry(rng, day(28), clin, people[18].member_id, "ECM service", "In person", "Care coordination",
                  evening + 60, 40, Start="7:30 PM", End="", Minutes="40")
    add("R2", first)
    add("R12", dict(first))
    # R15: the last Friday's rows for one staff member are still waiting for sign-off.
    last_friday = max(d for d in _workdays(month) if d.weekday() == 4)
    for n, e in enumerate(entries):
        if e["Staff ID"] == nonc and e["Date"] in _day_texts(last_friday) and not marks_has(marks, n):
            e["Approved"] = ""
            marks.setdefault("R15", []).append(n)


def _day_texts(d: dt.date):
    return {f"{d.month}/{d.day}/{d.year}", d.isoformat(), f"{d.month}/{d.day}/{d:%y}"}


def marks_has(marks: dict, index: int) -> bool:
    return any(index in v for v in marks.values())


def rows_for_size(rows: int, seed: int = DEMO_SEED, month: dt.date = DEMO_MONTH) -> DemoMonth:
    """A clean month of about `rows` timesheet rows, rosters scaled to fit (for the benchmark)."""
    staff = max(2, round(rows / 66))            # ~3 rows a workday for 22 workdays
    members = max(10, rows // 10)
    m = make_month(seed, month, members=members, staff=staff, planted=False)
    return m._replace(entries=m.entries[:rows])


__all__ = ["DemoMonth", "make_month", "rows_for_size", "DEMO_MONTH", "DEMO_SEED", "DEMO_CLOSE_DATE",
           "npi_with_check_digit", "member_id", "last_names"]

