"""What a payer rejects and a validator misses, caught before an 837P is written.

Each case is one a HIPAA validator (pyx12) accepts: the test shows that, then
that check_ready names the problem, so no such file is ever written.
"""
from __future__ import annotations

import datetime as dt

import pytest

from ecm_xl.exports import check_ready, x12_837p
from ecm_xl.exports.icd10 import HEADER, NOT_A_CODE, problem
from ecm_xl.profile import load_profile
from ecm_xl.setting_checks import setting_problem

from x12check import MEMBERS, SETUP, TIMESHEET, close, segments, validate

PROFILE = load_profile()


def with_member(mid, **cells):
    return [dict(m, **cells) if m["Member ID"] == mid else m for m in MEMBERS]


def problems(**kw):
    return "; ".join(check_ready(close(**kw), PROFILE))


# -- diagnosis codes against the real ICD-10-CM code set ----------------------------------
@pytest.mark.parametrize("code, want", [
    ("Z59.00", ""), ("Z5900", ""), ("z71.89", ""), ("F32.9", ""), ("I10", ""), ("F32.A", ""),
    ("Z59", HEADER), ("Z59.0", HEADER), ("F32", HEADER),       # categories with codes under them
    ("Z99.99", NOT_A_CODE), ("U99", NOT_A_CODE), ("A00-A09", NOT_A_CODE), ("", NOT_A_CODE),
])
def test_billable_icd10_cm_codes(code, want):
    assert problem(code) == want


def test_a_header_diagnosis_passes_a_validator_but_is_refused():
    members = with_member("91000001A", **{"Diagnosis Code": "Z59"})
    result = close(members=members)
    # pyx12 takes Z59 in HI (the shape is right), so only the code set can catch it
    good = x12_837p([close()], PROFILE, control_number=1)
    assert "HI*ABK:Z5900~" in good
    assert validate(good.replace("HI*ABK:Z5900~", "HI*ABK:Z59~")).accepted
    text = problems(members=members)
    claim = next(l.claim_id for l in result.claim_lines if l.member_id == "91000001A")
    assert f"claims {claim} have a diagnosis code that is {HEADER}: use a complete code under it" in text
    assert "Z59." not in text.replace("Z59.00, not Z59", "")        # the member's own code is not repeated


def test_a_code_that_does_not_exist_is_refused():
    text = problems(members=with_member("91000004D", **{"Diagnosis Code": "Z99.99"}))
    assert f"diagnosis code that is {NOT_A_CODE}" in text
    text = problems(setup={**SETUP, "DefaultDiagnosis": "Z71"})      # the default, for members without one
    assert f"have a diagnosis code that is {HEADER}" in text


# -- members --------------------------------------------------------------------------------
def test_birth_date_after_the_service_date_is_refused():
    text = problems(members=with_member("91000002B", **{"Date of Birth": dt.date(2026, 10, 15)}))
    assert "members 91000002B have a date of birth after their service date" in text
    # born the day of the first service: fine
    assert "date of birth after" not in problems(members=with_member("91000002B", **{"Date of Birth":
                                                                                   dt.date(2026, 10, 3)}))


@pytest.mark.parametrize("bad", ["9100 0001A", "91000001-A", "91000001.A", "9100/0001A"])
def test_member_ids_with_spaces_or_punctuation_are_refused(bad):
    members = with_member("91000001A", **{"Member ID": bad})
    timesheet = [dict(r, **{"Member ID": bad}) if r["Member ID"] == "91000001A" else r for r in TIMESHEET]
    text = problems(members=members, timesheet=timesheet)
    assert f"members {bad} have a Member ID with spaces or punctuation" in text


def test_placeholder_member_zip_is_refused():
    text = problems(members=with_member("91000003C", ZIP="00000"))
    assert "member 91000003C: no real ZIP (00000 is a placeholder)" in text


# -- Setup placeholders and the taxonomy --------------------------------------------------
@pytest.mark.parametrize("name, value, message", [
    ("TaxID", "000000000", "TaxID 000000000 is a placeholder, not a real tax ID"),
    ("TaxID", "99-9999999", "TaxID 999999999 is a placeholder, not a real tax ID"),
    ("BillingNPI", "1111111111", "BillingNPI 1111111111 is a placeholder, not a real NPI"),
    ("BillingNPI", "0000000000", "BillingNPI 0000000000 is a placeholder, not a real NPI"),
    ("ProviderZip", "00000-0000", "ProviderZip 00000-0000 is a placeholder, not a real ZIP code"),
    ("Taxonomy", "251S0000X", "Taxonomy 251S0000X is not a provider taxonomy code (10 characters, like 251S00000X)"),
    ("Taxonomy", "ABCS00000X", "Taxonomy ABCS00000X is not a provider taxonomy code"),
])
def test_setup_placeholders_and_taxonomy_shape(name, value, message):
    assert setting_problem(name, value).startswith(message)
    assert message in problems(setup={**SETUP, name: value})


def test_real_values_pass():
    for name, value in (("TaxID", "12-3456789"), ("BillingNPI", "1234567893"), ("ProviderZip", "92243-1234"),
                        ("Taxonomy", "251S00000X"), ("Taxonomy", "261qf0400x")):
        assert setting_problem(name, value) is None
    assert check_ready(close(setup={**SETUP, "Taxonomy": "251S00000X"}), PROFILE) == []


def test_taxonomy_goes_in_prv_of_the_billing_provider():
    text = x12_837p([close(setup={**SETUP, "Taxonomy": "251s00000x"})], PROFILE, control_number=3)
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    segs = segments(text)
    hl1 = next(i for i, s in enumerate(segs) if s[:2] == ["HL", "1"])
    assert segs[hl1 + 1] == ["PRV", "BI", "PXC", "251S00000X"]
    assert segs[hl1 + 2][:2] == ["NM1", "85"]
    # without a taxonomy: no PRV
    assert not any(s[0] == "PRV" for s in segments(x12_837p([close()], PROFILE, control_number=3)))
