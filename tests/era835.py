"""A small X12 835 (005010X221A1) builder for tests: a plan's remittance, written by hand.

Amounts are given by the test (computed by hand there); the builder only lays
the segments out. Every file it makes is meant to pass pyx12 (x12check.validate).

    era = Era(check="CHK1001", paid_on=dt.date(2026, 12, 4))
    era.claim("NPI-202610-A", "1", billed=200, paid=200, payer_claim="PCN1",
              lines=[Svc("G9008", ("U1",), 200, 200, 2)])
    text = era.text()
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple


class Adj(NamedTuple):
    group: str          # CO, PR, OA, PI, CR
    code: str           # CARC
    amount: float
    units: float | None = None


class Svc(NamedTuple):
    hcpcs: str
    modifiers: tuple
    billed: float
    paid: float
    units: int
    adjustments: tuple = ()
    remarks: tuple = ()           # RARCs on LQ*HE
    date: dt.date | None = None
    original_units: int | None = None   # SVC07 when the plan paid other units than billed


class Clp(NamedTuple):
    claim_id: str
    status: str                   # CLP02: 1 paid as primary, 4 denied, 22 reversal
    billed: float
    paid: float
    patient: float
    payer_claim: str
    member_id: str
    adjustments: tuple = ()
    lines: tuple = ()
    moa: tuple = ()               # RARCs on MOA (outpatient adjudication)
    frequency: str = "1"


def _amt(x) -> str:
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


class Era:
    def __init__(self, check="CHK0001", paid_on=dt.date(2026, 12, 4), created=dt.datetime(2026, 12, 3, 9, 30),
                 control=1, payee_npi="1234567893", payer="HEALTH NET COMMUNITY SOLUTIONS", method="CHK"):
        self.check, self.paid_on, self.created, self.control = check, paid_on, created, control
        self.payee_npi, self.payer, self.method = payee_npi, payer, method
        self.claims: list[Clp] = []
        self.plb: list = []           # (reason code, reference, amount): provider-level adjustments

    def provider_adjustment(self, code, reference, amount) -> "Era":
        self.plb.append((code, reference, amount))
        return self

    def claim(self, claim_id, status, *, billed, paid, payer_claim, member_id="91000001A", patient=0.0,
              adjustments=(), lines=(), moa=(), frequency="1") -> "Era":
        self.claims.append(Clp(claim_id, status, billed, paid, patient, payer_claim, member_id,
                               tuple(adjustments), tuple(lines), tuple(moa), frequency))
        return self

    def total(self) -> float:
        """BPR02: the claims' payments less the provider-level adjustments."""
        return round(sum(c.paid for c in self.claims) - sum(a for _c, _r, a in self.plb), 2)

    def segments(self) -> list[str]:
        c = self.created
        total = self.total()
        body = [
            "ST*835*0001",
            # a payment by check: BPR03 C (credit), BPR04 CHK, BPR16 the check date
            f"BPR*I*{_amt(total)}*C*{self.method}************{self.paid_on:%Y%m%d}" if total > 0 else
            f"BPR*H*0*C*NON************{self.paid_on:%Y%m%d}",
            f"TRN*1*{self.check}*1123456789",
            f"DTM*405*{c:%Y%m%d}",
            f"N1*PR*{self.payer}",
            "N3*PO BOX 9103",
            "N4*VAN NUYS*CA*914099103",
            "PER*BL*PROVIDER SERVICES*TE*8006757777",
            f"N1*PE*VALLEY CARE PARTNERS*XX*{self.payee_npi}",
            "LX*1",
        ]
        for clp in self.claims:
            body.append(f"CLP*{clp.claim_id}*{clp.status}*{_amt(clp.billed)}*{_amt(clp.paid)}*"
                        f"{_amt(clp.patient) if clp.patient else ''}*MC*{clp.payer_claim}*11*{clp.frequency}")
            body += [_cas(a) for a in clp.adjustments]
            body.append(f"NM1*QC*1*TESTPATIENT*PAT****MI*{clp.member_id}")
            if clp.moa:
                body.append("MOA***" + "*".join(clp.moa))
            for s in clp.lines:
                proc = ":".join(("HC", s.hcpcs) + tuple(m for m in s.modifiers if m))
                svc = f"SVC*{proc}*{_amt(s.billed)}*{_amt(s.paid)}**{s.units}"
                if s.original_units is not None:
                    svc += f"**{s.original_units}"
                body.append(svc)
                if s.date:
                    body.append(f"DTM*472*{s.date:%Y%m%d}")
                body += [_cas(a) for a in s.adjustments]
                body += [f"LQ*HE*{r}" for r in s.remarks]
        for code, ref, amount in self.plb:
            body.append(f"PLB*{self.payee_npi}*20261231*{code}:{ref}*{_amt(amount)}")
        body.append(f"SE*{len(body) + 1}*0001")
        n = self.control
        return [
            f"ISA*00*          *00*          *ZZ*{'HNCS':<15}*ZZ*{'VCP001':<15}*{c:%y%m%d}*{c:%H%M}*^*00501*"
            f"{n:09d}*0*P*:",
            f"GS*HP*HNCS*VCP001*{c:%Y%m%d}*{c:%H%M}*{n}*X*005010X221A1",
            *body,
            f"GE*1*{n}",
            f"IEA*1*{n:09d}",
        ]

    def text(self) -> str:
        return "~\n".join(self.segments()) + "~\n"


def _cas(a: Adj) -> str:
    s = f"CAS*{a.group}*{a.code}*{_amt(a.amount)}"
    if a.units is not None:
        s += f"*{a.units:g}"
    return s
