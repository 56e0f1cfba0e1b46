"""What is left to do for each claim of a month (SPEC §5): pure, no files.

From a workbook's own tables (Claim, Submissions, Remittance, Members) and a
date, each claim gets a status, the days since it was sent, the days left
before the plan's filing limit (R13: counted from the last day of the month of
service) and the next step, with the rows to fix when the plan's reason is one
the clinic can fix in the workbook:

    rows = claim_status(claims, submissions, remittance, members, filing_limit_days=180,
                        as_of=dt.date(2026, 12, 15))
    rows[0].status, rows[0].next_step, rows[0].rows_to_fix

Tables are lists of row dicts keyed by header (as the readers give them);
`members` is a data.Table (its rows and the Excel row of the first), so a fix
can name the Members rows. The headless CLI and the Excel layer both call this.
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from . import contract as C
from . import values as V

NOT_SENT, HELD, WAITING, PAID, PAID_IN_PART, DENIED, REVERSED, VOIDED, NOT_BILLED = (
    "not sent", "held", "waiting", "paid", "paid in part", "denied", "reversed", "voided", "no longer billed")
SEND, SUPPLY, WAIT, RESEND, NOTHING, FIX, APPEAL, REPLACE, VOID = (
    "send", "supply the payer's claim number", "wait", "resend", "none", "fix and replace", "appeal",
    "send the replacement", "send the void")
RESEND_AFTER_DAYS = 45      # no answer this long after sending: ask the plan and resend
ANSWERED = (PAID, PAID_IN_PART, DENIED, REVERSED)

# Denial reasons the clinic can fix in the workbook: (what to fix, where). ecm-xl's own
# reading of the codes (not the code list's text); any other reason is appealed.
CODING = ("coding", "Timesheet", ("HCPCS", "Modifier 1", "Modifier 2", "Service", "Contact"))
UNITS = ("units", "Timesheet", ("Minutes", "Start", "End"))
ELIGIBILITY = ("eligibility", "Members", ("Member ID", "Eligible From", "Eligible Through", "ECM Enrollment Date"))
DIAGNOSIS = ("diagnosis", "Members", ("Diagnosis Code",))
IDENTITY = ("member details", "Members", ("Member ID", "Last Name", "First Name", "Date of Birth"))
FIXABLE_CARC = {
    "4": CODING, "5": CODING, "8": CODING, "181": CODING, "182": CODING, "189": CODING, "199": CODING,
    "236": CODING,
    "151": UNITS, "222": UNITS,
    "26": ELIGIBILITY, "27": ELIGIBILITY, "31": ELIGIBILITY, "177": ELIGIBILITY, "200": ELIGIBILITY,
    "11": DIAGNOSIS, "146": DIAGNOSIS, "167": DIAGNOSIS,
    "14": IDENTITY, "140": IDENTITY,
}
# CO-16 (information missing) says what is missing in its remark codes.
FIXABLE_RARC = {"M76": DIAGNOSIS, "MA63": DIAGNOSIS, "M81": DIAGNOSIS, "M20": CODING, "M53": UNITS,
                "N382": IDENTITY, "MA27": IDENTITY, "MA61": IDENTITY}
NOT_APPEALED = {"18": "the plan already has this claim (a duplicate): nothing to resend",
                "45": "the plan paid its contracted rate: check the rates on the Lists sheet"}
TIMELY = "29"


class StatusRow(NamedTuple):
    claim_id: str
    member_id: str
    month: dt.date | None
    charge: float
    status: str
    sent: dt.date | None
    days_since_sent: int | None
    paid: float | None
    filing_deadline: dt.date | None
    days_left: int | None
    next_step: str
    why: str
    rows_to_fix: str
    as_of: dt.date

    def cells(self) -> list:
        return [self.claim_id, self.member_id, self.month, self.charge, self.status, self.sent,
                self.days_since_sent, self.paid, self.filing_deadline, self.days_left, self.next_step,
                self.why or None, self.rows_to_fix or None, self.as_of]


def _date(value):
    if V.is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value
    d, err = V.to_date(value)
    return None if err else d


def _day(value) -> dt.date | None:
    d = _date(value)
    return d.date() if isinstance(d, dt.datetime) else d


def _stamp(value) -> dt.datetime:
    d = _date(value)
    if d is None:
        return dt.datetime.min
    return d if isinstance(d, dt.datetime) else dt.datetime.combine(d, dt.time())


def _money(value) -> float | None:
    if V.is_blank(value):
        return None
    try:
        return round(float(str(value).replace(",", "").replace("$", "")), 2)
    except ValueError:
        return None


def _line_no(value):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _rows_of(text: str) -> list:
    """'5-7, 12' -> [5, 6, 7, 12]."""
    out = []
    for part in V.text(text).replace(";", ",").split(","):
        part = part.strip()
        if "-" in part:
            a, _, b = part.partition("-")
            if a.strip().isdigit() and b.strip().isdigit():
                out += range(int(a), int(b) + 1)
        elif part.isdigit():
            out.append(int(part))
    return out


def _rows_text(rows) -> str:
    from .engine import source_rows_text
    return source_rows_text(sorted(set(rows)))


def filing_deadline(month: dt.date | None, limit_days: int) -> dt.date | None:
    """R13: the filing limit counts from the last day of the month of service."""
    return None if month is None else V.month_end(month) + dt.timedelta(days=limit_days)


def _group(rows, key="Claim ID") -> dict:
    out = {}
    for r in rows or ():
        cid = V.text(r.get(key))
        if cid:
            out.setdefault(cid, []).append(r)
    return out


def claim_status(claims, submissions=(), remittance=(), members=None, *, filing_limit_days: int,
                 as_of: dt.date, resend_after: int = RESEND_AFTER_DAYS) -> list[StatusRow]:
    """One StatusRow per Claim ID of the Claim table, in its order."""
    subs, rems = _group(submissions), _group(remittance)
    member_rows = {}
    if members is not None:
        for i, r in enumerate(members.rows):
            mid = V.text(r.get("Member ID"))
            if mid:
                member_rows.setdefault(mid, []).append(members.first_row + i)
    out = []
    by_claim = _group(claims)
    for cid, lines in by_claim.items():
        row = _one(cid, lines, subs.get(cid, []), rems.get(cid, []), member_rows, filing_limit_days,
                   as_of, resend_after)
        out.append(_changed(row, lines, subs.get(cid, [])))
    for cid, history in subs.items():          # sent once, no longer on the Claim sheet
        if cid not in by_claim:
            out.append(_gone(cid, history, rems.get(cid, []), filing_limit_days, as_of))
    return out


def _answered(r) -> dt.datetime:
    """When the plan answered: the 835's payment date, else when it was posted."""
    paid_on = _day(r.get("Payment Date"))
    return dt.datetime.combine(paid_on, dt.time()) if paid_on else _stamp(r.get("Posted"))


def _newest(subs, sent_only=False):
    rows = [s for s in subs if not sent_only or (V.text(s.get("Status")).lower() != "held" and _date(s.get("Sent")))]
    return max(enumerate(rows), key=lambda x: (_stamp(x[1].get("Sent")), x[0]))[1] if rows else None


def _changed(row: StatusRow, lines, subs) -> StatusRow:
    """A claim whose content changed since it was last sent: the export sends it as a replacement."""
    last = _newest(subs, sent_only=True)
    if last is None or row.next_step in (SEND, SUPPLY) or V.text(last.get("Frequency")) == "8":
        return row
    sent_print = V.text(last.get("Fingerprint")).upper()
    if not sent_print or sent_print == _fingerprint(lines):
        return row
    return row._replace(next_step=REPLACE, rows_to_fix="",
                        why=f"changed since it was sent on {V.us_date(row.sent)}: export the month to send "
                            "it as a replacement (7)" + (". " + row.why if row.why else ""))


class _Line(NamedTuple):
    member_id: str
    hcpcs: str
    modifier_1: str
    modifier_2: str
    units: float
    charge: float | None
    from_date: dt.date
    to_date: dt.date
    place_of_service: str
    diagnosis: str


def _fingerprint(lines) -> str:
    """The Submissions fingerprint of the claim as the Claim sheet has it now ('' when unreadable)."""
    from .submissions import fingerprint
    try:
        recs = [_Line(V.text(l.get("Member ID")), V.code(l.get("HCPCS")), V.code(l.get("Modifier 1")),
                      V.code(l.get("Modifier 2")), float(l.get("Units") or 0), _money(l.get("Charge")),
                      _day(l.get("From Date")), _day(l.get("To Date")), V.text(l.get("Place of Service")),
                      V.text(l.get("Diagnosis Code")))
                for l in sorted(lines, key=lambda l: _line_no(l.get("Line")) or 0)]
        return fingerprint(recs)
    except (TypeError, ValueError, AttributeError):
        return ""


def _gone(cid, history, rems, limit, as_of) -> StatusRow:
    """A claim sent once that the month no longer bills: voided, or its void still to send."""
    newest = _newest(history)
    last = _newest(history, sent_only=True) or newest
    month = _day(last.get("Month"))
    month = month.replace(day=1) if month else None
    deadline = filing_deadline(month, limit)
    sent_day = _day(last.get("Sent"))
    answers = [r for r in rems if _line_no(r.get("Line")) in (0, None) and not V.is_blank(r.get("Paid"))]
    paid = round(sum(_money(r.get("Paid")) or 0.0 for r in answers), 2) if answers else None
    base = dict(claim_id=cid, member_id=V.text(last.get("Member ID")), month=month,
                charge=_money(last.get("Charge")) or 0.0, sent=sent_day,
                days_since_sent=(as_of - sent_day).days if sent_day else None, paid=paid,
                filing_deadline=deadline, days_left=(deadline - as_of).days if deadline else None,
                rows_to_fix="", as_of=as_of)
    if V.text(newest.get("Status")).lower() == "held":
        return StatusRow(status=HELD, next_step=SUPPLY, why=V.text(newest.get("Note")) or
                         "no longer billed: its void was held back at the last export", **base)
    if V.text(last.get("Frequency")) == "8" and sent_day:
        return StatusRow(status=VOIDED, next_step=NOTHING, why=f"voided on {V.us_date(sent_day)}", **base)
    return StatusRow(status=NOT_BILLED, next_step=VOID,
                     why="sent, but the month no longer bills it: export the month to send the void (8)", **base)


def _one(cid, lines, subs, rems, member_rows, limit, as_of, resend_after) -> StatusRow:
    member = V.text(lines[0].get("Member ID"))
    froms = [d for d in (_day(l.get("From Date")) for l in lines) if d]
    month = min(froms).replace(day=1) if froms else None
    charge = round(sum(_money(l.get("Charge")) or 0.0 for l in lines), 2)
    deadline = filing_deadline(month, limit)
    days_left = (deadline - as_of).days if deadline else None

    # what was sent: the newest Submissions row wins
    newest = _newest(subs)
    sent_rows = [s for s in subs if V.text(s.get("Status")).lower() != "held" and _date(s.get("Sent"))]
    last_sent = max((_stamp(s.get("Sent")) for s in sent_rows), default=None)
    sent_day = last_sent.date() if last_sent else None
    since = (as_of - sent_day).days if sent_day else None

    # what was answered: claim-level rows (Line 0) in posting order
    answers = [r for r in rems if _line_no(r.get("Line")) in (0, None) and not V.is_blank(r.get("Paid"))]
    paid = round(sum(_money(r.get("Paid")) or 0.0 for r in answers), 2) if answers else None
    # the plan's answers in the order it gave them: its payment date, then when posted
    last = max(enumerate(answers), key=lambda x: (_answered(x[1]), _stamp(x[1].get("Posted")), x[0]))[1] \
        if answers else None
    answered_at = _answered(last) if last else None

    def row(status, step, why="", fix=""):
        return StatusRow(cid, member, month, charge, status, sent_day, since, paid, deadline, days_left,
                         step, why, fix, as_of)

    if newest is not None and V.text(newest.get("Status")).lower() == "held":
        note = V.text(newest.get("Note"))
        return row(HELD, SUPPLY, note or "held back at the last export")
    if newest is not None and V.text(newest.get("Frequency")) == "8" and sent_rows:
        return row(VOIDED, NOTHING, f"voided on {V.us_date(sent_day)}")
    resent = last is not None and last_sent is not None and last_sent > answered_at
    if last is None or resent:
        if not sent_rows:
            step = SEND
            why = "closed but never sent to the plan"
            if days_left is not None and days_left < 0:
                why += f"; the filing limit passed {-days_left} days ago: ask the plan about late filing"
            return row(NOT_SENT, step, why)
        file = V.text(newest.get("File")) if newest is not None else ""
        why = f"sent {V.us_date(sent_day)}" + (f" in {file}" if file else "") + ", no answer posted yet"
        if since is not None and since > resend_after:
            return row(WAITING, RESEND, why + f" after {since} days: ask the plan whether it arrived, "
                                              "then export again with --resend")
        return row(WAITING, WAIT, why)

    status = V.text(last.get("Claim Status")).lower()
    if status == PAID:
        return row(PAID, NOTHING, "")
    if status == REVERSED:
        return row(REVERSED, WAIT, "the plan took its payment back; a corrected payment usually follows. "
                                   "If none comes, fix and replace")
    # denied or paid in part: why, and can the clinic fix it?
    posting = [r for r in rems if _stamp(r.get("Posted")) == _stamp(last.get("Posted")) and
               V.text(r.get("Check or EFT")) == V.text(last.get("Check or EFT"))]
    reasons, fixes, where = [], [], {}
    for r in posting:
        group, carc = V.text(r.get("Adjustment Group")), V.text(r.get("Adjustment Code"))
        remarks = [x.strip() for x in V.text(r.get("Remark Codes")).split(",") if x.strip()]
        if carc or remarks:
            words = V.text(r.get("Meaning"))
            if words and words not in reasons:
                reasons.append(words)
        if group == "PR" or not (carc or remarks):
            continue
        fix = FIXABLE_CARC.get(carc) or next((FIXABLE_RARC[x] for x in remarks if x in FIXABLE_RARC), None)
        if fix is None:
            fixes.append((None, carc))
            continue
        fixes.append((fix, carc))
        line = _line_no(r.get("Line"))
        where.setdefault(fix, set()).update(_source_rows(lines, line) if fix[1] == "Timesheet"
                                            else member_rows.get(member, []))
    why = " ".join(reasons)
    answer = status if status in (DENIED, PAID_IN_PART) else DENIED
    open_ = [(f, c) for f, c in fixes if not (f is None and c in NOT_APPEALED)]
    settled = "; ".join(dict.fromkeys(NOT_APPEALED[c] for f, c in fixes if f is None and c in NOT_APPEALED))
    if fixes and not open_:
        return row(answer, NOTHING, settled + (": " + why if why else ""))
    if any(f is not None for f, _c in open_):
        pointers = [f"{fix[1]} {'row' if len(set(rows)) == 1 else 'rows'} {_rows_text(rows)} ({', '.join(fix[2])})"
                    if rows else
                    f"{fix[1]} ({', '.join(fix[2])})" for fix, rows in where.items()]
        if days_left is not None and days_left < 0:
            return row(answer, APPEAL, f"past the filing limit by {-days_left} days: appeal with proof of "
                                       "timely filing. " + why, "; ".join(pointers))
        return row(answer, FIX, why, "; ".join(pointers))
    if open_ and all(c == TIMELY for _f, c in open_):
        return row(answer, APPEAL, "denied as filed too late: appeal with proof of when it was first sent. " + why)
    return row(answer, APPEAL, why or "no reason given: ask the plan")


def _source_rows(lines, line_no) -> list:
    """Timesheet rows behind one claim line (or every line when the reason is the claim's)."""
    out = []
    for l in lines:
        if line_no in (None, 0) or _line_no(l.get("Line")) == line_no:
            out += _rows_of(l.get("Source Rows"))
    return out


def status_table(rows: list[StatusRow]) -> tuple:
    """(headers, rows) for the workbook's Status table."""
    return C.STATUS_HEADERS, [r.cells() for r in rows]


def summary_counts(rows: list[StatusRow]) -> dict:
    out = {}
    for r in rows:
        out[r.status] = out.get(r.status, 0) + 1
    return out
