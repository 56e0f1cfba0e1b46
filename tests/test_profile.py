"""Plan profiles are data: a second profile with other codes and 30-minute units bills by its own table."""
import datetime as dt
import textwrap

import pytest

from ecm_xl import ProfileError, load_profile
from month import close, row

OTHER = textwrap.dedent('''
    [profile]
    id = "other-plan"
    name = "Other plan"
    version = "7"
    effective_date = 2027-01-01
    source = "test fixture"
    unit_minutes = 30
    filing_limit_days = 90
    [staff_types]
    clinical = "Licensed"
    non_clinical = "Community health worker"
    [services]
    care = "Care management"
    outreach = "Outreach"
    [[contacts]]
    name = "Face to face"
    mode = "in_person"
    place_of_service = "12"
    [[contacts]]
    name = "Video"
    mode = "remote"
    place_of_service = "02"
    %s
    [[activities]]
    name = "Visit"
    billable = true
    [place_of_service]
    "02" = "Telehealth"
    "12" = "Home"
''')
CODES = "".join(
    f'[[codes]]\nhcpcs = "{h}"\nmodifier_1 = "{m1}"\nmodifier_2 = "{m2}"\nstaff_type = "{st}"\n'
    f'service = "{sv}"\ncontact_mode = "{mode}"\nrate = {rate}\n'
    for h, m1, m2, st, sv, mode, rate in [
        ("T1016", "HO", "", "Licensed", "Care management", "in_person", 50),
        ("T1016", "HO", "95", "Licensed", "Care management", "remote", 45),
        ("T1016", "HN", "", "Licensed", "Outreach", "in_person", 20),
        ("T1016", "HN", "95", "Licensed", "Outreach", "remote", 15),
        ("T1017", "", "", "Community health worker", "Care management", "in_person", 30),
        ("T1017", "", "95", "Community health worker", "Care management", "remote", 25),
        ("T1017", "HN", "", "Community health worker", "Outreach", "in_person", 10),
        ("T1017", "HN", "95", "Community health worker", "Outreach", "remote", 8),
    ])


@pytest.fixture
def other(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(OTHER % CODES)
    return load_profile(path)


STAFF = [{"Staff ID": "L1", "Staff Type": "Licensed"}, {"Staff ID": "W1", "Staff Type": "community health worker"}]
# outreach before the 12/2 enrollment, care from it (R3)
MEMBERS = [{"Member ID": "M1", "Last Name": "X", "ECM Enrollment Date": "12/2/2026", "Eligible From": "1/1/2026"}]
SETUP = {"BillingMonth": "2026-12"}


def test_default_profile_records_its_source_and_effective_date():
    p = load_profile()
    assert p.effective_date == dt.date(2026, 1, 1) and "flyer" in p.source and p.unit_minutes == 60


def test_a_second_profile_bills_with_its_own_codes_and_units(other):
    rows = [row(staff="L1", member="M1", date="12/2/2026", service="Care management", contact="Face to face", minutes=40),
            row(staff="W1", member="M1", date="12/3/2026", service="Care management", contact="video", minutes=31),
            row(staff="W1", member="M1", date="12/1/2026", service="Outreach", contact="Video", minutes=5)]
    r = close(rows, staff=STAFF, members=MEMBERS, setup=SETUP, profile=other)
    got = {(l.hcpcs, l.modifier_1, l.modifier_2): (l.units, l.charge, l.place_of_service) for l in r.claim_lines}
    assert got == {("T1016", "HO", ""): (2, 100.0, "12"),   # 40 min at 30-minute units
                   ("T1017", "", "95"): (2, 50.0, "02"),
                   ("T1017", "HN", "95"): (1, 8.0, "02")}
    assert not [p for p in r.problems if p.severity == "Error"]


def test_the_default_profiles_codes_mean_nothing_to_another_plan(other):
    rows = [row(staff="L1", member="M1", date="12/1/2026", service="ECM service", contact="In person")]
    r = close(rows, staff=STAFF, members=MEMBERS, setup=SETUP, profile=other)
    assert r.claim_lines == [] and {p.column for p in r.problems} == {"Service", "Contact"}


def test_a_typed_code_from_another_profile_is_refused(other):
    rows = [row(staff="L1", member="M1", date="12/2/2026", service="Care management", contact="Face to face",
                HCPCS="G9008", Modifier_1="U1")]
    r = close(rows, staff=STAFF, members=MEMBERS, setup=SETUP, profile=other)
    assert [p.rule for p in r.problems if p.severity == "Error"] == ["R6"]


@pytest.mark.parametrize("broken,message", [
    ("unit_minutes = 30", "unit_minutes = 0"),
])
def test_a_profile_that_cannot_bill_is_refused_in_one_line(tmp_path, broken, message):
    path = tmp_path / "bad.toml"
    path.write_text((OTHER % CODES).replace(broken, message))
    with pytest.raises(ProfileError, match="unit_minutes"):
        load_profile(path)


def test_a_profile_missing_a_code_slot_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(OTHER % CODES.rsplit("[[codes]]", 1)[0])
    with pytest.raises(ProfileError, match="no code for Community health worker / Outreach / remote"):
        load_profile(path)


def test_unknown_profile_name():
    with pytest.raises(ProfileError, match="no plan profile named"):
        load_profile("nope")
