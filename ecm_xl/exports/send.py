"""Sending a closed month: the export follows the workbook's Submissions record.

    report = send_workbook("October.closed.xlsx", "x12", "october.837")
    print(report.text())

Under the workbook's export lock (exports.record): finish any interrupted
export, re-close the month and check it against the Claim sheet
(workbook_result), decide each claim's frequency from the record
(submissions.plan_claims), take the next interchange control number
(exports.ledger), write the 837P, and append one Submissions row per claim
sent or held, the file and the rows together or neither.

The workbook named is updated in place: that is where the record lives (like
`fill`). Nothing else is ever written to.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
from typing import NamedTuple

from .. import contract as C
from .. import submissions as S
from ..files import name_of
from ..profile import Profile, load_profile
from ..values import text
from ..xlsx.package import output_error
from .claims_csv import claims_csv
from .ledger import LedgerError, take_number
from .record import RecordError, commit, file_hash, recover, workbook_lock
from .x12 import ExportError, check_ready, not_ready_message, x12_837p

REMITTANCE = "Remittance"       # i10-remit's table: Claim ID, Payer Claim Number, Claim Status, ...


class SendReport(NamedTuple):
    workbook: str
    path: str | None            # the file written; None when nothing was sent
    fmt: str
    control_number: int | None
    created: dt.datetime
    decisions: list             # of submissions.Decision, one per claim
    recovered: str              # '' or what was found of an interrupted export
    unused_payer_claims: tuple  # --payer-claim IDs this export did not need

    def _sent(self):
        return [d for d in self.decisions if d.sending]

    @property
    def claims(self) -> int:
        return len(self._sent())

    @property
    def lines(self) -> int:
        return sum(len(d.lines) for d in self._sent())

    @property
    def units(self) -> int:
        return sum(int(l.units) for d in self._sent() for l in d.lines)

    @property
    def charge(self) -> float:
        return round(sum(round(l.charge or 0, 2) for d in self._sent() for l in d.lines), 2)

    @property
    def held(self) -> list:
        return [d for d in self.decisions if d.action == S.HOLD]

    def text(self) -> str:
        out = [self.recovered] if self.recovered else []
        sent = self._sent()
        if sent:
            kinds = [(a, sum(d.action == a for d in sent)) for a in S.SENDING]
            what = ", ".join(f"{n:,} {a}{'s' if n != 1 else ''}" for a, n in kinds if n)
            icn = f" (interchange {self.control_number:09d})" if self.control_number else ""
            out.append(f"Sent {self.claims:,} claims ({what}): {self.lines:,} claim lines, {self.units:,} units, "
                       f"${self.charge:,.2f} -> {self.path}{icn}")
            out.append(f"Recorded on the {C.SUBMISSIONS} sheet of {name_of(self.workbook)}.")
        else:
            out.append(f"Nothing to send from {name_of(self.workbook)}: no file written, nothing recorded.")
        same = [d for d in self.decisions if d.action == S.UNCHANGED]
        by_file: dict = {}
        for d in same:
            by_file.setdefault(d.previous.where, []).append(d.claim_id)
        for where, ids in by_file.items():
            word = "claim" if len(ids) == 1 else "claims"
            out.append(f"Not sent again, unchanged since sent {where}: {len(ids):,} {word} ({_ids(ids)}); "
                       "--resend sends them again")
        for d in self.held:
            out.append("Held back: " + d.message)
        if self.unused_payer_claims:
            out.append(f"Not needed: --payer-claim for {_ids(self.unused_payer_claims)} (not replaced or voided "
                       "in this export)")
        return "\n".join(out)


def _ids(ids, most: int = 8) -> str:
    ids = list(ids)
    return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")


def parse_created(value) -> dt.datetime:
    """'2026-11-05' or '2026-11-05T09:30' (a datetime passes through); ValueError otherwise."""
    if isinstance(value, dt.datetime):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value).strip()
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        return dt.datetime.fromisoformat(text).replace(second=0, microsecond=0, tzinfo=None)
    except ValueError:
        raise ValueError(f"{value!r} is not a date or date and time (type 2026-11-05 or 2026-11-05T09:30)") from None


def parse_payer_claims(items) -> dict:
    """['CLAIMID=NUMBER', ...] (or a dict) -> {Claim ID: payer claim number}; ValueError naming a bad one."""
    if isinstance(items, dict):
        return {str(k).strip(): str(v).strip() for k, v in items.items()}
    out = {}
    for item in items or ():
        cid, eq, number = str(item).partition("=")
        if not eq or not cid.strip() or not number.strip():
            raise ValueError(f"--payer-claim {item!r} is not CLAIMID=NUMBER")
        out[cid.strip()] = number.strip()
    return out


def read_record(path) -> tuple[dict, dict]:
    """(Submissions history, payer claim numbers from a Remittance table) of a workbook."""
    from ..xlsx import WorkbookError, read_workbook

    try:
        wb = read_workbook(path, required=(), tables=(C.SUBMISSIONS, REMITTANCE))
    except WorkbookError as exc:
        raise ExportError(str(exc)) from None
    # A workbook made before ecm-xl kept that record has sent nothing through it: the
    # export adds the Submissions sheet when it records what it sends (record.commit).
    sent = wb.tables.get(C.SUBMISSIONS)
    remit = wb.tables.get(REMITTANCE)
    return (S.read_history(sent.rows if sent is not None else ()),
            S.payer_claim_numbers(remit.rows if remit is not None else ()))


def plan_workbook(result, history: dict, payer_claims: dict, *, resend: bool = False) -> list:
    """submissions.plan_claims for a close: voids only within its billing month."""
    month = result.setup.billing_month
    return S.plan_claims(S.claims_by_id(result.claim_lines), history, payer_claims, resend=resend,
                         months=None if month is None else {month.replace(day=1)}, members=result.members,
                         setup=result.setup)


def to_send(result, decisions):
    """(the close with only the claim lines to send, the 7/8 adjustments for x12_837p)."""
    lines = [l for d in decisions if d.sending for l in d.lines]
    adjustments = {d.claim_id: (d.frequency, d.payer_claim) for d in decisions
                   if d.sending and d.frequency != S.ORIGINAL}
    return result._replace(claim_lines=lines), adjustments


def record_rows(decisions, *, file: str, control_number: int | None, sent: dt.datetime) -> list[dict]:
    """Submissions rows for this export: one per claim sent or held."""
    icn = f"{control_number:09d}" if control_number else ""
    rows = []
    for d in decisions:
        if d.sending:
            rows.append(S.sent_row(d.claim_id, d.lines, frequency=d.frequency, file=file, control_number=icn,
                                   sent=sent, payer_claim=d.payer_claim).row())
        elif d.action == S.HOLD:
            lines = d.lines or []
            row = S.sent_row(d.claim_id, lines, frequency=d.frequency, file="", control_number="", sent=sent,
                             status=S.HELD, note=d.message) if lines else \
                d.previous._replace(frequency=d.frequency, file="", control_number="", sent=sent,
                                    status=S.HELD, payer_claim="", note=d.message)
            rows.append(row.row())
    return rows


def invoice_csv(result, decisions) -> str:
    """The claims to send as CSV (the Claim sheet's columns) plus Frequency and Payer Claim Number."""
    freq = {d.claim_id: (d.frequency, d.payer_claim) for d in decisions if d.sending}
    body = io.StringIO(newline="")
    claims_csv(result, body)
    rows = list(csv.reader(io.StringIO(body.getvalue(), newline="")))
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(rows[0] + ["Frequency", "Payer Claim Number"])
    for cells, line in zip(rows[1:], result.claim_lines):
        w.writerow(cells + list(freq[line.claim_id]))
    return out.getvalue()


def _output_named(exc: OSError, path, out):
    """An OutputError naming `path` or `out` for an OSError about either, or about a
    temporary file made beside it (`.<name>.<token>.sending`); None for anything else."""
    for target in (path, out):
        n = name_of(target)
        for f in (getattr(exc, "path", None), exc.filename, exc.filename2):
            if f and (name_of(f) == n or name_of(f).startswith(f".{n}.")):
                return output_error(os.fspath(target), exc, replacing=bool(exc.filename2))
    return None


def send_workbook(path, fmt: str, out, *, profile: Profile | None = None, close_date=None, created=None,
                  resend: bool = False, payer_claims=None, control_number: int | None = None, ledger=None,
                  test: bool = False, wait: float = 60.0, progress=None) -> SendReport:
    """Export what the record says is due from a closed workbook, and record it there.

    fmt 'x12' (an 837P) or 'csv' (an invoice). created: the file's date and
    time (default now). payer_claims: {Claim ID: payer claim number} or
    ['ID=NUMBER'], added to (and overriding) the Remittance table's. ledger:
    the control number file (default ledger.default_path()). Raises
    ExportError (one line) when the workbook or the claims are not ready.
    progress(done, total, what) hears of each step (ecm_xl.progress).
    """
    from ..progress import stages
    from . import workbook_result

    if fmt not in ("x12", "csv"):
        raise ExportError(f"Unknown export format {fmt!r}: use x12 or csv")
    profile = profile or load_profile()
    name = name_of(path)
    if os.path.exists(out) and os.path.exists(path) and os.path.samefile(path, out):
        raise ExportError(f"{name_of(out)}: the export would overwrite the workbook itself")
    typed = parse_payer_claims(payer_claims)
    created = parse_created(created) if created is not None else dt.datetime.now().replace(second=0, microsecond=0)
    try:
        with workbook_lock(path, wait):
            found = recover(path)
            before = file_hash(path)
            step = stages(progress, 2)
            step(f"reading and re-checking {name}")
            result = workbook_result(path, profile=profile, close_date=close_date)
            history, numbers = read_record(path)
            numbers.update(typed)
            decisions = plan_workbook(result, history, numbers, resend=resend)
            needed = {d.claim_id for d in decisions if d.frequency in (S.REPLACEMENT, S.VOID)}
            unused = tuple(k for k in typed if k not in needed)
            sending, adjustments = to_send(result, decisions)
            if not sending.claim_lines:
                return SendReport(os.fspath(path), None, fmt, None, created, decisions, found, unused)
            problems = check_ready(sending, profile) if fmt == "x12" else []
            if problems:
                raise ExportError(not_ready_message(problems, name))
            step(f"writing {len(sending.claim_lines):,} claim lines to {name_of(out)}")
            number = None
            if fmt == "x12":
                from .x12 import setting
                number = take_number(setting(result.setup, "SubmitterID") or "-", requested=control_number,
                                     used=S.control_numbers(history), path=ledger)
                data = x12_837p([sending], profile, control_number=number, created=created,
                                adjustments=adjustments, test=test, sources=[name]).encode("ascii")
            else:
                data = invoice_csv(sending, decisions).encode("utf-8-sig")
            rows = record_rows(decisions, file=name_of(out), control_number=number, sent=created)
            commit(path, out, data, rows, before=before)
            step()
    except (RecordError, LedgerError) as exc:
        raise ExportError(str(exc)) from None
    except OSError as exc:
        named = _output_named(exc, path, out)
        if named is not None:   # the workbook (open in Excel?) or the export, never the temporary file
            raise ExportError(str(named)) from None
        raise ExportError(f"{name_of(exc.filename or out)}: can't write the export "
                          f"({exc.strerror or exc})") from None
    return SendReport(os.fspath(path), os.fspath(out), fmt, number, created, decisions, found, unused)


# ---------------------------------------------------------------------------
# A batch: one 837P for many closed copies, each recording its own claims
# ---------------------------------------------------------------------------
class BatchSend(NamedTuple):
    path: str | None            # the 837P written, None when nothing was sent
    control_number: int | None
    outcomes: dict              # workbook name -> (status, message): "ok" / "not ready" / "held" / "not sent"
    decisions: dict             # workbook name -> its Decisions
    message: str                # '' or why no file was written


def record_rows_of(path) -> list[dict]:
    """The Submissions rows of a workbook as {header: value} (none when it has no such table)."""
    from ..xlsx import WorkbookError, read_workbook

    try:
        wb = read_workbook(path, required=(), tables=(C.SUBMISSIONS,))
    except (WorkbookError, OSError):
        return []
    table = wb.tables.get(C.SUBMISSIONS)
    return [] if table is None else [dict(r) for r in table.rows if text(r.get("Claim ID"))]


def prior_records(paths) -> dict:
    """{path: its Submissions rows} of the workbooks that exist among `paths` (a batch's
    closed copies, read before a new close replaces them)."""
    return {os.fspath(p): rows for p in paths if os.path.exists(p) for rows in [record_rows_of(p)] if rows}


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _row_key(r: dict) -> tuple:
    """A Submissions row as values, read alike whichever file it came from."""
    return tuple(S.read_history([r]).popitem()[1][0])


def send_batch(items, out, *, profile: Profile | None = None, created=None, ledger=None, prior: dict | None = None,
               control_number: int | None = None, test: bool = False) -> BatchSend:
    """Send the claims due from closed copies as one 837P.

    items: [(name, path or paths, CloseResult)]; several paths are the copies
    of one clinic-month billed together (each shows the month's claims). Each
    is planned against its copies' Submissions records, plus `prior` {path:
    rows} (the record of an earlier copy at the same path, which the new close
    replaced), and every copy gets the rows. One whose claims are not ready is
    left out with its reason; the others go.
    """
    from ..xlsx import WorkbookError, append_table_rows

    profile = profile or load_profile()
    created = parse_created(created) if created is not None else dt.datetime.now().replace(second=0, microsecond=0)
    outcomes, plans, ready, used = {}, {}, [], []
    from .x12 import setting
    for name, paths, result in items:
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        own = {p: record_rows_of(p) for p in paths}
        everything, seen = [], set()
        for p in paths:     # what every copy of this month recorded, and the copies they replaced
            for r in own[p] + (prior or {}).get(os.fspath(p), []):
                if _row_key(r) not in seen:
                    seen.add(_row_key(r))
                    everything.append(r)
        history = S.read_history(everything)
        try:    # each copy keeps the whole record: rows it lacks are added to it
            for p in paths:
                have = {_row_key(r) for r in own[p]}
                missing = [r for r in everything if _row_key(r) not in have]
                if missing:
                    append_table_rows(p, p, C.SUBMISSIONS, missing)
        except (WorkbookError, OSError) as exc:
            outcomes[name] = ("failed", f"{name}: the earlier Submissions record could not be kept "
                                        f"({_one_line(exc)}); nothing sent from it")
            continue
        used += S.control_numbers(history)
        try:
            numbers = {}
            for p in paths:
                numbers.update(read_record(p)[1])
        except ExportError as exc:
            outcomes[name] = ("not sent", str(exc))
            continue
        decisions = plan_workbook(result, history, numbers)
        plans[name] = decisions
        sending, adjustments = to_send(result, decisions)
        problems = check_ready(sending, profile) if sending.claim_lines else []
        if problems:
            outcomes[name] = ("not ready", not_ready_message(problems, name))
            continue
        held = [d for d in decisions if d.action == S.HOLD]
        same = [d for d in decisions if d.action == S.UNCHANGED]
        if held:
            outcomes[name] = ("held", f"{name}: " + " | ".join(d.message for d in held))
        elif same:
            outcomes[name] = ("ok", f"{name}: {len(same)} claims not sent again, unchanged since sent "
                                    f"{same[-1].previous.where}")
        ready.append((name, paths, result, decisions, sending, adjustments))
    going = [r for r in ready if r[4].claim_lines]
    if not going:
        # each copy's outcome says why (unchanged, held, not ready); with none closed, the batch says it
        return BatchSend(None, None, outcomes, plans, "" if items else "no workbook closed, so there is nothing "
                                                                        "to export")
    first = going[0][2].setup
    envelope = (setting(first, "SubmitterID").upper(), setting(first, "ReceiverID").upper())
    for r in list(going):
        if (setting(r[2].setup, "SubmitterID").upper(), setting(r[2].setup, "ReceiverID").upper()) != envelope:
            outcomes[r[0]] = ("not sent", f"{r[0]}: names a different SubmitterID or ReceiverID than {going[0][0]}: "
                                          "one 837P goes from one submitter to one receiver; export it on its own")
            going.remove(r)
    adjustments = {k: v for r in going for k, v in r[5].items()}
    try:
        number = take_number(envelope[0] or "-", used=used, requested=control_number, path=ledger)
        data = x12_837p([r[4] for r in going], profile, control_number=number, created=created,
                        adjustments=adjustments, test=test, sources=[r[0] for r in going]).encode("ascii")
        books = []
        for _name, paths, _result, decisions, _s, _a in going:
            rows = record_rows(decisions, file=name_of(out), control_number=number, sent=created)
            books += [(p, rows, file_hash(p)) for p in paths]
        from .record import commit_many, recover_journal
        jpath = os.path.join(os.path.dirname(os.path.abspath(out)), f".{name_of(out)}.ecm-xl.journal")
        recover_journal(jpath, name_of(out))
        commit_many(jpath, out, data, books)
    except (ExportError, RecordError, LedgerError) as exc:
        return BatchSend(None, None, outcomes, plans, str(exc))
    return BatchSend(os.fspath(out), number, outcomes, plans, "")
