"""What was sent (SPEC §5): the Submissions record, and what each claim's next export is.

Pure: rows in, decisions out (no files, no clock, no openpyxl), so the
headless export, the xlwings layer and xlwings Lite all decide alike.

    history = read_history(submissions_table_rows)
    numbers = payer_claim_numbers(remittance_table_rows)
    for d in plan_claims(claims_by_id(result.claim_lines), history, numbers):
        d.action, d.frequency, d.message

The rule (837P CLM05-3): a claim never sent is an original (1); sent before
and changed is a replacement (7); sent before and no longer billed is a void
(8); sent before and unchanged is not sent again unless `resend`. A 7 or an 8
needs the payer's claim number (REF*F8): without it the claim is held back.
"Changed" is judged by a fingerprint of what the payer is billed: member,
codes, units, charges, dates, place of service, diagnosis.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import NamedTuple

from . import contract as C
from .data import ClaimLine
from .values import text as _text

SENT, HELD = "sent", "held"
ORIGINAL, REPLACEMENT, VOID = "1", "7", "8"
FREQUENCY_WORDS = {ORIGINAL: "original", REPLACEMENT: "replacement", VOID: "void"}
# actions of a decision
SEND_ORIGINAL, SEND_REPLACEMENT, SEND_VOID = "original", "replacement", "void"
UNCHANGED, HOLD, DONE = "unchanged", "held", "voided"
SENDING = (SEND_ORIGINAL, SEND_REPLACEMENT, SEND_VOID)
REVERSED = "reversed"      # a Remittance Claim Status whose payer claim number no longer stands

PAYER_CLAIM_HINT = ("post the plan's 835 (ecm-xl remit) or give the number with "
                    "--payer-claim {claim}=NUMBER")


class Sent(NamedTuple):
    """One row of the Submissions table."""

    claim_id: str
    member_id: str
    month: dt.date | None
    lines: str               # lines_text(): codes, units, charge, dates, place, diagnosis
    units: int
    charge: float
    fingerprint: str
    frequency: str           # "1", "7", "8"
    payer_claim: str
    file: str
    control_number: str      # the interchange control number, 9 digits ('' for a CSV)
    sent: dt.datetime | None
    status: str              # sent / held
    note: str

    def row(self) -> dict:
        """The row as {Submissions header: value}, ready for a table writer."""
        values = (self.claim_id, self.member_id, self.month, self.lines, self.units, self.charge,
                  self.fingerprint, int(self.frequency) if self.frequency.isdigit() else self.frequency,
                  self.payer_claim, self.file, self.control_number, self.sent, self.status, self.note)
        return {h: (None if v == "" else v) for h, v in zip(C.SUBMISSION_HEADERS, values)}

    @property
    def where(self) -> str:
        """'10/5/2026 09:30 in october.837 (interchange 000000007)': when and in which file it went."""
        when = f"{self.sent:%m/%d/%Y %H:%M}" if self.sent else "at an unknown time"
        icn = f" (interchange {self.control_number})" if self.control_number else ""
        return f"{when} in {self.file or 'an unnamed file'}{icn}"


class Decision(NamedTuple):
    """What this export does with one claim."""

    claim_id: str
    action: str              # original / replacement / void / unchanged / held / voided
    frequency: str           # "1", "7", "8" (held: the one it waits to go as); "" when unchanged
    payer_claim: str         # REF*F8 for a 7 or 8
    lines: list              # the ClaimLines to send (a void's are rebuilt from the record)
    previous: Sent | None    # the last time it was sent
    message: str             # for unchanged / held: one line a clerk reads

    @property
    def sending(self) -> bool:
        return self.action in SENDING


# ---------------------------------------------------------------------------
# A claim's content
# ---------------------------------------------------------------------------
def claims_by_id(lines) -> dict:
    """Claim ID -> its ClaimLines, in order."""
    out: dict = {}
    for line in lines:
        out.setdefault(line.claim_id, []).append(line)
    return out


def _money(value) -> str:
    return "" if value is None else f"{round(float(value), 2):.2f}"


def _dx(code) -> str:
    return (code or "").replace(".", "").replace(" ", "").upper()


def fingerprint(lines) -> str:
    """16 hex digits that change when anything the payer is billed for changes.

    Member, and per line (in order): HCPCS and modifiers, units, charge,
    service dates, place of service and diagnosis. Names, addresses and the
    Timesheet rows behind a line are not part of it.
    """
    lines = list(lines)
    parts = [lines[0].member_id if lines else ""]
    for l in lines:
        parts.append("|".join((l.hcpcs, l.modifier_1, l.modifier_2, str(int(l.units)), _money(l.charge),
                               l.from_date.isoformat(), l.to_date.isoformat(), l.place_of_service,
                               _dx(l.diagnosis))))
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16].upper()


def lines_text(lines) -> str:
    """A claim's lines as a clerk reads them and `parse_lines` reads them back.

    'G9008:U1 x2 $320.00 2026-10-01/2026-10-08 POS 11 DX Z59.00; G9012:U2:GQ x1 ...'
    """
    out = []
    for l in lines:
        code = ":".join(p for p in (l.hcpcs, l.modifier_1, l.modifier_2) if p)
        out.append(f"{code} x{int(l.units)} ${_money(l.charge) or '0.00'} "
                   f"{l.from_date.isoformat()}/{l.to_date.isoformat()} POS {l.place_of_service or '-'} "
                   f"DX {l.diagnosis or '-'}")
    return "; ".join(out)


_LINE = re.compile(r"^(?P<code>[A-Z0-9:]+) x(?P<units>\d+) \$(?P<charge>-?[\d.]+) "
                   r"(?P<start>\d{4}-\d\d-\d\d)/(?P<end>\d{4}-\d\d-\d\d) POS (?P<pos>\S+) DX (?P<dx>\S+)$")


def parse_lines(text: str) -> list[dict] | None:
    """lines_text() read back: [{hcpcs, modifier_1, modifier_2, units, charge, from_date, to_date,
    place_of_service, diagnosis}], or None when the text was not written by lines_text."""
    out = []
    for part in (p.strip() for p in (text or "").split(";")):
        if not part:
            continue
        m = _LINE.match(part)
        if not m:
            return None
        code = m["code"].split(":") + ["", ""]
        out.append({"hcpcs": code[0], "modifier_1": code[1], "modifier_2": code[2], "units": int(m["units"]),
                    "charge": float(m["charge"]), "from_date": dt.date.fromisoformat(m["start"]),
                    "to_date": dt.date.fromisoformat(m["end"]),
                    "place_of_service": "" if m["pos"] == "-" else m["pos"],
                    "diagnosis": "" if m["dx"] == "-" else m["dx"]})
    return out or None


def month_of(lines) -> dt.date | None:
    lines = list(lines)
    return lines[0].from_date.replace(day=1) if lines else None


def sent_row(claim_id: str, lines, *, frequency: str, file: str, control_number: str, sent: dt.datetime,
             status: str = SENT, payer_claim: str = "", note: str = "") -> Sent:
    """The Submissions row for a claim sent (or held) in this export."""
    lines = list(lines)
    return Sent(claim_id, lines[0].member_id if lines else "", month_of(lines), lines_text(lines),
                sum(int(l.units) for l in lines), round(sum(round(l.charge or 0, 2) for l in lines), 2),
                fingerprint(lines), frequency, payer_claim, file, control_number, sent, status, note)


# ---------------------------------------------------------------------------
# Reading the record
# ---------------------------------------------------------------------------
def _date(value):
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and 1 < value < 2958466:       # an Excel serial
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=float(value))
    if isinstance(value, str) and value.strip():
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _whole(value) -> str:
    """A number typed or stored as a number, as its digits: 7.0 -> '7'; text as it is."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text(value)


def _number(value, default=0.0) -> float:
    try:
        return float(str(value).replace(",", "").replace("$", "")) if _text(value) else default
    except ValueError:
        return default


def read_history(rows) -> dict:
    """Claim ID -> its Submissions rows (Sent), oldest first by Sent (ties in table order),
    from table rows keyed by header."""
    out: dict = {}
    for r in rows:
        cid = _text(r.get("Claim ID"))
        if not cid:
            continue
        month = _date(r.get("Month"))
        icn = _whole(r.get("Interchange Control Number"))
        out.setdefault(cid, []).append(Sent(
            cid, _text(r.get("Member ID")), month.date() if month else None, _text(r.get("Lines")),
            int(_number(r.get("Units"))), round(_number(r.get("Charge")), 2), _text(r.get("Fingerprint")).upper(),
            _whole(r.get("Frequency")), _whole(r.get("Payer Claim Number")), _text(r.get("File")),
            icn.zfill(9) if icn.isdigit() else icn, _date(r.get("Sent")), _text(r.get("Status")).lower(),
            _text(r.get("Note"))))
    never = dt.datetime.min
    return {cid: sorted(rows, key=lambda s: s.sent or never) for cid, rows in out.items()}  # stable: ties keep row order


def last_sent(history: list) -> Sent | None:
    """The newest row of a claim that was sent (a held row sends nothing)."""
    return next((s for s in reversed(history or []) if s.status == SENT), None)


def control_numbers(history: dict) -> list[int]:
    """Every interchange control number the record holds."""
    return sorted({int(s.control_number) for h in history.values() for s in h if s.control_number.isdigit()})


def payer_claim_numbers(remittance_rows) -> dict:
    """Claim ID -> the payer's claim number: the newest Remittance row whose status is not reversed."""
    out: dict = {}
    for r in remittance_rows or ():
        cid, number = _text(r.get("Claim ID")), _whole(r.get("Payer Claim Number"))
        if cid and number and _text(r.get("Claim Status")).lower() != REVERSED:
            out[cid] = number
    return out


# ---------------------------------------------------------------------------
# The decision
# ---------------------------------------------------------------------------
def void_lines(previous: Sent, member=None, setup=None) -> list | None:
    """A void's claim lines, rebuilt from what was sent; None when the record can't say."""
    parsed = parse_lines(previous.lines)
    if not parsed:
        return None
    npi = getattr(setup, "billing_npi", "") or ""
    tax = getattr(setup, "tax_id", "") or ""
    out = []
    for n, p in enumerate(parsed, start=1):
        rate = round(p["charge"] / p["units"], 2) if p["units"] else None
        out.append(ClaimLine(previous.claim_id, n, previous.member_id, member.name if member else "",
                             member.birth_date if member else None, p["from_date"], p["to_date"],
                             p["place_of_service"], p["hcpcs"], p["modifier_1"], p["modifier_2"], p["units"],
                             rate, p["charge"], p["diagnosis"], npi, tax, 0.0, ()))
    return out


def plan_claims(claims: dict, history: dict, payer_claims: dict | None = None, *, resend: bool = False,
                months=None, members: dict | None = None, setup=None,
                hint: str = PAYER_CLAIM_HINT) -> list[Decision]:
    """Each claim's fate in this export, billed claims first (in order), then voids.

    claims: Claim ID -> ClaimLines billed now. history: read_history(). payer_claims:
    Claim ID -> payer's claim number (Remittance, or typed). months: the
    billing months this close covers (a recorded claim of another month is
    never voided here); None = any. members: Member ID -> Member, for voids.
    """
    payer_claims = payer_claims or {}
    out = []

    def needs_number(cid, action, freq, lines, prev):
        number = payer_claims.get(cid, "")
        if number:
            return Decision(cid, action, freq, number, lines, prev, "")
        word = FREQUENCY_WORDS[freq]
        why = "has changed" if freq == REPLACEMENT else "is no longer billed"
        return Decision(cid, HOLD, freq, "", lines, prev,
                        f"{cid}: held back: sent {prev.where}, it {why}, so it goes as a {word} ({freq}), "
                        f"which needs the payer's claim number: {hint.format(claim=cid)}")

    for cid, lines in claims.items():
        prev = last_sent(history.get(cid))
        if prev is None or prev.frequency == VOID:
            out.append(Decision(cid, SEND_ORIGINAL, ORIGINAL, "", lines, prev, ""))
        elif prev.fingerprint != fingerprint(lines):
            out.append(needs_number(cid, SEND_REPLACEMENT, REPLACEMENT, lines, prev))
        elif resend:
            if prev.frequency == REPLACEMENT:
                out.append(needs_number(cid, SEND_REPLACEMENT, REPLACEMENT, lines, prev))
            else:
                out.append(Decision(cid, SEND_ORIGINAL, ORIGINAL, "", lines, prev, ""))
        else:
            out.append(Decision(cid, UNCHANGED, "", "", lines, prev,
                                f"{cid}: not sent again: unchanged since it went {prev.where} "
                                "(--resend sends it again)"))
    for cid, rows in history.items():
        if cid in claims:
            continue
        prev = last_sent(rows)
        if prev is None or (months is not None and prev.month not in months):
            continue
        if prev.frequency == VOID:
            out.append(Decision(cid, DONE, "", "", [], prev, ""))
            continue
        member = (members or {}).get(prev.member_id)
        lines = void_lines(prev, member, setup)
        if lines is None or member is None:
            what = ("its lines in the Submissions record are not readable" if lines is None
                    else f"member {prev.member_id} is no longer on the Members sheet")
            out.append(Decision(cid, HOLD, VOID, "", [], prev,
                                f"{cid}: held back: sent {prev.where} and no longer billed, but the void "
                                f"can't be written because {what}"))
            continue
        out.append(needs_number(cid, SEND_VOID, VOID, lines, prev))
    return out
