"""Read a plan's X12 835 (005010X221A1) remittance with pyx12: validate it, then walk its loops.

    era = read_era("december.835")        # EraError (one line naming the file) when invalid
    for claim in era.claims: claim.claim_id, claim.status, claim.paid, claim.lines

pyx12 validates the whole file against the 835 implementation guide (its
map of 005010X221A1) and then reads it loop by loop (2100 claim, 2110
service line), so a CAS is known to belong to its claim or to its line by
where it sits, not by guessing from the segment order. It is pure Python,
so this runs wherever ecm-xl does (xlwings Lite too).

Nothing read here is printed: the records carry the payer's numbers and
codes, never the patient names the 835 holds (NM1*QC is skipped).
"""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
from typing import NamedTuple

# What pyx12's error codes mean (the 999's IK304 segment and IK403 element codes).
SEGMENT_ERRORS = {"1": "unrecognized segment", "2": "unexpected segment", "3": "required segment missing",
                  "4": "loop occurs too many times", "5": "segment used too many times",
                  "6": "segment not in this transaction set", "7": "segment out of order",
                  "8": "segment has element errors"}
ELEMENT_ERRORS = {"1": "required element missing", "2": "conditional element missing",
                  "3": "too many elements", "4": "too short", "5": "too long", "6": "invalid character",
                  "7": "not a valid code", "8": "not a valid date", "9": "not a valid time",
                  "10": "element not used here", "12": "repeated too many times",
                  "13": "too many components"}
ENVELOPE_ERRORS = {"001": "the ISA and IEA control numbers differ", "021": "the IEA's count of groups is wrong",
                   "022": "the envelope is out of order", "023": "the file ends too early",
                   "024": "the file has data after its end"}
TRANSACTION_ERRORS = {"1": "transaction type not supported", "2": "transaction trailer (SE) missing",
                      "3": "ST and SE control numbers differ", "4": "SE segment count is wrong",
                      "5": "one or more segments are in error", "6": "missing or invalid transaction type",
                      "7": "missing or invalid control number", "23": "control number used twice"}
GROUP_ERRORS = {"1": "functional group not supported", "2": "group version not supported",
                "3": "group trailer (GE) missing", "4": "GS and GE control numbers differ",
                "5": "GE count of transactions is wrong", "6": "group control number is wrong"}
# An element sent though the guide marks it not used (e.g. ST03 "005010X221A1", which many
# payers send) changes nothing this reads: it is tolerated, every other error refuses the file.
TOLERATED_ELEMENT_ERRORS = {"10"}
NOT_USED = re.compile(r"is marked as Not Used$")
LINE = re.compile(r"^Line:(\d+)")


class EraError(ValueError):
    """A file that is not a valid 835. str(e) is one line naming the file."""


class Adjustment(NamedTuple):
    group: str          # CO, PR, OA, PI, CR
    code: str           # CARC
    amount: float
    units: float | None = None


class ServicePayment(NamedTuple):
    hcpcs: str
    modifiers: tuple    # as sent back (SVC01-3..6)
    billed: float       # SVC02
    paid: float         # SVC03
    units: float        # the units billed: SVC07 when the plan changed them, else SVC05
    paid_units: float   # SVC05 (1 when absent, as the guide says)
    adjustments: tuple
    remarks: tuple      # RARCs (LQ*HE)
    date: dt.date | None


class ClaimPayment(NamedTuple):
    claim_id: str       # CLP01, our Claim ID (the 837's patient control number)
    status: str         # CLP02: 1/2/3/19/20/21 processed, 4 denied, 22 reversal, 23 not our claim ...
    billed: float       # CLP03
    paid: float         # CLP04
    patient: float      # CLP05
    payer_claim: str    # CLP07
    frequency: str      # CLP09
    adjustments: tuple  # claim-level CAS
    remarks: tuple      # MOA / MIA remark codes
    lines: tuple        # ServicePayment
    line_number: int    # where the CLP is in the file
    check: str = ""     # the payment it came with (TRN02 of its transaction)
    payment_date: dt.date | None = None


class Remittance(NamedTuple):
    file: str           # the file's name
    payment_date: dt.date | None   # BPR16
    check: str          # TRN02: check or EFT trace number
    total: float        # BPR02
    method: str         # BPR04: CHK, ACH, NON ...
    claims: tuple
    provider_adjustments: tuple = ()   # PLB: (reason code, amount), not tied to any claim


def read_era(path) -> Remittance:
    """Validate and read the 835 at `path`; EraError (one line) when it is not a valid 835."""
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise EraError(f"{name}: can't be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise EraError(f"{name}: is not an X12 file (it holds characters an 835 never has)") from None
    return parse_era(text, name)


def parse_era(text: str, name: str = "835") -> Remittance:
    stripped = text.lstrip()
    if not stripped.startswith("ISA"):
        raise EraError(f"{name}: is not an X12 file (it does not start with an ISA segment)")
    if "835" not in _transaction_ids(stripped):
        raise EraError(f"{name}: is not an 835 remittance (its transaction is not 835)")
    problems = validate(stripped)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise EraError(f"{name}: is not a valid 835: {problems[0]}{more}")
    return _read(stripped, name)


def _transaction_ids(text: str) -> set:
    e, t = text[3], text[105] if len(text) > 105 else "~"
    out = set()
    for seg in text.split(t):
        parts = seg.strip().split(e)
        if parts and parts[0] == "ST" and len(parts) > 1:
            out.add(parts[1])
    return out


# ---------------------------------------------------------------------------
# pyx12
# ---------------------------------------------------------------------------
class _quiet_pyx12(logging.Handler):
    """pyx12 logs each error with the offending value (which may be a name): keep that off
    stderr, and keep the messages (`self.messages`) to learn where the errors are."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        self.log = logging.getLogger("pyx12")
        self.saved = (self.log.handlers[:], self.log.propagate)
        self.log.handlers = [self]
        self.log.propagate = False
        return self

    def __exit__(self, *exc):
        self.log.handlers, self.log.propagate = self.saved
        return False


def validate(text: str) -> list[str]:
    """pyx12's errors for an 835 as short lines naming line, segment and element (no values)."""
    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    out = io.StringIO()
    with _quiet_pyx12() as logged:
        try:
            ok = pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=io.StringIO(text),
                                                   fd_997=None, fd_html=None, fd_json=out)
        except (pyx12.errors.X12Error, pyx12.errors.EngineError) as exc:
            return [f"pyx12 cannot read it ({type(exc).__name__})"]
        except Exception as exc:  # pyx12 stops on some broken envelopes
            return [f"pyx12 cannot read it ({type(exc).__name__})"]
    try:
        report = json.loads(out.getvalue() or "{}")
    except ValueError:
        report = {}
    problems, tolerated = [], 0
    for where, err in _errors(report):
        if err.get("kind") == "element" and str(err.get("err_cde")) in TOLERATED_ELEMENT_ERRORS:
            tolerated += 1
            continue
        problems.append(where)
    if not ok and not problems:
        # errors pyx12 only logs (on the ST and envelope segments): where, never the value
        for message in logged.messages:
            if NOT_USED.search(message):
                continue
            m = LINE.search(message)
            problems.append(f"line {m.group(1)}: pyx12 finds an error there" if m else "pyx12 rejects it")
        if not problems and not tolerated and not logged.messages:
            problems.append("pyx12 rejects it")
    return problems


def _errors(report: dict):
    """(description, error) for every error in pyx12's JSON report, outermost first."""
    for isa in report.get("interchanges", []):
        for e in isa.get("errors", []):
            yield f"interchange envelope: {_words(e, ENVELOPE_ERRORS)}", {**e, "kind": "envelope"}
        for gs in isa.get("groups", []):
            for e in gs.get("errors", []):
                yield f"group envelope: {_words(e, GROUP_ERRORS)}", {**e, "kind": "envelope"}
            for st in gs.get("transactions", []):
                for e in st.get("errors", []):
                    yield f"transaction {st.get('trn_set_control_num')}: {_words(e, TRANSACTION_ERRORS)}", \
                        {**e, "kind": "transaction"}
                for seg in st.get("segments", []):
                    at = f"line {seg.get('cur_line')}, {seg.get('seg_id')}"
                    for e in seg.get("errors", []):
                        yield f"{at}: {_words(e, SEGMENT_ERRORS)}", {**e, "kind": "segment"}
                    for el in seg.get("elements", []):
                        pos = f"{seg.get('seg_id')}{int(el.get('ele_pos') or 0):02d}"
                        for e in el.get("errors", []):
                            yield (f"line {seg.get('cur_line')}, {pos} ({el.get('name')}): "
                                   f"{_words(e, ELEMENT_ERRORS)}"), {**e, "kind": "element"}


def _words(err: dict, table: dict) -> str:
    return table.get(str(err.get("err_cde")), f"error {err.get('err_cde')}")


def _read(text: str, name: str) -> Remittance:
    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context

    payment_date, check, total, method = None, "", 0.0, ""
    this_check, this_date = "", None
    plb = []
    claims: list = []
    claim = line = None

    def close_line():
        nonlocal line
        if line is not None:
            line["adjustments"], line["remarks"] = tuple(line["adjustments"]), tuple(line["remarks"])
            claim["lines"].append(ServicePayment(**line))
            line = None

    def close_claim():
        nonlocal claim
        close_line()
        if claim is not None:
            claim["lines"] = tuple(claim["lines"])
            claim["adjustments"] = tuple(claim["adjustments"])
            claim["remarks"] = tuple(claim["remarks"])
            claims.append(ClaimPayment(**claim))
            claim = None

    with _quiet_pyx12():
        reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), pyx12.error_handler.errh_null(),
                                                   io.StringIO(text))
        try:
            for node in reader.iter_segments():
                seg = node.seg_data
                sid = seg.get_seg_id()
                loop = node.cur_path.rsplit("/", 2)[-2] if "/" in node.cur_path else ""

                def v(i, seg=seg, sid=sid):
                    return (seg.get_value(f"{sid}{i:02d}") or "").strip()
                if sid == "ST":
                    close_claim()
                    this_check, this_date = "", None
                elif sid == "BPR":
                    this_date = _date(v(16))
                    total, method = total + _money(v(2)), method or v(4)
                    payment_date = payment_date or this_date
                elif sid == "TRN":
                    this_check = v(2)
                    check = check or this_check
                elif sid == "CLP":
                    close_claim()
                    claim = dict(claim_id=v(1), status=v(2), billed=_money(v(3)), paid=_money(v(4)),
                                 patient=_money(v(5)), payer_claim=v(7), frequency=v(9), adjustments=[],
                                 remarks=[], lines=[], line_number=node.cur_line_number or 0,
                                 check=this_check, payment_date=this_date)
                elif sid == "PLB":
                    close_claim()
                    for i in range(3, 15, 2):
                        if v(i):
                            plb.append((v(i).split(reader.subele_term or ":")[0], _money(v(i + 1))))
                elif claim is None:
                    continue
                elif sid == "SVC":
                    close_line()
                    proc = (seg.get_value("SVC01") or "").split(reader.subele_term or ":")
                    proc = [p.strip() for p in proc]
                    units = _number(v(5)) if v(5) else 1.0
                    line = dict(hcpcs=proc[1] if len(proc) > 1 else "", modifiers=tuple(p for p in proc[2:] if p),
                                billed=_money(v(2)), paid=_money(v(3)),
                                units=_number(v(7)) if v(7) else units, paid_units=units,
                                adjustments=[], remarks=[], date=None)
                    original = (seg.get_value("SVC06") or "")
                    if original:
                        orig = [p.strip() for p in original.split(reader.subele_term or ":")]
                        line.update(hcpcs=orig[1] if len(orig) > 1 else line["hcpcs"],
                                    modifiers=tuple(p for p in orig[2:] if p))
                elif sid == "CAS":
                    target = line if (loop == "2110" and line is not None) else claim
                    group = v(1)
                    for i in range(2, 20, 3):
                        code = v(i)
                        if code:
                            amount = _money(v(i + 1))
                            units = _number(v(i + 2)) if v(i + 2) else None
                            target["adjustments"].append(Adjustment(group, code, amount, units))
                elif sid == "LQ" and line is not None:
                    if v(1) == "HE" and v(2):
                        line["remarks"].append(v(2))
                elif sid in ("MOA", "MIA"):
                    positions = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
                    claim["remarks"].extend(v(i) for i in positions if v(i))
                elif sid == "DTM" and line is not None and v(1) == "472":
                    line["date"] = _date(v(2))
                elif sid in ("SE", "LX"):
                    close_claim()
        finally:
            reader.close()
    close_claim()
    return Remittance(name, payment_date, check, total, method, tuple(claims), tuple(plb))


def _money(s: str) -> float:
    return round(float(s), 2) if s else 0.0


def _number(s: str) -> float:
    return float(s) if s else 0.0


def _date(s: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(s, "%Y%m%d").date() if s else None
    except ValueError:
        return None
