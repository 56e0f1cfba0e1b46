"""Post an 835 against the claims of one or more workbooks: pure, no files.

    result = post(era, {"October.xlsx": claim_rows, ...}, posted=dt.datetime.now())
    result.rows["October.xlsx"]      # Remittance table rows (contract.REMITTANCE_HEADERS order)
    result.not_ours                  # 835 claims no workbook has: reported, never dropped

Claims are matched by CLP01 (our Claim ID; an 837 claim split past 50 lines
sent its later parts as "<Claim ID>-2", ...), lines by code, modifiers and
units. Each claim gets one Line 0 row carrying its totals and status, then
one row per service line; a claim or line with several adjustments gets one
row per adjustment (only the first carries the amounts, so the Paid column
adds up). A reversal (CLP02 22) is posted as its own rows with the negative
amounts the plan sends: it undoes the payment it reverses.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from .. import contract as C
from ..values import text
from .codes import meaning, remark_meaning, status_meaning
from .era import ClaimPayment, Remittance

PAID, PAID_IN_PART, DENIED, REVERSED, NOT_OURS = "paid", "paid in part", "denied", "reversed", "not ours"
STATUSES = (PAID, PAID_IN_PART, DENIED, REVERSED, NOT_OURS)
NOT_OURS_MEANING = ("No claim with this Claim ID in the workbooks posted: it may belong to another "
                    "workbook or another provider. Ask the plan if it is not yours.")
LINE_NOT_MATCHED = "No claim line here has this code, modifiers and units. "
_PART = re.compile(r"^(.+)-(\d{1,2})$")


class NotOurs(NamedTuple):
    claim_id: str
    payer_claim: str
    billed: float
    paid: float


class PostResult(NamedTuple):
    rows: dict            # workbook key -> Remittance rows (lists) for its claims
    not_ours: list        # NotOurs
    statuses: dict        # claim status -> number of 835 claims
    paid: float           # total paid on the claims posted (reversals subtract)
    unmatched_lines: int  # service lines no claim line matched
    claims: dict          # workbook key -> Claim IDs posted there


def claim_status(cp: ClaimPayment) -> str:
    """paid, paid in part, denied or reversed, from CLP02 and the amounts."""
    if cp.status == "22":
        return REVERSED
    if cp.status in ("4", "23") or (cp.paid <= 0 < cp.billed):
        return DENIED
    if round(cp.paid, 2) < round(cp.billed, 2):
        return PAID_IN_PART
    return PAID


def _mods(values) -> tuple:
    return tuple(m for m in (text(v).upper() for v in values) if m)


def _units(value) -> float:
    try:
        return abs(float(value))
    except (TypeError, ValueError):
        return -1.0


def match_lines(cp: ClaimPayment, lines: list) -> list:
    """Our claim line (a Claim row dict) for each service line of the 835, None where none matches.

    Code, modifiers and units first; then code and modifiers (the plan paid other units);
    each claim line is matched once.
    """
    used, out = set(), []
    keyed = [(i, text(l.get("HCPCS")).upper(), _mods((l.get("Modifier 1"), l.get("Modifier 2"))),
              _units(l.get("Units"))) for i, l in enumerate(lines)]
    for svc in cp.lines:
        code, mods, units = svc.hcpcs.upper(), _mods(svc.modifiers), abs(svc.units)
        found = next((i for i, c, m, u in keyed if i not in used and c == code and m == mods and u == units), None)
        if found is None:
            found = next((i for i, c, m, _u in keyed if i not in used and c == code and m == mods), None)
        if found is not None:
            used.add(found)
        out.append(None if found is None else lines[found])
    return out


def find_claim(claim_id: str, claims: dict):
    """(workbook key, Claim ID) of an 835 CLP01 among {key: {Claim ID: lines}}, or None."""
    for key, by_id in claims.items():
        if claim_id in by_id:
            return key, claim_id
    m = _PART.match(claim_id)
    if m:
        for key, by_id in claims.items():
            if m.group(1) in by_id:
                return key, m.group(1)
    return None


def _meaning(adj, remarks) -> str:
    parts = [meaning(adj.group, adj.code)] if adj is not None else []
    parts += [remark_meaning(r) for r in remarks]
    return " ".join(parts)


def post(era: Remittance, claims: dict, posted: dt.datetime) -> PostResult:
    """Remittance rows for each workbook's claims; claims: {key: list of Claim row dicts}."""
    by_key = {}
    for key, rows in claims.items():
        by_id = {}
        for r in rows:
            cid = text(r.get("Claim ID"))
            if cid:
                by_id.setdefault(cid, []).append(r)
        by_key[key] = by_id
    out = {key: [] for key in claims}
    posted_ids = {key: [] for key in claims}
    not_ours, statuses, paid, unmatched = [], {}, 0.0, 0
    for cp in era.claims:
        status = claim_status(cp)
        where = find_claim(cp.claim_id, by_key)
        common = dict(file=era.file, date=cp.payment_date or era.payment_date, check=cp.check or era.check,
                      posted=posted)
        if where is None:
            status = NOT_OURS
            not_ours.append(NotOurs(cp.claim_id, cp.payer_claim, cp.billed, cp.paid))
            target = out.setdefault(None, [])
            target += _claim_rows(cp, status, [None] * len(cp.lines), **common)
        else:
            key, cid = where
            matched = match_lines(cp, by_key[key][cid])
            unmatched += sum(1 for m in matched if m is None)
            out[key] += _claim_rows(cp, status, matched, **common)
            if cid not in posted_ids[key]:
                posted_ids[key].append(cid)
            paid += cp.paid
        statuses[status] = statuses.get(status, 0) + 1
    return PostResult(out, not_ours, statuses, round(paid, 2), unmatched, posted_ids)


def _row(cid, cp, status, billed, paid, patient, line, code, mods, units, adj, remarks, text_, file, date,
         check, posted) -> list:
    m1, m2 = (tuple(mods) + ("", ""))[:2]
    return [cid, cp.payer_claim, status, billed, paid, patient, line, code or None, m1 or None, m2 or None,
            units, adj.group if adj else None, adj.code if adj else None, adj.amount if adj else None,
            ", ".join(remarks) or None, text_ or None, file, date, check or None, posted]


def _claim_rows(cp: ClaimPayment, status: str, matched: list, *, file, date, check, posted) -> list:
    cid = cp.claim_id
    rows = []
    adjs = list(cp.adjustments) or [None]
    for n, adj in enumerate(adjs):
        first = n == 0
        if first:
            words = _meaning(adj, cp.remarks)
            if status == NOT_OURS:
                words = NOT_OURS_MEANING + (" " + words if words else "")
            elif adj is None and not cp.remarks:
                words = f"{status_meaning(cp.status)}."
        else:
            words = _meaning(adj, ())
        rows.append(_row(cid, cp, status, cp.billed if first else None, cp.paid if first else None,
                         cp.patient if first else None, 0, None, (), None, adj,
                         cp.remarks if first else (), words, file, date, check, posted))
    for svc, ours in zip(cp.lines, matched):
        line = None
        if ours is not None:
            try:
                line = int(float(ours.get("Line")))
            except (TypeError, ValueError):
                line = None
        for n, adj in enumerate(list(svc.adjustments) or [None]):
            first = n == 0
            words = _meaning(adj, svc.remarks if first else ())
            if ours is None and status != NOT_OURS and first:
                words = LINE_NOT_MATCHED + words
            rows.append(_row(cid, cp, status, svc.billed if first else None, svc.paid if first else None,
                             None, line, svc.hcpcs, svc.modifiers, svc.units, adj,
                             svc.remarks if first else (), words, file, date, check, posted))
    return rows


def merge_rows(existing: list, new: list, checks: set) -> tuple[list, int]:
    """The table's rows with this 835 posted: rows of an earlier posting of the same
    payment (same Check or EFT) are replaced, so posting a file twice changes nothing.
    existing: Remittance row dicts as read; new: rows as lists. Returns (rows, replaced)."""
    keep, replaced = [], 0
    for r in existing:
        if not any(text(v) for v in r.values()):
            continue
        if checks and text(r.get("Check or EFT")) in checks:
            replaced += 1
            continue
        keep.append([r.get(h) for h in C.REMITTANCE_HEADERS])
    return keep + new, replaced
