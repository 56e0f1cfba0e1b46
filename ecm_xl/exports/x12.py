"""An X12 837P (005010X222A1) writer for a month's claim lines.

Pure: records in, text out. No files, no clock unless asked, so it runs
headless and in xlwings Lite alike.

    text = x12_837p([result], profile, control_number=42)

Layout (one interchange, one functional group):

    ISA  sender = Setup SubmitterID, receiver = Setup ReceiverID
     GS  HC, 005010X222A1
      ST one transaction set per close (per workbook), numbered 0001, 0002, ...
       BHT, 1000A submitter, 1000B receiver
       2000A billing provider (HL 1): NPI, address, tax ID
        2000B one per member (subscriber = patient, SBR02 18, Medicaid MC)
         2010BA member (Medi-Cal ID, name, address, date of birth, sex)
         2010BB payer
         2300 one CLM per claim (Claim ID = patient control number)
          2400 LX / SV1 / DTP*472 per claim line, at most 50 per CLM
      SE
     GE
    IEA

Control numbers come from `control_number` only (ISA13 = GS06 = it,
ST02 = 0001, 0002, ...), and the dates from `created`, which defaults to the
latest service date in the file, so the same input and counter always give
the same bytes.

Checks that a HIPAA validator does not make (the NPI check digit, codes from
the plan profile, the Setup fields an 837P needs) run before anything is
written: `check_ready` lists what is wrong, `x12_837p` raises ExportError.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from typing import Iterable

from .. import contract as C
from ..data import ClaimLine, CloseResult, Setup
from ..profile import Profile, load_profile
from ..setting_checks import PARSED, STATES, digits, phone, setting_problem
from .icd10 import HEADER, NOT_A_CODE

VERSION = "005010X222A1"
MAX_LINES = 50        # 2400 loop repeat in 005010X222A1
MAX_DIAGNOSES = 12    # HI01..HI12
FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}

SEGMENT, ELEMENT, COMPONENT, REPETITION = "~", "*", ":", "^"

_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")   # without its dot
_SETUP_FIELDS = {"ProviderName": "provider_name", "BillingNPI": "billing_npi",
                 "TaxID": "tax_id", "HealthPlan": "health_plan"}


class ExportError(Exception):
    """The close can't be exported; str(e) is one line naming everything wrong."""


# ---------------------------------------------------------------------------
# Text and numbers as X12 wants them
# ---------------------------------------------------------------------------
def clean(value, max_len: int = 60) -> str:
    """Free text as an X12 value: ASCII, upper case, no separators, no padding."""
    s = unicodedata.normalize("NFKD", "" if value is None else str(value))
    s = s.encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"""[^A-Za-z0-9!"&'()+,\-./;?= %@\[\]_{}\\|<>#$]""", " ", s)  # also drops * : ^ ~
    return " ".join(s.split()).upper()[:max_len].strip()


def amount(value: float) -> str:
    """Money without trailing zeros: 160.0 -> '160', 92.5 -> '92.5'."""
    s = f"{round(float(value), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def setting(setup: Setup, name: str) -> str:
    """A Setup value by its defined name (contract.SETTINGS), as text."""
    if name in _SETUP_FIELDS:
        value = getattr(setup, _SETUP_FIELDS[name])
    else:
        value = (setup.extra or {}).get(name, "")
    return " ".join(str(value or "").split())


def diagnosis_code(dx: str) -> str:
    """An ICD-10-CM code as the 837P carries it: no dot, upper case."""
    return (dx or "").replace(".", "").replace(" ", "").upper()


# ---------------------------------------------------------------------------
# Checks a HIPAA validator does not make
# ---------------------------------------------------------------------------
def _ids(items: Iterable[str], most: int = 5) -> str:
    items = list(dict.fromkeys(items))
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def check_setup(setup: Setup) -> list[str]:
    """What Setup lacks for an 837P, one phrase per field, by defined name."""
    out = []
    for s in C.SETTINGS:
        if s.required_for_837 and not setting(setup, s.name):
            out.append(f"{s.name} is blank")
    for s in C.SETTINGS:   # the checks `ecm-xl new --set` and the close make, in the same words
        problem = setting_problem(s.name, setting(setup, s.name)) if s.name not in PARSED else None
        if problem:
            out.append(problem)
    for name in ("SubmitterID", "ReceiverID"):
        v = setting(setup, name)
        if v and not (2 <= len(v) <= 15 and clean(v, 15) == v.upper()):
            out.append(f"{name} {v} must be 2 to 15 letters or digits")
    payer = setting(setup, "PayerID")
    if payer and not (2 <= len(payer) <= 80 and clean(payer, 80) == payer.upper()):
        out.append(f"PayerID {payer} must be 2 to 80 letters or digits")
    for name in ("ProviderName", "ContactName", "ReceiverName", "PayerName", "ProviderCity"):
        v = setting(setup, name)
        if v and not clean(v):
            out.append(f"{name} has no letters or digits")
    return out


def check_lines(result: CloseResult, profile: Profile) -> list[str]:
    """What the claim lines and members lack for an 837P (claims and members by ID)."""
    lines = result.claim_lines
    out = []
    if not lines:
        return ["the close has no claim lines to bill"]
    no_charge = [l.claim_id for l in lines if l.charge is None]
    if no_charge:
        out.append(f"claims {_ids(no_charge)} have lines without a charge (no rate): enter the rate "
                   "on the Lists sheet's Codes table and close the month again")
    neg = [l.claim_id for l in lines if l.charge is not None and l.charge < 0]
    if neg:
        out.append(f"claims {_ids(neg)} have a negative charge")
    bad_units = [l.claim_id for l in lines if not (isinstance(l.units, int) and l.units > 0)]
    if bad_units:
        out.append(f"claims {_ids(bad_units)} have lines without a whole number of units")
    no_dx = [l.claim_id for l in lines if not l.diagnosis]
    if no_dx:
        out.append(f"claims {_ids(no_dx)} have no diagnosis code: enter the member's Diagnosis Code "
                   "or Setup's DefaultDiagnosis and close the month again")
    bad_dx: dict = {}       # what is wrong -> claim IDs (the codes themselves are not named: they may be PHI)
    for l in lines:
        if l.diagnosis:
            why = diagnosis_problem(l.diagnosis)
            if why:
                bad_dx.setdefault(why, []).append(l.claim_id)
    for why, ids in bad_dx.items():
        fix = (": use a complete code under it (Z59.00, not Z59)" if why == HEADER else "")
        out.append(f"claims {_ids(ids)} have a diagnosis code that is {why}{fix}; correct the member's "
                   "Diagnosis Code or Setup's DefaultDiagnosis and close the month again")
    not_plan = [f"{l.claim_id} line {l.line} ({' '.join(p for p in (l.hcpcs, l.modifier_1, l.modifier_2) if p)})"
                for l in lines if profile.code_by_key(l.hcpcs, l.modifier_1, l.modifier_2) is None]
    if not_plan:
        out.append(f"claim lines {_ids(not_plan, 3)} use a code and modifiers that are not in the plan "
                   f"profile {profile.id}")
    bad_pos = [l.claim_id for l in lines if l.place_of_service not in profile.places_of_service]
    if bad_pos:
        out.append(f"claims {_ids(bad_pos)} have a place of service that is not a place of service code")
    backwards = [l.claim_id for l in lines if l.to_date < l.from_date]
    if backwards:
        out.append(f"claims {_ids(backwards)} have a line whose To Date is before its From Date")
    pcn = [l.claim_id for l in lines if not (1 <= len(l.claim_id) <= 35) or clean(l.claim_id, 38) != l.claim_id.upper()]
    if pcn:
        out.append(f"Claim IDs {_ids(pcn)} are not 1 to 35 letters or digits")
    dx_count = Counter()
    for cid, dxs in _claim_diagnoses(lines).items():
        if len(dxs) > MAX_DIAGNOSES:
            dx_count[cid] = len(dxs)
    if dx_count:
        out.append(f"claims {_ids(dx_count)} have more than {MAX_DIAGNOSES} diagnosis codes")

    members = result.members or {}
    absent, lacking = [], {}     # member IDs not on the sheet; member ID -> what it lacks
    punctuated, unborn = [], []  # Member IDs a payer's system won't match; born after the service
    first_service: dict = {}
    for l in lines:
        first_service[l.member_id] = min(l.from_date, first_service.get(l.member_id, l.from_date))
    for mid in dict.fromkeys(l.member_id for l in lines):
        m = members.get(mid)
        if m is None:
            absent.append(mid)
            continue
        gaps = [what for what, bad in (
            ("last name", not clean(m.last_name)),
            ("date of birth", m.birth_date is None),
            ("address", not clean(m.address)),
            ("city", not clean(m.city)),
            ("state" if not (m.state or "").strip() else "valid state",
             (m.state or "").strip().upper() not in STATES),
            ("ZIP" if not (m.zip or "").strip() else "5- or 9-digit ZIP",
             len(digits(m.zip)) not in (5, 9) or digits(m.zip) != (m.zip or "").replace("-", "").strip()),
            ("real ZIP (00000 is a placeholder)", digits(m.zip)[:5] == "00000"),
            ("usable Member ID", not (2 <= len(mid) <= 80)),
        ) if bad]
        if gaps:
            lacking[mid] = gaps
        if not (mid.isascii() and mid.isalnum()):
            punctuated.append(mid)
        if m.birth_date is not None and m.birth_date > first_service[mid]:
            unborn.append(mid)
    if absent:
        out.append(f"members {_ids(absent)} are not on the Members sheet")
    if punctuated:
        out.append(f"members {_ids(punctuated)} have a Member ID with spaces or punctuation: the plan's member "
                   "ID (the Medi-Cal CIN) is letters and digits only; correct it on the Members sheet and the "
                   "Timesheet and close the month again")
    if unborn:
        out.append(f"members {_ids(unborn)} have a date of birth after their service date: correct the Date "
                   "of Birth on the Members sheet")
    out.extend(member_gaps(lacking))
    return out


def diagnosis_problem(dx: str) -> str:
    """'' when `dx` is a billable ICD-10-CM code, else what it is (exports.icd10: the real code
    set; where that package is missing, as in xlwings Lite, only the code's shape is checked)."""
    from .icd10 import problem
    found = problem(diagnosis_code(dx))
    if found is None:
        return "" if _ICD10.match(diagnosis_code(dx)) else NOT_A_CODE
    return found


def member_gaps(lacking: dict, most: int = 5) -> list[str]:
    """'member M1: no address, city, ZIP', one phrase per member (members lacking the same
    things share one), the first `most` of them; the last says where to fill them in."""
    groups: dict = {}
    for mid, gaps in lacking.items():
        groups.setdefault(tuple(gaps), []).append(mid)
    out = [f"{'member' if len(mids) == 1 else 'members'} {_ids(mids)}: no {', '.join(gaps)}"
           for gaps, mids in groups.items()]
    if len(out) > most:
        rest = sum(len(mids) for mids in list(groups.values())[most:])
        out = out[:most] + [f"{rest} more members lack details"]
    if out:
        out[-1] += " (the 837P needs these for the subscriber: fill them in on the Members sheet)"
    return out


def check_ready(result: CloseResult, profile: Profile | None = None) -> list[str]:
    """Every reason this close can't become an 837P; [] when it is ready."""
    profile = profile or load_profile()
    return check_setup(result.setup) + check_lines(result, profile)


def not_ready_message(problems: list[str], where: str | None = None) -> str:
    setup_only = all(p.split(" ", 1)[0] in C.SETTING_NAMES for p in problems)
    head = "Setup is not ready for an 837P" if setup_only else "Not ready for an 837P"
    return (f"{where}: " if where else "") + f"{head}: " + "; ".join(problems)


# ---------------------------------------------------------------------------
# Claims: grouping, splitting, diagnoses
# ---------------------------------------------------------------------------
def _claims(lines: Iterable[ClaimLine]) -> dict:
    """Claim ID -> its lines, in the order they come."""
    out: dict = {}
    for l in lines:
        out.setdefault(l.claim_id, []).append(l)
    return out


def _claim_diagnoses(lines) -> dict:
    return {cid: list(dict.fromkeys(diagnosis_code(l.diagnosis) for l in ls if l.diagnosis))
            for cid, ls in _claims(lines).items()}


def split_claim(claim_id: str, lines: list, max_lines: int = MAX_LINES) -> list[tuple[str, list]]:
    """A claim's lines as 837P claims of at most `max_lines` lines each.

    The first part keeps the Claim ID as its patient control number; the
    following parts add -2, -3, ... so every part stays unique and stable.
    """
    parts = [lines[i:i + max_lines] for i in range(0, len(lines), max_lines)] or [[]]
    return [(claim_id if n == 1 else f"{claim_id}-{n}", part) for n, part in enumerate(parts, start=1)]


def claim_place_of_service(lines: list) -> str:
    """The claim's place of service: the one most lines name (the first line's on a tie)."""
    count = Counter(l.place_of_service for l in lines)
    best = max(count.values())
    return next(l.place_of_service for l in lines if count[l.place_of_service] == best)


# ---------------------------------------------------------------------------
# The writer
# ---------------------------------------------------------------------------
def _segment(*elements) -> str:
    items = ["" if e is None else str(e) for e in elements]
    while items and items[-1] == "":
        items.pop()
    return ELEMENT.join(items)


def _composite(*parts) -> str:
    items = ["" if p is None else str(p) for p in parts]
    while items and items[-1] == "":
        items.pop()
    return COMPONENT.join(items)


def _transaction(result: CloseResult, number: int, reference: str, created: dt.datetime,
                 adjustments: dict) -> list[str]:
    setup = result.setup
    S = lambda name, n=60: clean(setting(setup, name), n)  # noqa: E731
    segs = [
        _segment("ST", "837", f"{number:04d}", VERSION),
        _segment("BHT", "0019", "00", reference, f"{created:%Y%m%d}", f"{created:%H%M}", "CH"),
        _segment("NM1", "41", "2", S("ProviderName"), "", "", "", "", "46", S("SubmitterID", 80)),
        _segment("PER", "IC", S("ContactName"), "TE", phone(setting(setup, "ContactPhone"))),
        _segment("NM1", "40", "2", S("ReceiverName"), "", "", "", "", "46", S("ReceiverID", 80)),
        _segment("HL", "1", "", "20", "1"),
        *([_segment("PRV", "BI", "PXC", setting(setup, "Taxonomy").upper())] if setting(setup, "Taxonomy") else []),
        _segment("NM1", "85", "2", S("ProviderName"), "", "", "", "", "XX", setting(setup, "BillingNPI")),
        _segment("N3", S("ProviderAddress", 55)),
        _segment("N4", S("ProviderCity", 30), S("ProviderState", 2), digits(setting(setup, "ProviderZip"))),
        _segment("REF", "EI", digits(setting(setup, "TaxID"))),
    ]
    by_member: dict = {}
    for cid, lines in _claims(result.claim_lines).items():
        by_member.setdefault(lines[0].member_id, []).append((cid, lines))
    hl = 1
    for member_id, claims in by_member.items():
        m = result.members[member_id]
        hl += 1
        segs += [
            _segment("HL", str(hl), "1", "22", "0"),
            _segment("SBR", "P", "18", "", "", "", "", "", "", "MC"),
            _segment("NM1", "IL", "1", clean(m.last_name, 60), clean(m.first_name, 35), "", "", "", "MI",
                     clean(member_id, 80)),
            _segment("N3", clean(m.address, 55)),
            _segment("N4", clean(m.city, 30), m.state.strip().upper(), digits(m.zip)),
            _segment("DMG", "D8", f"{m.birth_date:%Y%m%d}", m.sex if m.sex in ("F", "M") else "U"),
            _segment("NM1", "PR", "2", S("PayerName"), "", "", "", "", "PI", S("PayerID", 80)),
        ]
        for cid, lines in claims:
            for pcn, part in split_claim(cid, lines):
                segs += _claim(pcn, cid, part, adjustments)
    segs.append(_segment("SE", str(len(segs) + 1), f"{number:04d}"))
    return segs


def _claim(pcn: str, claim_id: str, lines: list, adjustments: dict) -> list[str]:
    freq, payer_number = adjustments.get(pcn) or adjustments.get(claim_id) or ("1", "")
    pos = claim_place_of_service(lines)
    total = round(sum(round(l.charge, 2) for l in lines), 2)
    dxs = list(dict.fromkeys(diagnosis_code(l.diagnosis) for l in lines))
    segs = [_segment("CLM", pcn, amount(total), "", "", _composite(pos, "B", freq), "Y", "A", "Y", "Y")]
    if freq != "1":
        segs.append(_segment("REF", "F8", clean(payer_number, 50)))
    segs.append(_segment("HI", *(_composite("ABK" if i == 0 else "ABF", dx) for i, dx in enumerate(dxs))))
    for n, l in enumerate(lines, start=1):
        segs += [
            _segment("LX", str(n)),
            _segment("SV1", _composite("HC", l.hcpcs, l.modifier_1, l.modifier_2), amount(l.charge), "UN",
                     str(l.units), "" if l.place_of_service == pos else l.place_of_service, "",
                     str(dxs.index(diagnosis_code(l.diagnosis)) + 1)),
            _segment("DTP", "472", "RD8", f"{l.from_date:%Y%m%d}-{l.to_date:%Y%m%d}"),
        ]
    return segs


def _as_results(results) -> list:
    if isinstance(results, CloseResult):
        return [results]
    return list(results)


def _check_adjustments(adjustments: dict, pcns: dict) -> list[str]:
    out = []
    for key, value in adjustments.items():
        try:
            freq, number = value
        except (TypeError, ValueError):
            out.append(f"the adjustment for claim {key} must be (frequency, payer claim number)")
            continue
        freq = str(freq)
        if key not in pcns:
            out.append(f"claim {key} is to be adjusted but is not in the file")
        elif len(pcns[key]) > 1:
            out.append(f"claim {key} is split into {', '.join(pcns[key])}: adjust each part by its own ID")
        if freq not in ("7", "8"):
            out.append(f"claim {key}: frequency code {freq} is neither 7 (replacement) nor 8 (void)")
        if not clean(number, 50) or len(str(number).strip()) > 50:
            out.append(f"claim {key}: a {FREQUENCIES.get(freq, 'replacement')} needs the payer's claim number "
                       "(1 to 50 letters or digits)")
    return out


def default_created(results) -> dt.datetime:
    """The file's date when none is given: its latest service date, at midnight.

    Deterministic (the same close gives the same file) and never before a
    service it bills.
    """
    days = [l.to_date for r in results for l in r.claim_lines]
    day = max(days) if days else dt.date(2000, 1, 1)
    return dt.datetime(day.year, day.month, day.day)


def x12_837p(results, profile: Profile | None = None, *, control_number: int = 1,
             created: dt.datetime | None = None, adjustments: dict | None = None,
             test: bool = False, sources: list | None = None, line_breaks: bool = True) -> str:
    """The closes' claim lines as one 837P interchange (text, ASCII).

    One ST/SE transaction set per close (one billing provider each); all share
    the ISA/GS envelope, whose sender and receiver come from the first close's
    Setup and must agree across closes. `adjustments` maps a Claim ID (or the
    ID of a split part) to ("7" or "8", payer claim number). `test` marks the
    interchange as test data (ISA15 T). `sources` names each close in errors
    (e.g. its file name). Raises ExportError naming everything that is wrong.
    """
    results = _as_results(results)
    profile = profile or load_profile()
    adjustments = dict(adjustments or {})
    if not results:
        raise ExportError("Nothing to export: no closed month was given")
    if not (isinstance(control_number, int) and 1 <= control_number <= 999_999_999):
        raise ExportError(f"The control number must be a whole number from 1 to 999999999, not {control_number!r}")
    problems = []
    many = len(results) > 1
    for i, r in enumerate(results):
        found = check_ready(r, profile)
        if found:
            where = (sources[i] if sources and i < len(sources) else f"workbook {i + 1}") if many or sources else None
            problems.append(not_ready_message(found, where))
    if problems:
        raise ExportError(" | ".join(problems))

    sender = setting(results[0].setup, "SubmitterID").upper()
    receiver = setting(results[0].setup, "ReceiverID").upper()
    envelope = [i + 1 for i, r in enumerate(results)
                if (setting(r.setup, "SubmitterID").upper(), setting(r.setup, "ReceiverID").upper()) != (sender, receiver)]
    if envelope:
        raise ExportError(f"Workbooks {_ids(map(str, envelope))} name a different SubmitterID or ReceiverID than "
                          "workbook 1: one 837P file goes from one submitter to one receiver")
    pcns: dict = {}
    owners: dict = {}
    for i, r in enumerate(results):
        for cid, lines in _claims(r.claim_lines).items():
            if cid in owners and owners[cid] != i:
                problems.append(cid)
            owners[cid] = i
            pcns[cid] = [p for p, _ in split_claim(cid, lines)]
            for p in pcns[cid][1:]:
                pcns[p] = [p]
    if problems:
        raise ExportError(f"Claims {_ids(problems)} are in more than one workbook: export each month once")
    problems = _check_adjustments(adjustments, pcns)
    if problems:
        raise ExportError("Can't write the replacement or void claims: " + "; ".join(problems))
    adjustments = {k: (str(f), str(n).strip()) for k, (f, n) in adjustments.items()}

    created = created or default_created(results)
    segs = [
        "ISA*00*" + " " * 10 + "*00*" + " " * 10 + f"*ZZ*{sender:<15}*ZZ*{receiver:<15}*{created:%y%m%d}*{created:%H%M}"
        f"*{REPETITION}*00501*{control_number:09d}*0*{'T' if test else 'P'}*{COMPONENT}",
        _segment("GS", "HC", sender, receiver, f"{created:%Y%m%d}", f"{created:%H%M}", str(control_number), "X", VERSION),
    ]
    for n, r in enumerate(results, start=1):
        segs += _transaction(r, n, f"{control_number:09d}{n:04d}", created, adjustments)
    segs += [_segment("GE", str(len(results)), str(control_number)),
             _segment("IEA", "1", f"{control_number:09d}")]
    end = SEGMENT + ("\n" if line_breaks else "")
    return end.join(segs) + end


def summarize(results) -> tuple[int, int, int, float]:
    """(claims, lines, units, charge) over the closes: what an export carries."""
    results = _as_results(results)
    lines = [l for r in results for l in r.claim_lines]
    return (len({l.claim_id for l in lines}), len(lines), sum(l.units for l in lines),
            round(sum(round(l.charge or 0, 2) for l in lines), 2))
