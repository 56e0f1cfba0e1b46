"""The 837P export: pyx12 accepts what we write, and the numbers are the Claim sheet's."""
from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecm_xl import contract as C
from ecm_xl.exports import (ExportError, check_ready, export_results, split_claim, x12_837p)
from ecm_xl.profile import load_profile

from x12check import (MEMBERS, SETUP, STAFF, TIMESHEET, another_npi, claims, close, luhn_npi_ok, row,
                      segments, validate)

PROFILE = load_profile()


def reconcile(text: str, results) -> None:
    """Per claim CLM02 = sum of SV102; per line units and charges = the ClaimLines'."""
    lines = defaultdict(list)
    for r in results:
        for l in r.claim_lines:
            lines[l.claim_id].append(l)
    seen = defaultdict(list)
    for clm in claims(text):
        base = clm.pcn.rsplit("-", 1)[0] if clm.pcn not in lines else clm.pcn
        assert Decimal(clm.total) == sum(Decimal(s.charge) for s in clm.lines), clm.pcn
        assert len(clm.lines) <= 50
        seen[base] += clm.lines
        assert clm.member_id == lines[base][0].member_id
        assert clm.diagnoses == tuple(dict.fromkeys(l.diagnosis.replace(".", "") for l in lines[base]))
    assert set(seen) == set(lines)
    for cid, sv1s in seen.items():
        want = lines[cid]
        assert len(sv1s) == len(want)
        for s, l in zip(sv1s, want):
            assert (s.hcpcs, s.modifiers) == (l.hcpcs, tuple(m for m in (l.modifier_1, l.modifier_2) if m))
            assert int(s.units) == l.units
            assert Decimal(s.charge) == Decimal(str(l.charge)).quantize(Decimal("0.01"))
            assert s.dates == f"{l.from_date:%Y%m%d}-{l.to_date:%Y%m%d}"
    total_units = sum(int(s.units) for c in claims(text) for s in c.lines)
    total_charge = sum(Decimal(c.total) for c in claims(text))
    assert total_units == sum(r.totals.units for r in results)
    assert total_charge == sum(Decimal(str(r.totals.charge)) for r in results).quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------
# Accepted by pyx12
# ---------------------------------------------------------------------------
def test_hand_built_month_is_accepted_and_reconciles():
    result = close()
    assert result.totals.claim_lines == 9
    text = x12_837p([result], PROFILE, control_number=42)
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    reconcile(text, [result])
    # Team care: 50 + 20 minutes of G9008 U1 for member 1 is one line of 2 units at $160.
    first = claims(text)[0]
    assert (first.lines[0].hcpcs, first.lines[0].units, first.lines[0].charge) == ("G9008", "2", "320")
    assert [c.frequency for c in claims(text)] == ["1"] * 5
    # One CLM per claim, its patient control number the Claim ID.
    assert [c.pcn for c in claims(text)] == list(dict.fromkeys(l.claim_id for l in result.claim_lines))


def test_envelope_and_parties():
    text = x12_837p([close()], PROFILE, control_number=1234, created=dt.datetime(2026, 11, 5, 9, 30))
    segs = segments(text)
    isa, gs, st_, bht = segs[0], segs[1], segs[2], segs[3]
    assert len(text.split("~")[0]) + 1 == 106
    assert (isa[6].strip(), isa[8].strip(), isa[9], isa[10], isa[13], isa[15]) == \
        ("VCP001", "HNCS", "261105", "0930", "000001234", "P")
    assert (gs[1], gs[2], gs[3], gs[4], gs[6], gs[8]) == ("HC", "VCP001", "HNCS", "20261105", "1234", "005010X222A1")
    assert st_ == ["ST", "837", "0001", "005010X222A1"]
    assert bht[4] == "20261105"
    by = {(s[0], s[1]): s for s in segs if s[0] in ("NM1", "REF", "PER")}
    assert by[("NM1", "85")][8:] == ["XX", "1234567893"]
    assert by[("REF", "EI")][2] == "123456789"
    assert by[("NM1", "41")][3] == "VALLEY CARE PARTNERS" and by[("NM1", "41")][9] == "VCP001"
    assert by[("NM1", "40")][9] == "HNCS"
    assert by[("NM1", "PR")][3:] == ["HEALTH NET COMMUNITY SOLUTIONS", "", "", "", "", "PI", "95567"]
    assert by[("PER", "IC")][4] == "7605550100"
    n4 = [s for s in segs if s[0] == "N4"][0]
    assert n4 == ["N4", "EL CENTRO", "CA", "922431234"]
    se = [s for s in segs if s[0] == "SE"][0]
    assert int(se[1]) == [s[0] for s in segs].index("SE") - [s[0] for s in segs].index("ST") + 1
    ge, iea = segs[-2], segs[-1]
    assert ge == ["GE", "1", "1234"] and iea == ["IEA", "1", "000001234"]


def test_subscriber_is_the_member():
    text = x12_837p([close()], PROFILE)
    segs = segments(text)
    i = next(i for i, s in enumerate(segs) if s[:2] == ["NM1", "IL"] and s[9] == "91000003C")
    nm1, n3, n4, dmg = segs[i:i + 4]
    # Accents and separators typed into names and addresses never reach the file.
    assert nm1[3:5] == ["NUNEZ", "JOSE"] and nm1[8] == "MI"
    assert n3 == ["N3", "22 OAK AVE UNIT 3"] and n4 == ["N4", "CALEXICO", "CA", "922311234"]
    assert dmg == ["DMG", "D8", "19900304", "M"]
    assert segs[i - 1] == ["SBR", "P", "18", "", "", "", "", "", "", "MC"]
    blank_sex = next(s for s in segs if s[0] == "DMG" and s[2] == "19611231")
    assert blank_sex[3] == "U"
    assert text.isascii()


def test_place_of_service_and_diagnosis_pointers():
    text = x12_837p([close()], PROFILE)
    by_pcn = {c.pcn: c for c in claims(text)}
    result = close()
    for cid, lines in _by_claim(result).items():
        c = by_pcn[cid]
        for s, l in zip(c.lines, lines):
            assert (s.place or c.place) == l.place_of_service
            assert c.diagnoses[int(s.pointer) - 1] == l.diagnosis.replace(".", "")


def _by_claim(result):
    out = defaultdict(list)
    for l in result.claim_lines:
        out[l.claim_id].append(l)
    return out


def test_two_workbooks_in_one_file():
    npi2 = another_npi()
    second = close(setup={**SETUP, "BillingNPI": npi2, "ProviderName": "Desert Outreach"},
                   timesheet=TIMESHEET[:5])
    results = [close(), second]
    text = x12_837p(results, PROFILE, control_number=9)
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    segs = segments(text)
    assert [s[2] for s in segs if s[0] == "ST"] == ["0001", "0002"]
    assert [s[2] for s in segs if s[0] == "SE"] == ["0001", "0002"]
    assert [s for s in segs if s[0] == "GE"] == [["GE", "2", "9"]]
    assert [s[9] for s in segs if s[:2] == ["NM1", "85"]] == ["1234567893", npi2]
    reconcile(text, results)


def test_workbooks_for_different_receivers_are_refused():
    other = close(setup={**SETUP, "BillingNPI": another_npi(), "ReceiverID": "OTHER"})
    with pytest.raises(ExportError, match="different SubmitterID or ReceiverID"):
        x12_837p([close(), other], PROFILE)


def test_same_claim_in_two_workbooks_is_refused():
    with pytest.raises(ExportError, match="more than one workbook"):
        x12_837p([close(), close()], PROFILE)


def test_replacement_and_void_claims():
    result = close()
    ids = list(dict.fromkeys(l.claim_id for l in result.claim_lines))
    adjustments = {ids[0]: ("7", "HN2026100012345"), ids[2]: ("8", "HN2026100099999")}
    text = x12_837p([result], PROFILE, adjustments=adjustments)
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    by_pcn = {c.pcn: c for c in claims(text)}
    assert (by_pcn[ids[0]].frequency, by_pcn[ids[0]].payer_claim) == ("7", "HN2026100012345")
    assert (by_pcn[ids[2]].frequency, by_pcn[ids[2]].payer_claim) == ("8", "HN2026100099999")
    assert (by_pcn[ids[1]].frequency, by_pcn[ids[1]].payer_claim) == ("1", "")
    segs = segments(text)
    for cid in (ids[0], ids[2]):  # REF*F8 follows its CLM, before HI
        i = next(i for i, s in enumerate(segs) if s[:2] == ["CLM", cid])
        assert segs[i + 1][:2] == ["REF", "F8"] and segs[i + 2][0] == "HI"
    assert sum(1 for s in segs if s[:2] == ["REF", "F8"]) == 2
    reconcile(text, [result])


@pytest.mark.parametrize("adjustment, message", [
    ({"NOSUCHCLAIM": ("7", "X1")}, "not in the file"),
    ("first", ("9", "X1")),
    ("first", ("7", "")),
    ("first", ("8", "  ")),
])
def test_bad_adjustments_are_refused(adjustment, message):
    result = close()
    if adjustment == "first":
        adjustment = {result.claim_lines[0].claim_id: message}
        message = "neither 7|payer's claim number"
    with pytest.raises(ExportError, match=message):
        x12_837p([result], PROFILE, adjustments=adjustment)


def _synthetic(n_lines: int, claim_id: str = "E2610SPLITTEST0001"):
    """One member's claim with n lines (codes from the profile, dates across October)."""
    base = close()
    template = base.claim_lines[0]
    codes = PROFILE.codes
    lines = []
    for i in range(n_lines):
        code = codes[i % len(codes)]
        day = dt.date(2026, 10, 1 + i % 31)
        lines.append(template._replace(claim_id=claim_id, line=i + 1, hcpcs=code.hcpcs, modifier_1=code.modifier_1,
                                       modifier_2=code.modifier_2, units=1 + i % 4, rate=code.rate,
                                       charge=round((1 + i % 4) * code.rate, 2), from_date=day, to_date=day,
                                       place_of_service="11" if code.contact_mode == "in_person" else "10"))
    units = sum(l.units for l in lines)
    charge = round(sum(l.charge for l in lines), 2)
    return base._replace(claim_lines=lines,
                         totals=base.totals._replace(claim_lines=n_lines, units=units, charge=charge))


def test_split_claim_parts():
    lines = list(range(120))
    parts = split_claim("E1", lines)
    assert [p for p, _ in parts] == ["E1", "E1-2", "E1-3"]
    assert [len(ls) for _, ls in parts] == [50, 50, 20]
    assert sum((ls for _, ls in parts), []) == lines
    assert split_claim("E1", lines[:50]) == [("E1", lines[:50])]


def test_a_claim_past_50_lines_is_split_and_accepted():
    result = _synthetic(120)
    text = x12_837p([result], PROFILE)
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    got = claims(text)
    assert [(c.pcn, len(c.lines)) for c in got] == [("E2610SPLITTEST0001", 50), ("E2610SPLITTEST0001-2", 50),
                                                     ("E2610SPLITTEST0001-3", 20)]
    reconcile(text, [result])
    # Each part is adjusted by its own ID; the whole claim's ID is ambiguous.
    with pytest.raises(ExportError, match="split into"):
        x12_837p([result], PROFILE, adjustments={"E2610SPLITTEST0001": ("7", "P1")})
    text = x12_837p([result], PROFILE, adjustments={"E2610SPLITTEST0001-2": ("8", "P2")})
    assert [c.frequency for c in claims(text)] == ["1", "8", "1"]
    assert validate(text).accepted


def test_51_lines_without_splitting_is_rejected_by_pyx12():
    """The 50-line limit is real: pyx12 refuses one CLM with 51 lines."""
    text = x12_837p([_synthetic(51)], PROFILE)
    segs = segments(text)
    i = next(i for i, s in enumerate(segs) if s[:2] == ["CLM", "E2610SPLITTEST0001-2"])
    merged = segs[:i] + segs[i + 2:]                     # drop the second CLM and its HI
    merged = [["LX", "51"] if s == ["LX", "1"] and j >= i else s for j, s in enumerate(merged)]
    verdict = validate(_reseal("~\n".join("*".join(s) for s in merged) + "~\n"))
    assert not verdict.accepted
    assert len(verdict.errors) == 1 and "Loop 2400 exceeded max count" in verdict.errors[0], str(verdict)


# ---------------------------------------------------------------------------
# Random closes
# ---------------------------------------------------------------------------
MEMBER_IDS = [m["Member ID"] for m in MEMBERS]
timesheet_rows = st.lists(st.builds(
    lambda day, staff, mid, service, contact, minutes, pos: row(
        f"10/{day}/2026", staff, mid, service, contact, minutes, Place_of_Service=pos),
    st.integers(1, 31), st.sampled_from([s["Staff ID"] for s in STAFF]), st.sampled_from(MEMBER_IDS),
    st.sampled_from(["ECM service", "Outreach attempt"]),
    st.sampled_from(["In person", "Phone/Telehealth", "Text/Email", "Mass communication"]),
    st.one_of(st.integers(1, 240), st.floats(0.5, 600, allow_nan=False).map(lambda x: round(x, 2))),
    st.sampled_from(["", "", "", "11", "12", "27", "02"])), min_size=1, max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=timesheet_rows, control=st.integers(1, 999_999_999))
def test_random_closes_are_accepted(rows, control):
    result = close(timesheet=rows)
    if not result.claim_lines:
        with pytest.raises(ExportError, match="no claim lines"):
            x12_837p([result], PROFILE, control_number=control)
        return
    assert check_ready(result, PROFILE) == []
    text = x12_837p([result], PROFILE, control_number=control)
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    reconcile(text, [result])


# ---------------------------------------------------------------------------
# Broken files are rejected (the validator is not a rubber stamp)
# ---------------------------------------------------------------------------
def _good():
    return x12_837p([close()], PROFILE)


def _reseal(text):
    """Recount SE01, so a test's breakage is the only thing wrong with the file."""
    segs = segments(text)
    st_at = next(i for i, s in enumerate(segs) if s[0] == "ST")
    se_at = next(i for i, s in enumerate(segs) if s[0] == "SE")
    segs[se_at][1] = str(se_at - st_at + 1)
    return "~\n".join("*".join(s) for s in segs) + "~\n"


BREAKAGES = {  # what is broken: (text found in a good file, what replaces it, what pyx12 says)
    "no billing provider NM1*85": ("NM1*85*2*VALLEY CARE PARTNERS*****XX*1234567893~\n", "", "2010AA"),
    "bad service date": ("DTP*472*RD8*20261001-", "DTP*472*RD8*20261301-", "invalid date"),
    "range under D8": ("DTP*472*RD8*20261001-20261008", "DTP*472*D8*20261001-20261008", "invalid date"),
    "no HI": ("HI*ABK:Z5900~\n", "", "Mandatory segment \"Health Care Diagnosis Code\" (HI) missing"),
    "unknown place of service": ("*11:B:1*", "*X9:B:1*", "not a valid code for Place of Service"),
    "no SV1 pointer": ("SV1*HC:G9008:U1*320*UN*2***1~", "SV1*HC:G9008:U1*320*UN*2~", "(SV107) is missing"),
    "IEA control number": ("IEA*1*000000001", "IEA*1*000000002", "does not match ISA"),
    "GS08 without A1": ("*X*005010X222A1~", "*X*005010X222~", "Map not found"),
    "bad birth date": ("DMG*D8*19700102*F", "DMG*D8*19701302*F", "invalid date"),
    "unknown subscriber state": ("N4*BRAWLEY*CA*92227~\nDMG*D8*19700102", "N4*BRAWLEY*XX*92227~\nDMG*D8*19700102",
                                 "not a valid code"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_files_are_rejected(breakage):
    find, replace, said = BREAKAGES[breakage]
    text = _good()
    assert find in text
    text = _reseal(text.replace(find, replace, 1))
    verdict = validate(text)
    assert not verdict.accepted
    assert any(said in e for e in verdict.errors), str(verdict)


def test_wrong_se_count_is_rejected():
    text = _good()
    assert validate(_reseal(text)).accepted and _reseal(text) == text
    se = next(s for s in segments(text) if s[0] == "SE")
    verdict = validate(text.replace(f"SE*{se[1]}*", f"SE*{int(se[1]) + 1}*"))
    assert not verdict.accepted
    assert any("SE count" in e for e in verdict.errors), str(verdict)


# ---------------------------------------------------------------------------
# Same input and counter, same bytes
# ---------------------------------------------------------------------------
def test_same_input_and_counter_give_the_same_bytes():
    a = x12_837p([close()], PROFILE, control_number=77)
    b = x12_837p([close()], PROFILE, control_number=77)
    assert a == b
    c = x12_837p([close()], PROFILE, control_number=78)
    assert c != a
    diff = [(x, y) for x, y in zip(segments(a), segments(c)) if x != y]
    assert {x[0] for x, _ in diff} == {"ISA", "GS", "BHT", "GE", "IEA"}


def test_default_date_is_the_latest_service_date():
    result = close()
    text = x12_837p([result], PROFILE)
    latest = max(l.to_date for l in result.claim_lines)
    assert segments(text)[1][4] == f"{latest:%Y%m%d}"
    assert all(l.to_date <= latest for l in result.claim_lines)


@pytest.mark.parametrize("number", [0, -1, 1_000_000_000, "7"])
def test_control_number_out_of_range_is_refused(number):
    with pytest.raises(ExportError, match="control number"):
        x12_837p([close()], PROFILE, control_number=number)


# ---------------------------------------------------------------------------
# Checks pyx12 does not make, done before writing
# ---------------------------------------------------------------------------
def test_npi_luhn_reference():
    assert luhn_npi_ok("1234567893")
    assert not luhn_npi_ok("1234567890")


@pytest.mark.parametrize("npi, message", [
    ("1234567890", "BillingNPI 1234567890 fails the NPI check digit"),
    ("1234567894", "BillingNPI 1234567894 fails the NPI check digit"),
    ("123456789", "BillingNPI 123456789 is not 10 digits"),
    ("12345678AB", "BillingNPI 12345678AB is not 10 digits"),
])
def test_billing_npi_check_digit(npi, message):
    result = close(setup={**SETUP, "BillingNPI": npi})
    assert message in check_ready(result, PROFILE)
    with pytest.raises(ExportError) as err:
        x12_837p([result], PROFILE)
    assert str(err.value).startswith("Setup is not ready for an 837P: ")
    assert message in str(err.value)


def test_valid_npis_pass():
    for npi in ("1234567893", another_npi(), another_npi("100000000")):
        assert luhn_npi_ok(npi)
        assert not [p for p in check_ready(close(setup={**SETUP, "BillingNPI": npi}), PROFILE) if "NPI" in p]


def test_every_missing_setup_field_is_named():
    required = [s.name for s in C.SETTINGS if s.required_for_837]
    assert {"ProviderZip", "BillingNPI", "SubmitterID", "PayerID"} <= set(required)
    result = close(setup={"BillingMonth": "2026-10", "DefaultDiagnosis": "Z71.89"})
    with pytest.raises(ExportError) as err:
        x12_837p([result], PROFILE)
    message = str(err.value)
    assert "\n" not in message
    for name in required:
        assert f"{name} is blank" in message


@pytest.mark.parametrize("name", [s.name for s in C.SETTINGS if s.required_for_837])
def test_one_missing_setup_field_gives_an_error_not_a_file(name, tmp_path):
    result = close(setup={**SETUP, name: ""})
    out = tmp_path / "october.837"
    with pytest.raises(ExportError, match=f"Setup is not ready for an 837P: .*{name} is blank"):
        export_results([result], "x12", out)
    assert not out.exists()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("field, value, message", [
    ("ProviderZip", "92243", "ProviderZip 92243 must be the 9-digit ZIP+4"),
    ("ProviderState", "California", "ProviderState CALIFORNIA is not a two-letter US state code"),
    ("ContactPhone", "555-0100", "ContactPhone 555-0100 is not a 10-digit phone number"),
    ("TaxID", "12345", "TaxID 12345 is not 9 digits"),
    ("ProviderAddress", "PO Box 12", "ProviderAddress is a PO box"),
    ("SubmitterID", "A-VERY-LONG-SUBMITTER-ID", "SubmitterID A-VERY-LONG-SUBMITTER-ID must be 2 to 15"),
])
def test_invalid_setup_values_are_named(field, value, message):
    problems = check_ready(close(setup={**SETUP, field: value}), PROFILE)
    assert any(message in p for p in problems), problems


def test_a_code_not_in_the_profile_is_refused():
    result = close()
    bad = result.claim_lines[1]._replace(hcpcs="G9008", modifier_1="U2", modifier_2="")  # U2 is non-clinical's
    odd = result.claim_lines[2]._replace(hcpcs="99213", modifier_1="", modifier_2="")
    result = result._replace(claim_lines=[result.claim_lines[0], bad, odd] + result.claim_lines[3:])
    problems = check_ready(result, PROFILE)
    [p] = [p for p in problems if "plan profile" in p]
    assert f"{bad.claim_id} line 2 (G9008 U2)" in p and f"{odd.claim_id} line 1 (99213)" in p
    with pytest.raises(ExportError, match="not in the plan profile"):
        x12_837p([result], PROFILE)


def test_lines_without_a_rate_are_refused_by_claim_id():
    codes = [{"HCPCS": c.hcpcs, "Modifier 1": c.modifier_1, "Modifier 2": c.modifier_2,
              "Rate": None if c.key == ("G9008", "U1", "") else c.rate} for c in PROFILE.codes]
    result = close(codes=codes)
    unpriced = sorted({l.claim_id for l in result.claim_lines if l.charge is None})
    assert unpriced
    with pytest.raises(ExportError) as err:
        x12_837p([result], PROFILE)
    assert "without a charge" in str(err.value)
    assert all(cid in str(err.value) for cid in unpriced)


def test_lines_without_a_diagnosis_are_refused_by_claim_id():
    result = close(setup={**SETUP, "DefaultDiagnosis": ""})
    no_dx = sorted({l.claim_id for l in result.claim_lines if not l.diagnosis})
    assert no_dx
    message = "; ".join(check_ready(result, PROFILE))
    assert "no diagnosis code" in message and all(cid in message for cid in no_dx)


def test_bad_diagnosis_code_is_refused():
    members = [dict(m, **{"Diagnosis Code": "NOT-A-CODE"}) if m["Member ID"] == "91000001A" else m for m in MEMBERS]
    message = "; ".join(check_ready(close(members=members), PROFILE))
    assert "not an ICD-10-CM code" in message


def test_members_without_an_address_are_named_by_id_not_name():
    members = [dict(m, Address="", City="") if m["Member ID"] in ("91000002B", "91000004D") else m for m in MEMBERS]
    with pytest.raises(ExportError) as err:
        x12_837p([close(members=members)], PROFILE)
    message = str(err.value)
    # one phrase for the two members, naming each field once (not one phrase per field)
    assert "members 91000002B, 91000004D: no address, city (the 837P needs these" in message
    assert message.count("91000002B") == 1
    for m in MEMBERS:  # no names, no birth dates
        assert m["Last Name"].upper() not in message.upper() and m["First Name"] not in message
        assert str(m["Date of Birth"].year) not in message


@pytest.mark.parametrize("cells, what", [
    ({"Date of Birth": None}, "date of birth"),
    ({"State": "ZZ"}, "valid state"),
    ({"State": ""}, "state"),
    ({"ZIP": "9222"}, "5- or 9-digit ZIP"),
    ({"ZIP": ""}, "ZIP"),
    ({"Last Name": ""}, "last name"),
    ({"Address": "", "City": "", "ZIP": ""}, "address, city, ZIP"),
])
def test_member_fields_the_subscriber_needs(cells, what):
    members = [dict(m, **cells) if m["Member ID"] == "91000001A" else m for m in MEMBERS]
    message = "; ".join(check_ready(close(members=members), PROFILE))
    assert f"member 91000001A: no {what} (the 837P needs these" in message


def test_members_lacking_different_things_are_named_once_each():
    cells = {"91000001A": {"Address": "", "City": "", "ZIP": ""}, "91000002B": {"Date of Birth": None}}
    members = [dict(m, **cells.get(m["Member ID"], {})) for m in MEMBERS]
    problems = check_ready(close(members=members), PROFILE)
    assert "member 91000001A: no address, city, ZIP" in problems
    assert "member 91000002B: no date of birth (the 837P needs these for the subscriber: " \
           "fill them in on the Members sheet)" in problems


def test_a_close_without_claim_lines_is_refused():
    with pytest.raises(ExportError, match="no claim lines"):
        x12_837p([close(timesheet=[])], PROFILE)


# ---------------------------------------------------------------------------
# Writing the file
# ---------------------------------------------------------------------------
def test_export_results_writes_an_accepted_file(tmp_path):
    result = close()
    out = tmp_path / "october.837"
    summary = export_results([result], "x12", out, control_number=5)
    text = out.read_bytes().decode("ascii")
    assert validate(text).accepted
    assert text == x12_837p([result], PROFILE, control_number=5)
    assert summary == (str(out), 5, 9, result.totals.units, result.totals.charge)
    assert os.listdir(tmp_path) == ["october.837"]


def test_an_export_that_fails_leaves_the_old_file_alone(tmp_path):
    out = tmp_path / "october.837"
    out.write_text("previous export")
    with pytest.raises(ExportError):
        export_results([close(setup={**SETUP, "PayerID": ""})], "x12", out)
    assert out.read_text() == "previous export"
    assert os.listdir(tmp_path) == ["october.837"]


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ExportError, match="Unknown export format 'pdf'"):
        export_results([close()], "pdf", tmp_path / "x")


def test_demo_month_exports_to_an_accepted_837p(tmp_path):
    from ecm_xl import close_month
    from ecm_xl.demo import DEMO_CLOSE_DATE, make_month

    month = make_month()
    result = close_month(month.entries, month.staff, month.members, month.settings, PROFILE,
                         close_date=DEMO_CLOSE_DATE)
    assert result.totals.claim_lines > 50 and check_ready(result, PROFILE) == []
    out = tmp_path / "demo.837"
    summary = export_results([result], "x12", out)
    text = out.read_text(encoding="ascii")
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    reconcile(text, [result])
    assert (summary.lines, summary.units, summary.charge) == \
        (result.totals.claim_lines, result.totals.units, result.totals.charge)


# ---------------------------------------------------------------------------
# A closed workbook (real xlsx: openpyxl inputs, the headless writer's Claim table)
# ---------------------------------------------------------------------------
def closed_workbook(path, timesheet=TIMESHEET, setup=SETUP):
    """Write an xlsx with the input tables, close it with the engine, write the outputs back."""
    from openpyxl import Workbook
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.table import Table

    from ecm_xl.tables import output_tables
    from ecm_xl.xlsx import write_tables

    wb = Workbook()
    ws = wb.active
    ws.title = C.SETUP
    for i, (name, value) in enumerate(setup.items(), start=1):
        ws.cell(i, 1, name)
        ws.cell(i, 2, value)
        wb.defined_names[name] = DefinedName(name, attr_text=f"{C.SETUP}!$B${i}")

    def table(name, headers, rows):
        sheet = wb.create_sheet(name)
        sheet.append(list(headers))
        for r in rows or [{}]:
            sheet.append([r.get(h) for h in headers])
        last = sheet.cell(1, len(headers)).column_letter
        sheet.add_table(Table(displayName=name, ref=f"A1:{last}{max(2, len(rows) + 1)}"))

    table(C.STAFF, C.STAFF_HEADERS, STAFF)
    table(C.MEMBERS, C.MEMBER_HEADERS, MEMBERS)
    table(C.TIMESHEET, C.TIMESHEET_HEADERS, timesheet)
    # the clinic's Codes table (export requires it), priced as the profile the close above used
    table(C.CODES, C.CODE_HEADERS, [{"HCPCS": c.hcpcs, "Modifier 1": c.modifier_1, "Modifier 2": c.modifier_2,
                                     "Rate": c.rate} for c in load_profile().codes])
    for name, headers in C.OUTPUT_TABLES.items():
        table(name, headers, [])
    inputs = path.with_name("inputs-" + path.name)
    wb.save(inputs)
    write_tables(inputs, path, output_tables(close(timesheet=timesheet, setup=setup)))
    return path


def test_export_a_closed_workbook(tmp_path):
    from ecm_xl.exports import export_workbook

    book = closed_workbook(tmp_path / "October.xlsx")
    before = book.read_bytes()
    summary = export_workbook(book, "x12", tmp_path / "october.837", control_number=3)
    text = (tmp_path / "october.837").read_text(encoding="ascii")
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    result = close()
    reconcile(text, [result])
    assert (summary.claims, summary.lines, summary.units, summary.charge) == \
        (5, 9, result.totals.units, result.totals.charge)
    export_workbook(book, "csv", tmp_path / "october.csv")
    rows = (tmp_path / "october.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("Claim ID,") and len(rows) == 10
    assert book.read_bytes() == before  # the workbook is never changed


def test_a_workbook_whose_claim_sheet_is_stale_is_refused(tmp_path):
    from openpyxl import load_workbook

    from ecm_xl.exports import export_workbook
    from ecm_xl.xlsx import write_tables

    book = closed_workbook(tmp_path / "October.xlsx")
    # Someone adds time after the close: the Claim sheet no longer shows it.
    wb = load_workbook(book)
    ws = wb[C.TIMESHEET]
    r = 1 + [c.value for c in ws["A"]].index("10/1/2026")
    ws.cell(r, C.TIMESHEET_HEADERS.index("Minutes") + 1, 200)
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    out = tmp_path / "october.837"
    with pytest.raises(ExportError, match="edited.xlsx: the Claim sheet no longer matches the timesheet .*"
                                          "close the month again"):
        export_workbook(edited, "x12", out)
    assert not out.exists()
    # An empty Claim sheet: not closed yet.
    empty = tmp_path / "empty.xlsx"
    write_tables(book, empty, {C.CLAIM: (C.CLAIM_HEADERS, [])})
    with pytest.raises(ExportError, match="empty.xlsx: has no claim lines on the Claim sheet: close the month first"):
        export_workbook(empty, "csv", tmp_path / "x.csv")


def test_a_workbook_with_a_broken_setup_gives_a_clear_error(tmp_path):
    from ecm_xl.exports import export_workbook

    book = closed_workbook(tmp_path / "October.xlsx", setup={**SETUP, "ProviderZip": "", "BillingNPI": "1234567890"})
    with pytest.raises(ExportError) as err:
        export_workbook(book, "x12", tmp_path / "october.837")
    assert str(err.value) == ("October.xlsx: Setup is not ready for an 837P: ProviderZip is blank; "
                              "BillingNPI 1234567890 fails the NPI check digit")
    assert not (tmp_path / "october.837").exists()


def test_a_file_that_is_not_a_workbook_is_one_clear_error(tmp_path):
    from ecm_xl.exports import export_workbook

    fake = tmp_path / "notes.xlsx"
    fake.write_text("just text")
    with pytest.raises(ExportError, match=r"^notes\.xlsx: ") as err:
        export_workbook(fake, "x12", tmp_path / "out.837")
    assert "\n" not in str(err.value)


def test_two_months_for_one_member_are_two_claims_under_one_subscriber():
    rows = [row("9/15/2026", "C1", "91000001A", minutes=30), row("10/15/2026", "C1", "91000001A", minutes=30),
            row("10/16/2026", "N1", "91000003C", minutes=45)]
    result = close(timesheet=rows, setup={**SETUP, "BillingMonth": ""})
    assert len({l.claim_id for l in result.claim_lines}) == 3
    text = x12_837p([result], PROFILE)
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    segs = segments(text)
    assert sum(1 for s in segs if s[:2] == ["NM1", "IL"]) == 2
    tags = [s[0] if s[0] != "NM1" else "NM1" + s[1] for s in segs]
    first = tags.index("NM1IL")
    assert tags[first:tags.index("NM1IL", first + 1)].count("CLM") == 2
    reconcile(text, [result])
